"""Every config parses, names registered types and builds its model."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from pathsr.registry import MODELS
from pathsr.utils import load_config, set_data_root

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(
    str(p.relative_to(REPO)) for p in (REPO / 'configs').rglob('*.py')
    if '_base_' not in p.parts)


@pytest.mark.parametrize('path', CONFIGS)
def test_config_builds_model_of_its_scale(path):
    cfg = Config.fromfile(str(REPO / path))
    assert cfg.default_scope == 'pathsr'
    init_default_scope('pathsr')
    model = MODELS.build(cfg.model)
    if path.endswith('_x1-4.py'):
        # arbitrary scale: trained on s ~ U(1, 4), tested at several scales
        assert cfg.test_cfg.type == 'MultiScaleTestLoop'
        assert list(cfg.test_cfg.scales) == [2, 3, 4, 6, 8]
        if cfg.get('train_dataloader'):
            degradation = cfg.train_dataloader.dataset.pipeline[1]
            assert degradation.type == 'RandomScaleDegradation'
            assert (degradation.scale_min, degradation.scale_max) == (1, 4)
            assert model.pixel_loss is not None
        return
    scale = cfg.test_dataloader.dataset.scale
    assert model.generator.upscale_factor == scale
    assert f'_x{scale}' in path
    if cfg.get('train_dataloader'):
        assert cfg.train_dataloader.dataset.scale == scale
        assert model.pixel_loss is not None


def test_implicit_configs_pair_each_encoder_with_each_head_and_dataset():
    for method in ('liif', 'lte'):
        for encoder in ('edsr-baseline', 'swinir'):
            for dataset in ('tma', 'tcga-lung'):
                path = f'configs/{method}/{method}-{encoder}_{dataset}_x1-4.py'
                assert path in CONFIGS
    cfg = Config.fromfile(
        str(REPO / 'configs/lte/lte-swinir_tcga-lung_x1-4.py'))
    assert cfg.model.encoder.type == 'SwinIR'
    assert cfg.model.head.type == 'LTEHead'
    assert cfg.model.cell_clip_scale == 4.0
    assert cfg.train_dataloader.dataset.data_root == 'data/tcga_lung'
    assert cfg.optim_wrapper.optimizer.lr == 2e-4
    assert cfg.val_evaluator[0].crop_border == 'scale+6'
    # the multi-scale table of the paper configs is PSNR, FID, SSIM
    assert [m.type for m in cfg.test_evaluator] == ['PSNR', 'FID', 'SSIM']


def test_fixed_scale_configs_cover_x2_x3_x4():
    for method in ('bicubic/bicubic', 'srcnn/srcnn', 'edsr/edsr-baseline',
                   'edsr/edsr'):
        for scale in (2, 3, 4):
            assert f'configs/{method}_histo_x{scale}.py' in CONFIGS


def test_edsr_paper_config_uses_the_paper_size():
    cfg = Config.fromfile(str(REPO / 'configs/edsr/edsr_histo_x3.py'))
    assert cfg.model.generator.arch == 'paper'
    assert cfg.model.generator.upscale_factor == 3


def test_data_root_reaches_every_dataset(tmp_path):
    cfg = load_config(
        str(REPO / 'configs/edsr/edsr-baseline_histo_x2.py'),
        dict(data_root=str(tmp_path), **{'train_cfg.max_iters': 7}))
    assert cfg.train_cfg.max_iters == 7
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.data_root == str(tmp_path)
    assert cfg.work_dir == './work_dirs/edsr-baseline_histo_x2'


def test_set_data_root_visits_wrappers_and_lists():
    cfg = Config(
        dict(train_dataloader=dict(dataset=dict(
            type='RepeatDataset', dataset=dict(data_root='a'))),
             test_dataloader=[dict(dataset=dict(data_root='a')),
                              dict(dataset=dict(data_root='b'))]))
    set_data_root(cfg, 'new')
    assert cfg.train_dataloader.dataset.dataset.data_root == 'new'
    assert [d.dataset.data_root for d in cfg.test_dataloader] == ['new'] * 2


def test_mihatp_configs_and_table3_ablations():
    for dataset in ('coad', 'brca'):
        for scale in (2, 4, 8):
            cfg = Config.fromfile(
                str(REPO / f'configs/mihatp/mihatp_{dataset}_x{scale}.py'))
            assert cfg.model.type == 'MiHATP'
            assert cfg.model.generator.upscale_factor == scale
            assert cfg.model.generator.block_cfg.type == 'MHAB'
            for key in ('train_dataloader', 'val_dataloader',
                        'test_dataloader'):
                dataset_cfg = cfg[key].dataset
                assert dataset_cfg.scale == scale
                assert dataset_cfg.data_prefix.lr == f'lr_x{scale}'
                assert dataset_cfg.data_root == f'data/tcga_{dataset}'
            # the paper's recipe
            assert cfg.optim_wrapper.optimizer.lr == 1e-4
            assert cfg.param_scheduler[0].milestones == [50_000, 100_000]
            assert cfg.param_scheduler[0].gamma == 0.1
            assert cfg.model.contrastive_loss.tau == 0.05
            assert cfg.model.contrastive_loss.loss_weight == 0.01
    full = Config.fromfile(str(REPO / 'configs/mihatp/mihatp_coad_x4.py'))

    def ablation(name):
        return Config.fromfile(
            str(REPO / f'configs/mihatp/mihatp_coad_x4_ablation-{name}.py'))

    baseline = ablation('baseline').model
    assert baseline.type == 'FixedScaleSRModel'
    assert baseline.generator.get('block_cfg') is None  # HAT's HAB
    mhab = ablation('mhab').model
    assert mhab.type == 'FixedScaleSRModel'
    assert mhab.generator == full.model.generator
    tpcl = ablation('tpcl').model
    assert tpcl.generator.block_cfg == dict(type='HAB')
    assert {k: v for k, v in tpcl.items() if k != 'generator'} == {
        k: v for k, v in full.model.items() if k != 'generator'}
    changed = {
        'no-is': ('contrastive_loss', dict(full.model.contrastive_loss,
                                           image_space=False)),
        'no-rtp': ('reversible_pool', None),
        'no-itp': ('irreversible_pool', None),
    }
    for name, (key, value) in changed.items():
        model = ablation(name).model
        assert model[key] == value
        others = [k for k in full.model if k != key]
        assert all(model[k] == full.model[k] for k in others), name

"""ISTE and its three ablations through tools/train.py and tools/test.py
(CPU, demo sizes, a couple of iterations on generated tiles)."""
import json
import math
from pathlib import Path

import pytest
import torch

DEMO = 'configs/iste/iste-swinir-tiny_demo_x1-4.py'
ABLATIONS = {
    'wo-lfi': ('configs/iste/iste-swinir-tiny-wo-lfi_demo_x1-4.py',
               'head.lfi.'),
    'wo-stf': ('configs/iste/iste-swinir-tiny-wo-stf_demo_x1-4.py',
               'head.stf.'),
    'wo-ltd': ('configs/iste/iste-swinir-tiny-wo-ltd_demo_x1-4.py',
               'head.texture_decoder.'),
}
FAST = [
    'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
    'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
    'default_hooks.checkpoint.interval=2'
]
SCALES = ('2', '3', '4', '6', '8')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory, write_tiles):
    """Training tiles of 192 px (the largest x4 patch) and one 64 px val
    tile (8 px of LR at x8)."""
    root = tmp_path_factory.mktemp('iste_data')
    write_tiles(root / 'train', 3, size=192)
    write_tiles(root / 'val', 1, size=64)
    return root


def _train(config, work_dir, data_root, run_tool):
    proc = run_tool([
        'tools/train.py', config, '--work-dir',
        str(work_dir), '--cfg-options', f'data_root={data_root}', *FAST
    ])
    return proc.stdout + proc.stderr


def _test(config, checkpoint, work_dir, data_root, run_tool, *options):
    out = work_dir / 'results.json'
    proc = run_tool([
        'tools/test.py', config,
        str(checkpoint), '--work-dir',
        str(work_dir), '--out',
        str(out), '--cfg-options', f'data_root={data_root}', *options
    ])
    return proc.stdout + proc.stderr, json.loads(out.read_text())['metrics']


def _check_table(log, metrics, name):
    header = '| model | ' + ' | '.join(f'x{s} {m}' for s in SCALES
                                       for m in ('PSNR', 'SSIM')) + ' |'
    assert header in log
    assert f'| {name} | ' in log
    assert list(metrics) == [f'x{s}/{m}' for s in SCALES
                             for m in ('PSNR', 'SSIM')]
    assert all(math.isfinite(v) for v in metrics.values())


@pytest.fixture(scope='module')
def iste(tmp_path_factory, data_root, run_tool):
    """The ISTE demo trained for 2 iterations, then tested at all scales."""
    work_dir = tmp_path_factory.mktemp('iste')
    log = _train(DEMO, work_dir, data_root, run_tool)
    test_log, metrics = _test(DEMO, work_dir / 'iter_2.pth',
                              work_dir / 'test', data_root, run_tool)
    return dict(work_dir=work_dir, log=log, test_log=test_log,
                metrics=metrics)


def test_iste_trains_validates_and_saves(iste):
    assert 'Iter(train) [2/2]' in iste['log']
    assert 'Iter(val) [1/1]' in iste['log'] and 'PSNR:' in iste['log']
    state = torch.load(iste['work_dir'] / 'iter_2.pth',
                       weights_only=True)['state_dict']
    for key in ('encoder.conv_first.weight', 'head.lfi.qk.weight',
                'head.pixel_conv.weight', 'head.texture_learner.phase.weight',
                'head.stf.fuse.weight', 'head.pixel_decoder.0.weight',
                'head.texture_decoder.0.weight'):
        assert key in state
    assert state['head.pixel_decoder.0.weight'].shape == (128, 64 + 4)
    # the R2 key positions are rebuilt, not stored
    assert 'head.key_positions' not in state


def test_iste_test_tool_prints_the_multi_scale_table(iste):
    _check_table(iste['test_log'], iste['metrics'],
                 'iste-swinir-tiny_demo_x1-4')


def test_tiled_stf_metrics_do_not_depend_on_the_eval_chunk(
        iste, data_root, run_tool):
    _, metrics = _test(DEMO, iste['work_dir'] / 'iter_2.pth',
                       iste['work_dir'] / 'chunk', data_root, run_tool,
                       'model.eval_chunk=777')
    assert metrics == pytest.approx(iste['metrics'], abs=1e-4)


def test_the_same_checkpoint_runs_with_the_faithful_stf(
        iste, data_root, run_tool):
    log, metrics = _test(DEMO, iste['work_dir'] / 'iter_2.pth',
                         iste['work_dir'] / 'faithful', data_root, run_tool,
                         'model.head.stf_mode=faithful',
                         'test_cfg.scales=[4]')
    assert '| model | x4 PSNR | x4 SSIM |' in log
    assert math.isfinite(metrics['x4/PSNR'])


@pytest.fixture(scope='module', params=sorted(ABLATIONS))
def ablation(request, tmp_path_factory, data_root, run_tool):
    config, prefix = ABLATIONS[request.param]
    work_dir = tmp_path_factory.mktemp(request.param)
    log = _train(config, work_dir, data_root, run_tool)
    test_log, metrics = _test(config, work_dir / 'iter_2.pth',
                              work_dir / 'test', data_root, run_tool)
    return dict(config=config, prefix=prefix, work_dir=work_dir, log=log,
                test_log=test_log, metrics=metrics)


def test_ablation_trains_without_its_module(ablation):
    assert 'Iter(train) [2/2]' in ablation['log']
    assert 'Iter(val) [1/1]' in ablation['log']
    state = torch.load(ablation['work_dir'] / 'iter_2.pth',
                       weights_only=True)['state_dict']
    assert not any(key.startswith(ablation['prefix']) for key in state)
    for module in ('head.lfi.', 'head.stf.', 'head.texture_decoder.'):
        if module != ablation['prefix']:
            assert any(key.startswith(module) for key in state)


def test_ablation_test_tool_prints_the_multi_scale_table(ablation):
    name = ablation['config'].rsplit('/', 1)[-1][:-3]
    _check_table(ablation['test_log'], ablation['metrics'], name)


def test_figures_run_on_the_trained_demo_checkpoint(iste, tmp_path,
                                                    run_tool):
    image = sorted(Path('demo/histo_demo/val').glob('*.png'))[0]
    proc = run_tool([
        'tools/analysis_tools/iste_figures.py', DEMO,
        str(image), '--checkpoint',
        str(iste['work_dir'] / 'iter_2.pth'), '--crop', '48', '--out-dir',
        str(tmp_path)
    ])
    summary = json.loads(proc.stdout[proc.stdout.index('{'):])
    for part in ('lr', 'sr', 'gt', 'pixel_decoder', 'texture_decoder',
                 'stf_keys', 'stf_score'):
        assert f'{image.stem}_x4_{part}.png' in summary['files']
    assert 0 <= summary['keys_within_one_lr_pixel'] <= 1

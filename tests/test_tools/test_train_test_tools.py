"""tools/train.py and tools/test.py end to end, on generated and demo data."""
import json
import math
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pathsr.datasets.transforms import BicubicDegradation, LoadSRImage

EDSR_X4 = 'configs/edsr/edsr-baseline_histo_x4.py'
FAST = [
    'train_cfg.max_iters=2', 'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
    'default_hooks.logger.interval=1'
]


@pytest.fixture(scope='module')
def trained(tmp_path_factory, run_tool, write_tiles):
    """EDSR-baseline x4 trained for 2 iterations on a flat folder of tiles."""
    root = tmp_path_factory.mktemp('run')
    write_tiles(root / 'tiles', 12)
    work_dir = root / 'work'
    proc = run_tool([
        'tools/train.py', EDSR_X4, '--work-dir',
        str(work_dir), '--cfg-options', f'data_root={root / "tiles"}', *FAST
    ])
    return dict(root=root, work_dir=work_dir, log=proc.stdout + proc.stderr)


def test_train_on_flat_folder_validates_and_saves(trained):
    log = trained['log']
    assert 'Iter(train) [2/2]' in log
    assert 'Iter(val) [2/2]' in log  # 12 tiles: files 0 and 10 held out
    assert 'PSNR:' in log and 'SSIM:' in log
    ckpt = trained['work_dir'] / 'iter_2.pth'
    assert ckpt.is_file()
    # pathsr checkpoints load with torch's safe unpickler
    state = torch.load(ckpt, weights_only=True)
    assert state['meta']['iter'] == 2
    assert 'generator.conv_first.weight' in state['state_dict']


def test_visualization_hook_writes_panels(trained):
    panels = list(trained['work_dir'].rglob('vis_image/*.png'))
    assert sorted(p.name for p in panels) == ['tile_00_x4_2.png', 'tile_10_x4_2.png']


def test_test_tool_reports_psnr_ssim_and_per_image(trained, run_tool):
    out = trained['root'] / 'results.json'
    run_tool([
        'tools/test.py', EDSR_X4,
        str(trained['work_dir'] / 'iter_2.pth'), '--work-dir',
        str(trained['root'] / 'test'), '--out',
        str(out), '--cfg-options', f'data_root={trained["root"] / "tiles"}',
        'test_dataloader.num_workers=0'
    ])
    result = json.loads(out.read_text())
    assert set(result['metrics']) == {'PSNR', 'SSIM'}
    per_image = result['per_image']['PSNR']
    assert [p['img_path'].rsplit('/', 1)[-1] for p in per_image] == [
        'tile_00.png', 'tile_10.png'
    ]
    assert result['metrics']['PSNR'] == pytest.approx(
        np.mean([p['value'] for p in per_image]))


def test_bicubic_needs_no_checkpoint_and_matches_hand_computation(
        tmp_path, run_tool, repo):
    out = tmp_path / 'bicubic.json'
    run_tool([
        'tools/test.py', 'configs/bicubic/bicubic_histo_x4.py', '--cfg-options',
        'data_root=demo/histo_demo', 'test_dataloader.num_workers=0',
        '--work-dir',
        str(tmp_path), '--out',
        str(out)
    ])
    result = json.loads(out.read_text())
    values = []
    for item in result['per_image']['PSNR']:
        results = LoadSRImage()(dict(gt_path=item['img_path']))
        results = BicubicDegradation(scale=4)(results)
        lr = torch.from_numpy(results['lr']).permute(2, 0, 1)[None] / 255.
        gt = torch.from_numpy(results['gt']).permute(2, 0, 1).double() / 255.
        sr = F.interpolate(lr, scale_factor=4, mode='bicubic',
                           antialias=True).clamp(0, 1)[0].double()
        mse = ((sr - gt)[:, 4:-4, 4:-4]**2).mean().item()
        values.append(-10 * math.log10(mse))
        assert item['value'] == pytest.approx(values[-1], abs=1e-4)
    assert len(values) == 2  # the two demo val crops
    assert result['metrics']['PSNR'] == pytest.approx(np.mean(values), 1e-5)


def test_trainable_model_without_checkpoint_is_refused(run_tool, tmp_path):
    proc = run_tool([
        'tools/test.py', EDSR_X4, '--work-dir',
        str(tmp_path), '--cfg-options', 'data_root=demo/histo_demo'
    ],
                    check=False)
    assert proc.returncode != 0
    assert 'give the checkpoint' in proc.stderr


def test_checkpoint_of_other_architecture_is_named(trained, run_tool):
    ckpt = trained['work_dir'] / 'iter_2.pth'
    proc = run_tool([
        'tools/test.py', 'configs/srcnn/srcnn_histo_x4.py',
        str(ckpt), '--work-dir',
        str(trained['root'] / 'mismatch'), '--cfg-options',
        'data_root=demo/histo_demo', 'test_dataloader.num_workers=0'
    ],
                    check=False)
    assert proc.returncode != 0
    assert f'checkpoint {ckpt} does not match the model' in proc.stderr
    assert 'generator.conv1.weight' in proc.stderr  # a missing key is listed


def test_unknown_type_in_config_is_named(tmp_path, run_tool):
    proc = run_tool([
        'tools/train.py', EDSR_X4, '--work-dir',
        str(tmp_path), '--cfg-options', 'model.generator.type=EDSRR',
        'data_root=demo/histo_demo', *FAST
    ],
                    check=False)
    assert proc.returncode != 0
    assert 'EDSRR is not in the' in proc.stderr


def test_missing_data_root_is_named(tmp_path, run_tool):
    proc = run_tool([
        'tools/train.py', EDSR_X4, '--work-dir',
        str(tmp_path), '--cfg-options', f'data_root={tmp_path}/nowhere',
        *FAST
    ],
                    check=False)
    assert proc.returncode != 0
    assert f'{tmp_path}/nowhere' in proc.stderr


def test_images_smaller_than_crop_are_named(tmp_path, run_tool, write_tiles):
    write_tiles(tmp_path / 'small' / 'train', 2, size=100)
    write_tiles(tmp_path / 'small' / 'val', 1, size=100)
    proc = run_tool([
        'tools/train.py', EDSR_X4, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'data_root={tmp_path / "small"}', *FAST
    ],
                    check=False)
    assert proc.returncode != 0
    assert 'tile_0' in proc.stderr and '192' in proc.stderr


def test_missing_config_file_is_named(run_tool):
    proc = run_tool(['tools/train.py', 'configs/edsr/nope.py'], check=False)
    assert proc.returncode != 0
    assert 'configs/edsr/nope.py does not exist' in proc.stderr


def test_resume_flag_continues_from_the_latest_checkpoint(
        trained, run_tool, tmp_path):
    work_dir = tmp_path / 'work'
    shutil.copytree(trained['work_dir'], work_dir)
    proc = run_tool([
        'tools/train.py', EDSR_X4, '--work-dir',
        str(work_dir), '--resume', '--cfg-options',
        f'data_root={trained["root"] / "tiles"}', *FAST,
        'train_cfg.max_iters=3'
    ])
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/3]' in log and 'Iter(train) [1/3]' not in log
    assert torch.load(work_dir / 'iter_3.pth',
                      weights_only=True)['meta']['iter'] == 3


def test_amp_without_gpu_is_refused_clearly(tmp_path, run_tool):
    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU')
    proc = run_tool([
        'tools/train.py', EDSR_X4, '--amp', '--work-dir',
        str(tmp_path), '--cfg-options', 'data_root=demo/histo_demo'
    ],
                    check=False)
    assert proc.returncode != 0
    assert '--amp needs a CUDA GPU' in proc.stderr

"""MiHATP through tools/train.py and tools/test.py: the COAD x4 config on a
folder of HR patches with and without real LR partners, and the demo."""
import json

import cv2
import numpy as np
import pytest

COAD_X4 = 'configs/mihatp/mihatp_coad_x4.py'
DEMO = 'configs/mihatp/mihatp-tiny_demo_x4.py'
FAST = [
    'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
    'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=2'
]
# the paper-size network is too slow for CI on a CPU: the same config with
# the demo-size HAT and 2 steps; training uses shallow random VGG features
# (explicitly), testing needs no VGG weights at all
SMALL_NET = [
    'model.generator.arch=demo',
    'model.generator.block_cfg.dat_cfg.offset_groups=2',
    'model.generator.block_cfg.dat_cfg.rpe_table_size=16', *FAST
]
SMALL = [
    *SMALL_NET, 'model.contrastive_loss.extractor.random_init=True',
    'model.contrastive_loss.extractor.layers=[relu1_1]'
]
NO_LR = 'no LR folder'


@pytest.fixture(scope='module')
def patches(tmp_path_factory, write_tiles):
    """Six 192 px HR patches (tile_00 is held out), alone and with 48 px
    LR partners in lr_x4/."""
    root = tmp_path_factory.mktemp('patches')
    hr_only = root / 'hr_only'
    tiles = write_tiles(hr_only, 6, size=192)
    paired = root / 'paired'
    write_tiles(paired, 6, size=192)
    (paired / 'lr_x4').mkdir()
    for tile in tiles:
        img = cv2.imread(str(tile))
        lr = cv2.resize(img, (48, 48), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(paired / 'lr_x4' / tile.name), lr)
    return dict(root=root, hr_only=hr_only, paired=paired)


@pytest.mark.parametrize('layout', ['hr_only', 'paired'])
def test_coad_config_trains_on_hr_folder(layout, patches, run_tool):
    work_dir = patches['root'] / f'work_{layout}'
    proc = run_tool([
        'tools/train.py', COAD_X4, '--work-dir',
        str(work_dir), '--cfg-options', f'data_root={patches[layout]}',
        *SMALL
    ])
    log = proc.stdout + proc.stderr
    assert 'Iter(train) [2/2]' in log
    assert 'loss_base' in log and 'loss_con' in log and 'loss_cl' in log
    assert 'Iter(val) [1/1]' in log and 'PSNR:' in log
    # real LR partners are read when the folder exists, else synthesised
    assert (NO_LR in log) == (layout == 'hr_only')

    out = work_dir / 'result.json'
    no_weights = patches['root'] / 'torch_home'  # no VGG19 file in it
    run_tool([
        'tools/test.py', COAD_X4,
        str(work_dir / 'iter_2.pth'), '--work-dir',
        str(work_dir / 'test'), '--out',
        str(out), '--cfg-options', f'data_root={patches[layout]}', *SMALL_NET
    ],
             env=dict(TORCH_HOME=str(no_weights)))
    result = json.loads(out.read_text())
    assert set(result['metrics']) == {'PSNR', 'SSIM'}
    per_image = result['per_image']['PSNR']
    assert [p['img_path'].rsplit('/', 1)[-1]
            for p in per_image] == ['tile_00.png']
    assert 0 < result['metrics']['SSIM'] <= 1
    assert result['metrics']['PSNR'] == pytest.approx(per_image[0]['value'])


def test_demo_trains_and_tests(tmp_path, run_tool):
    work_dir = tmp_path / 'demo'
    overrides = [
        'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
        'default_hooks.checkpoint.interval=4',
        'default_hooks.logger.interval=1'
    ]
    proc = run_tool([
        'tools/train.py', DEMO, '--work-dir',
        str(work_dir), '--cfg-options', *overrides
    ])
    log = proc.stdout + proc.stderr
    assert 'Iter(train) [4/4]' in log and 'Iter(val) [2/2]' in log
    assert 'NOT ImageNet-pretrained' in log  # the explicit random VGG warns
    losses = [
        float(line.split('loss_base: ')[1].split()[0])
        for line in log.splitlines() if 'loss_base: ' in line
    ]
    assert len(losses) == 4 and all(np.isfinite(losses))

    out = tmp_path / 'demo.json'
    run_tool([
        'tools/test.py', DEMO,
        str(work_dir / 'iter_4.pth'), '--work-dir',
        str(tmp_path / 'test'), '--out',
        str(out)
    ])
    result = json.loads(out.read_text())
    values = [p['value'] for p in result['per_image']['PSNR']]
    assert len(values) == 2  # the two demo val crops
    assert result['metrics']['PSNR'] == pytest.approx(np.mean(values))
    assert 10 < result['metrics']['PSNR'] < 60

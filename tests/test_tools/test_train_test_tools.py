"""tools/train.py and tools/test.py end to end, on generated and demo data."""
import json
import math
import shutil
import socket
import sys

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


# runs each command line (argv and the environment variables to add, as
# JSON) as the tool's __main__ in this interpreter: the exit code, stdout and
# stderr of each, as JSON
DRIVER = """
import contextlib, io, json, os, runpy, sys
results = []
for argv, env in json.loads(sys.argv[1]):
    sys.argv, out, err, code = list(argv), io.StringIO(), io.StringIO(), 0
    saved = dict(os.environ)
    os.environ.update(env)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(argv[0], run_name='__main__')
        except SystemExit as exit:
            code = exit.code
    os.environ.clear()
    os.environ.update(saved)
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def _alone_in_a_world_of_two() -> dict:
    """torchrun's variables of rank 0 of 2 on a free port, and a start-up
    wait of 1 s."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='2',
                MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                PATHSR_DIST_INIT_TIMEOUT='1')


def test_bad_input_ends_in_one_line_naming_it(trained, run_tool, tmp_path,
                                              write_tiles):
    """Each case runs the tool's ``__main__``, as the command line does,
    in one interpreter (start-up dominates); none reaches training."""
    ckpt = trained['work_dir'] / 'iter_2.pth'
    tiles = f'data_root={trained["root"] / "tiles"}'
    demo = 'data_root=demo/histo_demo'
    (tmp_path / 'file').write_text('')
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'broken.py').write_text('x = 1\ny = 1 / 0\n')
    (tmp_path / 'garbage.pth').write_bytes(b'not a checkpoint')
    write_tiles(tmp_path / 'small' / 'train', 2, size=100)
    write_tiles(tmp_path / 'small' / 'val', 1, size=100)
    shutil.copytree(trained['work_dir'], tmp_path / 'done')
    (tmp_path / 'done' / 'last_checkpoint').write_text(
        str(tmp_path / 'done' / 'iter_2.pth'))
    train = ['tools/train.py', EDSR_X4, '--work-dir', str(tmp_path / 'w')]
    test = ['tools/test.py', EDSR_X4, '--work-dir', str(tmp_path / 't')]
    cases = [
        (train + ['--cfg-options', 'train_cfg.max_iters'], 2,
         ["--cfg-options 'train_cfg.max_iters': expected KEY=VALUE"]),
        (train[:2] + ['--work-dir', str(tmp_path / 'file')], 1,
         [f'the work dir {tmp_path / "file"} is a file, not a folder']),
        (train + ['--cfg-options', 'data_rot=/my/tiles'], 1,
         ["'data_rot' (did you mean 'data_root'?)"]),
        (train + ['--cfg-options', demo,
                  'default_hooks.checkpoint.intervl=1'], 1,
         ["unknown key 'intervl' (did you mean 'interval'?)"]),
        (train + ['--cfg-options', demo, 'train_cfg.max_iters=0'], 1,
         ['train_cfg.max_iters=0: there is nothing to train']),
        (train + ['--cfg-options', demo, 'model.generator.type=EDSRR'], 1,
         ['EDSRR is not in the', 'close matches in pathsr::model: EDSR']),
        (['tools/train.py', str(tmp_path / 'broken.py')], 1,
         [f'config {tmp_path / "broken.py"}, line 2: ZeroDivisionError']),
        (['tools/train.py', 'configs/edsr/nope.py'], 1,
         ['configs/edsr/nope.py does not exist']),
        (train + ['--cfg-options', f'data_root={tmp_path}/nowhere'] + FAST,
         1, [f'{tmp_path}/nowhere', '--cfg-options data_root=']),
        (train + ['--cfg-options', f'data_root={tmp_path / "empty"}'] + FAST,
         1, [f"no image in folder '{tmp_path / 'empty'}/",
             '--cfg-options data_root=']),
        (train + ['--cfg-options', f'data_root={tmp_path / "small"}'] + FAST,
         1, ['tile_0', '192']),
        (['tools/train.py', EDSR_X4, '--work-dir', str(tmp_path / 'done'),
          '--resume', '--cfg-options', tiles] + FAST, 1,
         ['is at 2, the end of training (train_cfg.max_iters=2): nothing '
          'is left to train']),
        (test + ['--out', str(tmp_path), '--cfg-options', demo], 1,
         [f'--out {tmp_path} is a folder']),
        (test + ['--cfg-options', demo], 1, ['give the checkpoint']),
        (test[:2] + [str(tmp_path / 'garbage.pth')] + test[2:] +
         ['--cfg-options', demo], 1,
         [f'checkpoint {tmp_path / "garbage.pth"} (16 bytes) cannot be '
          'read']),
        (['tools/test.py', 'configs/srcnn/srcnn_histo_x4.py',
          str(ckpt), '--work-dir', str(tmp_path / 't'), '--cfg-options',
          demo], 1, [f'checkpoint {ckpt} does not match the model',
                     'missing (generator.conv1.weight']),
    ]
    if not torch.cuda.is_available():
        cases.append((train + ['--amp', '--cfg-options', demo], 1,
                      ['--amp needs a CUDA GPU']))
    envs = [{} for _ in cases]
    # WORLD_SIZE=2 with one process: named after 1 s, not 30 min
    for argv in (train + ['--cfg-options', demo],
                 ['tools/test.py', 'configs/bicubic/bicubic_histo_x4.py',
                  '--work-dir', str(tmp_path / 't'), '--cfg-options',
                  demo]):
        cases.append((argv + ['--launcher', 'pytorch'], 1, [
            'rank 0: 1 of WORLD_SIZE=2 ranks joined at 127.0.0.1:',
            'missing ranks: 1', 'PATHSR_DIST_INIT_TIMEOUT=SECONDS'
        ]))
        envs.append(_alone_in_a_world_of_two())
    helps = [['tools/train.py', '--help'], ['tools/test.py', '--help']]
    proc = run_tool([
        sys.executable, '-c', DRIVER,
        json.dumps([[argv, env] for (argv, _, _), env in zip(cases, envs)] +
                   [[argv, {}] for argv in helps])
    ])
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for code, stdout, _ in results[len(cases):]:
        assert code == 0 and '--debug' in stdout and 'PATHSR_DEBUG' in stdout
    for (argv, code, messages), (got_code, _, stderr) in zip(cases, results):
        assert got_code == code, (argv, stderr)
        assert 'Traceback' not in stderr
        tool = argv[0].rsplit('/', 1)[-1]
        errors = [line for line in stderr.splitlines() if 'error:' in line]
        assert len(errors) == 1 and errors[0].startswith(tool), stderr
        for message in messages:
            assert message in errors[0], (argv, errors[0])
    assert not list((tmp_path / 'w').rglob('*.pth'))  # nothing trained

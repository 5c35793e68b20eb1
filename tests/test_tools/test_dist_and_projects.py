"""Two-process training with tools/dist_train.sh and the projects/ example."""
import json

import pytest
import torch
from mmengine.config import Config

RECORD_HOOK = '''
import json
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook

from pathsr.registry import HOOKS


@HOOKS.register_module()
class RecordSamplesHook(Hook):
    """Write the sample indices each rank trained on."""

    def before_train(self, runner):
        self.seen = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.seen += [s.metainfo['sample_idx']
                      for s in data_batch['data_samples']]

    def after_train(self, runner):
        path = osp.join(runner.work_dir, f'samples_rank{get_rank()}.json')
        with open(path, 'w') as f:
            json.dump(dict(seen=self.seen,
                           world_size=runner.world_size), f)
'''


def test_dist_train_splits_data_between_two_ranks(tmp_path, run_tool, repo):
    (tmp_path / 'record_samples_hook.py').write_text(RECORD_HOOK)
    config = tmp_path / 'dist_demo.py'
    config.write_text(
        f"_base_ = ['{repo}/configs/edsr/edsr-tiny_demo_x4.py']\n"
        "custom_imports = dict(imports=['record_samples_hook'],\n"
        "                      allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='RecordSamplesHook')]\n"
        "train_cfg = dict(max_iters=2, val_interval=100)\n"
        "train_dataloader = dict(batch_size=2)\n")
    work_dir = tmp_path / 'work'
    run_tool([
        'bash', 'tools/dist_train.sh',
        str(config), '2', '--work-dir',
        str(work_dir)
    ],
             env=dict(PYTHONPATH=str(tmp_path), PORT='29631',
                      OMP_NUM_THREADS='1'))
    ranks = [
        json.loads((work_dir / f'samples_rank{r}.json').read_text())
        for r in (0, 1)
    ]
    assert all(r['world_size'] == 2 for r in ranks)
    seen = [r['seen'] for r in ranks]
    # each rank trained 2 iterations x 2 samples, on different halves of
    # one shuffled pass over the 8 training crops
    assert len(seen[0]) == len(seen[1]) == 4
    assert set(seen[0]).isdisjoint(seen[1])
    assert set(seen[0]) | set(seen[1]) == set(range(8))

    ckpt = work_dir / 'iter_2.pth'
    state = torch.load(ckpt, weights_only=True)
    assert not any(k.startswith('module.') for k in state['state_dict'])
    run_tool([
        'tools/test.py',
        str(config),
        str(ckpt), '--work-dir',
        str(tmp_path / 'test')
    ],
             env=dict(PYTHONPATH=str(tmp_path)))


@pytest.mark.parametrize('config, trained', [
    ('configs/bicubic/bicubic_demo_x1-4.py', False),
    ('configs/liif/liif-edsr-tiny_demo_x1-4.py', True),
])
def test_dist_multi_scale_test_equals_one_process(config, trained, tmp_path,
                                                  run_tool, write_model,
                                                  repo):
    """Two gloo ranks (tools/dist_test.sh) split the val crops and gather
    the results: the multi-scale metrics and per-image values equal a
    one-process run. Bicubic has no parameters and is not wrapped in DDP;
    the LIIF (random weights) is."""
    checkpoint = []
    if trained:
        checkpoint = [write_model(tmp_path, 'model',
                                  Config.fromfile(repo / config).model)[1]]
    one, two = tmp_path / 'one.json', tmp_path / 'two.json'
    env = dict(OMP_NUM_THREADS='1', PORT='29632')
    run_tool([
        'tools/test.py', config, *checkpoint, '--work-dir',
        str(tmp_path / 'one'), '--out',
        str(one)
    ], env=env)
    if trained:
        run_tool(['bash', 'tools/dist_test.sh', config, *checkpoint, '2',
                  '--work-dir', str(tmp_path / 'two'), '--out', str(two)],
                 env=env)
    else:  # dist_test.sh needs a checkpoint argument
        run_tool(['bash', 'tools/dist_launch.sh', '2', 'test.py', config,
                  '--work-dir', str(tmp_path / 'two'), '--out', str(two)],
                 env=env)
    single, dist = (json.loads(path.read_text()) for path in (one, two))
    assert set(dist['metrics']) == {
        f'x{s}/{m}'
        for s in (2, 3, 4, 6, 8) for m in ('PSNR', 'SSIM')
    }
    assert dist['metrics'] == pytest.approx(single['metrics'], abs=1e-9)
    for name, values in single['per_image'].items():
        assert sorted(v['value'] for v in dist['per_image'][name]) == \
            pytest.approx(sorted(v['value'] for v in values), abs=1e-9)


def test_projects_example_registers_and_trains_without_touching_pathsr(
        tmp_path, run_tool, repo):
    proc = run_tool([
        'tools/train.py', 'projects/example_project/configs/espcn_demo_x4.py',
        '--work-dir',
        str(tmp_path), '--cfg-options', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=2', 'default_hooks.logger.interval=1'
    ])
    assert 'Iter(train) [2/2]' in proc.stdout + proc.stderr
    assert 'Iter(val) [2/2]' in proc.stdout + proc.stderr
    state = torch.load(tmp_path / 'iter_2.pth', weights_only=True)
    assert 'generator.body.0.weight' in state['state_dict']
    # the module is registered by the project alone: pathsr never names it
    assert not [
        path for path in (repo / 'pathsr').rglob('*.py')
        if 'ESPCN' in path.read_text()
    ]

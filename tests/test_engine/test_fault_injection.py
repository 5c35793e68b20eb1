"""Fault injection: tools/train.py killed (SIGKILL) at a random point after
a checkpoint and continued with ``--resume`` ends with the weights
and optimiser state of an uninterrupted run, bit for bit, for the EDSR,
LIIF and ISTE demos (shrunk), with and without dataloader workers."""
import json
import os
import random
import re
import signal
import runpy
import sys
import time
from pathlib import Path
from typing import List

import pytest
import torch

MAX_ITERS = 8
# the demo configs, shrunk to a few thousand parameters and 2-sample batches;
# a checkpoint every iteration
COMMON = f'''
train_cfg = dict(max_iters={MAX_ITERS}, val_interval={{val_interval}})
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=1, save_best=None, max_keep_ckpts=-1))
randomness = dict(seed=3)
'''
IMPLICIT_PIPELINE = '''[
    dict(type='LoadSRImage', key='gt'),
    dict(type='RandomScaleDegradation', lr_size={lr_size}, scale_min=1.0,
         scale_max=4.0, blur=True),
    dict(type='RandomFlipTranspose', keys=['lr', 'gt']),
    dict(type='PackSRInputs')]'''
NO_VAL = 'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n'
CONFIGS = {
    # EDSR validates at iterations 4 and 8: validation must not move the
    # generators of training
    'edsr': ('configs/edsr/edsr-tiny_demo_x4.py', '''
model = dict(generator=dict(num_blocks=1, mid_channels=8))
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=[
    dict(type='LoadSRImage', key='gt'),
    dict(type='RandomCrop', crop_size=32, keys=['gt']),
    dict(type='RandomFlipTranspose', keys=['gt']),
    dict(type='BicubicDegradation'),
    dict(type='PackSRInputs')]))
''', 4),
    # LIIF samples its queries with torch.randperm; two workers with
    # persistent processes make the crops
    'liif': ('configs/liif/liif-edsr-tiny_demo_x1-4.py', f'''
model = dict(encoder=dict(num_blocks=1, mid_channels=8),
             head=dict(imnet=dict(hidden_list=[16])), num_queries=64)
train_dataloader = dict(batch_size=2, num_workers=2, persistent_workers=True,
                        dataset=dict(pipeline={IMPLICIT_PIPELINE}))
{NO_VAL}''', 100),
    'iste': ('configs/iste/iste-swinir-tiny_demo_x1-4.py', f'''
model = dict(
    encoder=dict(mid_channels=8),
    head=dict(hidden_dim=16, lfi_heads=2, stf_num_keys=64, stf_tile_size=16,
              pixel_decoder=dict(hidden_list=[16]),
              texture_decoder=dict(hidden_list=[16])),
    num_queries=64)
train_dataloader = dict(batch_size=2,
                        dataset=dict(pipeline={IMPLICIT_PIPELINE}))
{NO_VAL}''', 100),
}
# one thread: the same kernels in every process, and fair to a shared CPU
ENV = dict(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')


def _write_config(folder: Path, repo: Path, name: str) -> Path:
    base, body, val_interval = CONFIGS[name]
    body = body.replace('{lr_size}', '16' if name == 'iste' else '12')
    path = folder / f'{name}_tiny.py'
    path.write_text(f"_base_ = '{repo / base}'\n{body}" +
                    COMMON.format(val_interval=val_interval))
    return path


def _train(args: List[str]) -> None:
    """Run ``tools/train.py ARGS`` in this interpreter."""
    sys.argv = ['tools/train.py'] + args
    runpy.run_path('tools/train.py', run_name='__main__')


def _train_and_kill(args: List[str], work_dir: Path, after: int,
                    delay: float) -> int:
    """Fork a process that runs ``tools/train.py ARGS``, SIGKILL it
    ``delay`` seconds after its checkpoint of iteration ``after`` appeared
    in ``work_dir`` (within the next iteration or the next checkpoint's
    writing) and return its wait status."""
    pid = os.fork()
    if pid == 0:  # the child: train until killed
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        try:
            _train(args)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 300
    while not (work_dir / f'iter_{after}.pth').exists():
        done, status = os.waitpid(pid, os.WNOHANG)
        assert not done, 'training ended before its first checkpoint'
        assert time.monotonic() < deadline, 'no checkpoint after 300 s'
        time.sleep(0.01)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def _drive(root: Path, names: List[str]) -> None:
    """The fault-injection run, in one process (interpreter start-up
    dominates these tiny trainings): for each demo, a training forked
    before this process trained anything and killed at a random point after
    its first checkpoint; then each demo trained without interruption; then
    each killed training continued with ``--resume``. Prints the kill
    statuses as JSON on the last line."""
    # a fixed seed: the same kill points on every run of the test, at least
    # two iterations before the end
    rng = random.Random(18)
    statuses = {}
    for name in names:
        args = [str(root / f'{name}_tiny.py'), '--work-dir',
                str(root / f'{name}_killed')]
        after = rng.randint(1, MAX_ITERS - 3)
        statuses[name] = (_train_and_kill(args, root / f'{name}_killed',
                                          after, rng.uniform(0, 0.05)),
                          after)
    for name in names:
        _train([str(root / f'{name}_tiny.py'), '--work-dir',
                str(root / f'{name}_full'), '--cfg-options',
                f'experiment_name={name}_full'])
    for name in names:
        _train([str(root / f'{name}_tiny.py'), '--work-dir',
                str(root / f'{name}_killed'), '--resume', '--cfg-options',
                f'experiment_name={name}_resumed'])
    print(json.dumps(statuses))


@pytest.fixture(scope='module')
def runs(tmp_path_factory, repo, run_tool):
    """Each shrunk demo trained without interruption, and trained, killed
    and resumed with ``--resume``: ``name -> dict(full, killed, status,
    after, resumed_at)`` (``after``: the checkpoint the kill followed)."""
    root = tmp_path_factory.mktemp('faults')
    names = sorted(CONFIGS)
    for name in names:
        _write_config(root, repo, name)
    proc = run_tool([
        sys.executable, __file__, str(root)] + names, env=ENV)
    statuses = json.loads(proc.stdout.strip().splitlines()[-1])
    log = proc.stdout + proc.stderr
    resumed_at = [
        int(k) for k in re.findall(r'resumed epoch: \d+, iter: (\d+)', log)
    ]
    assert len(resumed_at) == len(names), log[-3000:]
    return {
        name: dict(
            full=root / f'{name}_full',
            killed=root / f'{name}_killed',
            status=statuses[name][0],
            after=statuses[name][1],
            resumed_at=at)
        for name, at in zip(names, resumed_at)
    }


def _assert_bit_identical(a: Path, b: Path) -> None:
    full = torch.load(a, weights_only=True)
    resumed = torch.load(b, weights_only=True)
    assert full['meta']['iter'] == resumed['meta']['iter'] == MAX_ITERS
    for key, value in full['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][key]), key
    states = full['optimizer']['state']
    assert states
    for index, state in states.items():
        for field in ('exp_avg', 'exp_avg_sq', 'step'):
            assert torch.equal(state[field],
                               resumed['optimizer']['state'][index][field])


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_killed_training_resumes_to_the_uninterrupted_weights(name, runs):
    run = runs[name]
    # killed while training
    assert os.WIFSIGNALED(run['status'])
    assert os.WTERMSIG(run['status']) == signal.SIGKILL
    assert run['after'] <= run['resumed_at'] < MAX_ITERS
    _assert_bit_identical(run['full'] / f'iter_{MAX_ITERS}.pth',
                          run['killed'] / f'iter_{MAX_ITERS}.pth')


if __name__ == '__main__':
    _drive(Path(sys.argv[1]), sys.argv[2:])

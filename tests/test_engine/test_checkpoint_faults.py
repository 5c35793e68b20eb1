"""Faults around checkpoints and resuming: a full disk, damaged or missing
checkpoints, nothing left to train, and configuration errors that used to
surface only after training had run."""
import errno
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio.backends import LocalBackend

from pathsr.engine.runner import CheckpointError, CheckpointMismatchError
from pathsr.registry import RUNNERS

LIIF = 'configs/liif/liif-edsr-tiny_demo_x1-4.py'


def _runner(repo, work_dir, max_iters, name, validate=False, **overrides):
    """A LIIF of a few hundred parameters on the demo crops (its training
    draws from torch's generator), a checkpoint every iteration."""
    cfg = Config.fromfile(str(repo / LIIF))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = name
    for key in ('train_dataloader', 'val_dataloader'):
        cfg[key].dataset.data_root = str(repo / 'demo/histo_demo')
    cfg.model.encoder.update(num_blocks=1, mid_channels=8)
    cfg.model.head.imnet.hidden_list = [16]
    cfg.model.num_queries = 64
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.dataset.pipeline[1].lr_size = 12
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=max_iters, val_interval=2)
    cfg.val_dataloader.dataset.indices = 1  # one image
    if not validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, by_epoch=False)
    cfg.default_hooks.visualization = dict(type='SRVisualizationHook')
    cfg.randomness = dict(seed=5)
    cfg.merge_from_dict(overrides)
    return RUNNERS.build(cfg)


def _same_weights(a, b):
    return all(
        torch.equal(p, q) for p, q in zip(a.model.state_dict().values(),
                                          b.model.state_dict().values()))


@pytest.fixture(scope='module')
def trained(repo, tmp_path_factory):
    """A work dir with iter_1.pth and iter_2.pth of a 2-iteration run."""
    work_dir = tmp_path_factory.mktemp('trained')
    _runner(repo, work_dir, 2, 'trained').train()
    return work_dir


def test_checkpoint_holds_the_generator_states(trained):
    state = torch.load(trained / 'iter_2.pth', weights_only=True)
    assert set(state['rng_state']) >= {'python', 'numpy', 'torch'}
    assert state['rng_state']['torch'].dtype == torch.uint8
    # two iterations of query sampling moved torch's generator from the
    # seed's state
    torch.manual_seed(5)
    assert not torch.equal(state['rng_state']['torch'], torch.get_rng_state())


def test_validation_does_not_change_training(repo, tmp_path):
    """Validation at iteration 2 draws from the generators (the data
    loader's seed); training after it draws what it would have drawn."""
    quiet = _runner(repo, tmp_path / 'quiet', 3, 'quiet')
    quiet.train()
    checked = _runner(repo, tmp_path / 'checked', 3, 'checked',
                      validate=True)
    checked.train()
    assert checked.message_hub.get_scalar('val/PSNR') is not None
    assert _same_weights(quiet, checked)


def test_full_disk_leaves_no_truncated_checkpoint(repo, tmp_path,
                                                  monkeypatch):
    put = LocalBackend.put

    def full_disk_at_iter_2(self, obj, filepath):
        if 'iter_2' not in str(filepath):
            return put(self, obj, filepath)
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(LocalBackend, 'put', full_disk_at_iter_2)
    with pytest.raises(OSError, match=r'cannot write checkpoint .*iter_2'
                       r'\.pth \(No space left on device\); the previous '
                       'checkpoints are intact'):
        _runner(repo, tmp_path, 3, 'full-disk').train()
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.glob('iter_*')) == ['iter_1.pth']
    assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_1.pth')
    # once there is room again, --resume continues from iteration 1 and
    # loses nothing
    resumed = _runner(repo, tmp_path, 3, 'after-full-disk', resume=True)
    resumed.train()
    full = _runner(repo, tmp_path / 'full', 3, 'uninterrupted')
    full.train()
    assert _same_weights(resumed, full)


@pytest.mark.parametrize('size', [0, 0.5])
def test_truncated_checkpoint_is_named(repo, trained, tmp_path, size):
    damaged = tmp_path / 'iter_2.pth'
    data = (trained / 'iter_2.pth').read_bytes()
    damaged.write_bytes(data[:int(len(data) * size)])
    runner = _runner(repo, tmp_path / 'work', 3, f'damaged-{size}',
                     resume=True, load_from=str(damaged))
    with pytest.raises(CheckpointError, match=f'checkpoint {damaged} '
                       r'\(\d+ bytes\) cannot be read: it is truncated'):
        runner.train()


def test_last_checkpoint_naming_a_missing_file_is_named(repo, trained,
                                                        tmp_path):
    shutil.copytree(trained, tmp_path, dirs_exist_ok=True)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    (tmp_path / 'iter_2.pth').unlink()
    runner = _runner(repo, tmp_path, 3, 'missing', resume=True)
    with pytest.raises(CheckpointError, match=r'last_checkpoint names .*'
                       r'iter_2\.pth, which does not exist; resume from a '
                       r'checkpoint file instead: --resume .*iter_1\.pth'):
        runner.train()


@pytest.mark.parametrize('record', ['empty', 'deleted'])
def test_empty_or_no_last_checkpoint_resumes_the_newest_checkpoint(
        repo, trained, tmp_path, record):
    """A kill between truncating last_checkpoint and writing it, or a
    deleted one: the newest complete checkpoint, not a fresh start that
    would overwrite the saved ones."""
    shutil.copytree(trained, tmp_path, dirs_exist_ok=True)
    if record == 'empty':
        (tmp_path / 'last_checkpoint').write_text('')
    else:
        (tmp_path / 'last_checkpoint').unlink()
    saved_at = (tmp_path / 'iter_1.pth').stat().st_mtime_ns
    runner = _runner(repo, tmp_path, 3, f'{record}-record', resume=True)
    runner.train()
    assert runner.iter == 3
    assert torch.load(tmp_path / 'iter_3.pth',
                      weights_only=True)['meta']['iter'] == 3
    # it continued from iteration 2: iterations 1 and 2 were not saved again
    assert (tmp_path / 'iter_1.pth').stat().st_mtime_ns == saved_at


def test_resuming_past_the_end_is_refused(repo, trained):
    runner = _runner(repo, trained, 2, 'past-end', resume=True)
    with pytest.raises(CheckpointError, match=r'iter_2\.pth is at 2, the end '
                       r'of training \(train_cfg\.max_iters=2\): nothing is '
                       'left to train'):
        runner.train()


def test_weights_only_checkpoint_cannot_be_resumed(repo, trained, tmp_path):
    weights = tmp_path / 'weights.pth'
    state = torch.load(trained / 'iter_2.pth', weights_only=True)
    torch.save(dict(state_dict=state['state_dict']), weights)
    runner = _runner(repo, tmp_path / 'work', 3, 'weights', resume=True,
                     load_from=str(weights))
    with pytest.raises(CheckpointError, match='holds weights only'):
        runner.train()


def test_zero_max_iters_is_refused(repo, tmp_path):
    with pytest.raises(ValueError, match=r'train_cfg\.max_iters=0: there is '
                       'nothing to train'):
        _runner(repo, tmp_path, 0, 'zero').train()


def test_checkpoint_hook_typo_is_found_before_training(repo, tmp_path):
    with pytest.raises(ValueError, match=r"default_hooks\.checkpoint has the "
                       r"unknown key 'intervl' \(did you mean 'interval'\?\)"):
        _runner(repo, tmp_path, 2, 'typo',
                default_hooks=dict(checkpoint=dict(intervl=1)))
    assert not list(tmp_path.glob('*.pth'))


def test_resume_without_a_configured_seed_uses_the_checkpoint_seed(
        repo, tmp_path):
    """With ``randomness.seed=None`` each run draws its own seed; the
    resumed run reseeds its sampler and workers with the checkpoint's."""
    unseeded = dict(randomness=dict(seed=None))
    first = _runner(repo, tmp_path / 'a', 3, 'unseeded-a', **unseeded)
    first.train()
    second = _runner(repo, tmp_path / 'b', 3, 'unseeded-b', resume=True,
                     load_from=str(tmp_path / 'a' / 'iter_1.pth'),
                     **unseeded)
    second.train()
    assert second.seed == first.seed
    assert _same_weights(first, second)


def test_mis_shaped_checkpoint_names_keys_and_shapes(repo, trained,
                                                     tmp_path):
    wider = _runner(repo, tmp_path, 2, 'wider',
                    load_from=str(trained / 'iter_2.pth'),
                    model=dict(encoder=dict(mid_channels=16)))
    with pytest.raises(CheckpointMismatchError) as error:
        wider.train()
    message = str(error.value)
    assert '\n' not in message
    assert message.startswith(
        f'checkpoint {trained / "iter_2.pth"} does not match the model '
        'ImplicitSRModel built from the config')
    # conv_first: 3 -> 8 channels saved, 3 -> 16 built
    assert ('mis-shaped (encoder.conv_first.weight [8, 3, 3, 3] in the '
            'checkpoint, [16, 3, 3, 3] in the model, ') in message

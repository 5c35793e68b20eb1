"""Resuming under torch >= 2.6 reproduces an uninterrupted run exactly."""
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from pathsr.registry import RUNNERS

DEMO = 'configs/edsr/edsr-tiny_demo_x4.py'


def _runner(repo, work_dir, max_iters, name, **overrides):
    cfg = Config.fromfile(str(repo / DEMO))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = name
    cfg.data_root = str(repo / 'demo/histo_demo')
    cfg.train_dataloader.dataset.data_root = cfg.data_root
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.dataset.pipeline[1].crop_size = 48
    cfg.model.generator.update(num_blocks=1, mid_channels=8)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                         val_interval=1000)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    # the learning rate drops at iteration 3, inside the resumed part
    cfg.param_scheduler = [
        dict(type='MultiStepLR', by_epoch=False, milestones=[3], gamma=0.1)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=2, by_epoch=False)
    cfg.default_hooks.visualization = dict(type='SRVisualizationHook')
    cfg.randomness = dict(seed=7, deterministic=True)
    cfg.merge_from_dict(overrides)
    return RUNNERS.build(cfg)


class StopAt(Hook):
    """Stop training after iteration ``k`` as if the job were killed there
    (the checkpoint of iteration k is written first)."""

    priority = 'LOWEST'

    def __init__(self, k: int) -> None:
        self.k = k

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.k:  # runner.iter counts from 0 here
            runner.train_loop.stop_training = True


def _assert_same_state(a, b):
    for (name, p), q in zip(a.model.state_dict().items(),
                            b.model.state_dict().values()):
        assert torch.equal(p, q), name
    opt_a = a.optim_wrapper.optimizer.state_dict()['state']
    opt_b = b.optim_wrapper.optimizer.state_dict()['state']
    for key in opt_a:
        for field in ('exp_avg', 'exp_avg_sq', 'step'):
            assert torch.equal(opt_a[key][field], opt_b[key][field])


def test_resumed_run_reaches_the_weights_of_an_uninterrupted_run(
        tmp_path, repo):
    full = _runner(repo, tmp_path / 'full', 5, 'full')
    full.train()

    stopped = _runner(repo, tmp_path / 'stopped', 5, 'stopped')
    stopped.register_hook(StopAt(2))
    stopped.train()
    assert stopped.iter == 2
    ckpt = tmp_path / 'stopped' / 'iter_2.pth'
    assert torch.load(ckpt, weights_only=True)['meta']['iter'] == 2

    resumed = _runner(repo, tmp_path / 'stopped', 5, 'resumed', resume=True)
    assert resumed.iter == 0
    resumed.train()
    assert resumed.iter == 5
    assert resumed.message_hub.get_info('iter') == 4  # last finished index
    _assert_same_state(full, resumed)
    assert resumed.optim_wrapper.get_lr()['lr'] == pytest.approx([5e-5])
    assert full.optim_wrapper.get_lr()['lr'] == pytest.approx([5e-5])


def test_resume_from_explicit_checkpoint_file(tmp_path, repo):
    first = _runner(repo, tmp_path / 'a', 4, 'first')
    first.register_hook(StopAt(2))
    first.train()
    again = _runner(repo, tmp_path / 'b', 4, 'again', resume=True,
                    load_from=str(tmp_path / 'a' / 'iter_2.pth'))
    again.train()
    assert again.iter == 4
    assert (tmp_path / 'b' / 'iter_4.pth').is_file()
    assert not (tmp_path / 'b' / 'iter_2.pth').exists()


def test_ema_checkpoint_resumes_and_loads_weights_only(tmp_path, repo):
    ema = Config.fromfile(str(repo / 'configs/_base_/ema.py')).custom_hooks
    assert ema[0].momentum == 0.001  # decay 0.999
    full = _runner(repo, tmp_path / 'full', 4, 'ema-full', custom_hooks=ema)
    full.train()
    part = _runner(repo, tmp_path / 'part', 4, 'ema-part', custom_hooks=ema)
    part.register_hook(StopAt(2))
    part.train()
    state = torch.load(tmp_path / 'part' / 'iter_2.pth', weights_only=True)
    assert 'ema_state_dict' in state
    resumed = _runner(repo, tmp_path / 'part', 4, 'ema-resumed',
                      custom_hooks=ema, resume=True)
    resumed.train()
    _assert_same_state(full, resumed)


def test_plain_mmengine_runner_checkpoint_is_refused_by_torch(tmp_path, repo):
    """The trap SRRunner fixes: mmengine 0.10.7 alone writes checkpoints that
    torch >= 2.6 refuses to load for resuming."""
    plain = _runner(repo, tmp_path, 2, 'plain', runner_type='Runner')
    assert type(plain).__name__ == 'Runner'
    plain.train()
    with pytest.raises(Exception, match='getattr|HistoryBuffer'):
        torch.load(tmp_path / 'iter_2.pth', weights_only=True)

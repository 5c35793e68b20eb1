"""The runner of pathsr: mmengine's Runner with safe, strict checkpoints."""
from typing import Callable, Optional, Union

import torch.nn as nn
from mmengine.device import get_device
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from pathsr.registry import RUNNERS
from pathsr.utils import allow_mmengine_globals, from_plain, to_plain


class CheckpointMismatchError(RuntimeError):
    """A checkpoint whose weights do not fit the model being built."""


@RUNNERS.register_module()
class SRRunner(Runner):
    """mmengine's :class:`~mmengine.runner.Runner` with these changes.

    1. Checkpoints hold only types that ``torch.load(weights_only=True)``
       accepts (the default since PyTorch 2.6): after every hook has added its
       part in ``before_save_checkpoint`` the checkpoint is rewritten with
       :func:`~pathsr.utils.to_plain`, and restored with
       :func:`~pathsr.utils.from_plain` before any hook or the message hub
       reads it in ``after_load_checkpoint``. Resuming therefore works on
       current PyTorch, which mmengine 0.10.7 alone cannot do.
    2. ``load_from`` and ``resume`` load weights strictly: a checkpoint of
       another architecture raises :class:`CheckpointMismatchError` naming
       the file and the missing, unexpected and mis-shaped parameters,
       instead of mmengine's warning and a silently random model.
    3. ``compile=True`` (or a dict of :func:`torch.compile` arguments) in
       the config compiles the model's networks in place
       (:meth:`~pathsr.models.BaseSRModel.compile_networks`) before
       training, validation and test alike (mmengine compiles only
       ``train_step``); parameter names and checkpoints do not change.
    4. In a distributed run a model with nothing to train (Bicubic) is not
       wrapped in DistributedDataParallel, which refuses such a module;
       evaluation only needs the data split between ranks and the results
       gathered, which the sampler and the evaluator do.
    """

    def wrap_model(self, model_wrapper_cfg: Optional[dict],
                   model: nn.Module) -> nn.Module:
        if self.distributed and not is_model_wrapper(model) and not any(
                p.requires_grad for p in model.parameters()):
            return model.to(get_device())
        return super().wrap_model(model_wrapper_cfg, model)

    def _maybe_compile(self, target: str) -> None:
        compile_cfg = self.cfg.get('compile')
        if not compile_cfg:
            return
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        if not hasattr(model, 'compile_networks'):
            raise TypeError(f'compile is set in {self.cfg.filename}, but '
                            f'{type(model).__name__} has no compile_networks '
                            '(derive it from pathsr BaseSRModel)')
        model.compile_networks(
            **({} if compile_cfg is True else dict(compile_cfg)))
        self.logger.info(f'compiled the networks of {type(model).__name__} '
                         f'({target}); the first iterations are slow')

    def val(self) -> dict:
        self._maybe_compile('val_step')
        return super().val()

    def test(self) -> dict:
        self._maybe_compile('test_step')
        return super().test()

    def call_hook(self, fn_name: str, **kwargs) -> None:
        if fn_name == 'after_load_checkpoint':
            checkpoint = kwargs['checkpoint']
            restored = from_plain(dict(checkpoint))
            checkpoint.clear()
            checkpoint.update(restored)
        super().call_hook(fn_name, **kwargs)
        if fn_name == 'before_save_checkpoint':
            checkpoint = kwargs['checkpoint']
            plain = to_plain(dict(checkpoint))
            checkpoint.clear()
            checkpoint.update(plain)

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = True,
                        revise_keys: list = [(r'^module.', '')]) -> dict:
        allow_mmengine_globals()
        try:
            return super().load_checkpoint(filename, map_location, strict,
                                           revise_keys)
        except RuntimeError as err:
            if 'state_dict' not in str(err) and 'size mismatch' not in str(
                    err):
                raise
            model = self.model.module if is_model_wrapper(
                self.model) else self.model
            raise CheckpointMismatchError(
                f'checkpoint {filename} does not match the model '
                f'{type(model).__name__} built from the config '
                f'({self.cfg.filename}): {err}') from None

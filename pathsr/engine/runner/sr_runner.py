"""The runner of pathsr: mmengine's Runner with safe, strict, atomic
checkpoints and bit-exact resuming."""
import difflib
import inspect
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, Callable, Dict, Iterator, Optional, Union

import torch.nn as nn
from mmengine.device import get_device
from mmengine.dist import master_only
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop, Runner

from pathsr.registry import RUNNERS
from pathsr.utils import allow_mmengine_globals, from_plain, to_plain
from pathsr.utils.atomic import atomic_path
from pathsr.utils.rng_state import get_rng_state, set_rng_state

#: Key of the generator states in a pathsr checkpoint.
RNG_KEY = 'rng_state'


class CheckpointMismatchError(RuntimeError):
    """A checkpoint whose weights do not fit the model being built."""


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read or resumed (truncated, damaged,
    missing, or with nothing left to train)."""


class _RestoreRNGAfter:
    """The train loop's data iterator, which restores the generators of
    the checkpoint just before batch ``skip + 1`` is drawn.

    On resuming, mmengine's :class:`IterBasedTrainLoop` draws and drops the
    ``skip`` batches already trained, so that the sampler and the workers
    reach the position of the interrupted run; those draws move the global
    generators (data augmentation in the main process). Restoring the saved
    states after them makes batch ``skip + 1`` and everything after it draw
    what the uninterrupted run drew.
    """

    def __init__(self, iterator: Iterator, skip: int,
                 state: Dict[str, Any]) -> None:
        self._iterator = iterator
        self._skip = skip
        self._state: Optional[Dict[str, Any]] = state

    def __iter__(self) -> '_RestoreRNGAfter':
        return self

    def __next__(self) -> Any:
        if self._state is not None:
            if self._skip == 0:
                set_rng_state(self._state)
                self._state = None
            else:
                self._skip -= 1
        return next(self._iterator)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._iterator, name)


def summarize_mismatch(message: str, shown: int = 3) -> str:
    """One line out of the message of a strict ``load_state_dict``: the
    number of missing, unexpected and mis-shaped parameters and the first
    ``shown`` of each (with both shapes)."""
    parts = []
    for label, pattern in (('missing', r'missing keys in source state_dict: '
                                       r'(.*)'),
                           ('unexpected', r'unexpected key in source '
                                          r'state_dict: (.*)')):
        found = re.search(pattern, message)
        if found:
            keys = [k.strip() for k in found[1].split(',') if k.strip()]
            more = ', ...' if len(keys) > shown else ''
            parts.append(f'{len(keys)} {label} ({", ".join(keys[:shown])}'
                         f'{more})')
    shapes = re.findall(
        r'size mismatch for (\S+): copying a param with shape '
        r'torch.Size\((\[[^\]]*\])\) from checkpoint, the shape in current '
        r'model is torch.Size\((\[[^\]]*\])\)', message)
    if shapes:
        more = ', ...' if len(shapes) > shown else ''
        listed = ', '.join(f'{key} {saved} in the checkpoint, {built} in the '
                           'model' for key, saved, built in shapes[:shown])
        parts.append(f'{len(shapes)} mis-shaped ({listed}{more})')
    return '; '.join(parts) or ' '.join(message.split())


def _is_blank(path: str) -> bool:
    """Whether the text file ``path`` is missing or holds only white
    space."""
    if not osp.isfile(path):
        return True
    with open(path) as f:
        return not f.read().strip()


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to resume in ``work_dir``: the one that
    ``work_dir/last_checkpoint`` names.

    Without a ``last_checkpoint``, or with an empty one (a kill or a full
    disk between truncating and writing it, just after a checkpoint was
    saved), it is the newest ``iter_N.pth`` / ``epoch_N.pth``: checkpoints
    are renamed into place complete (:meth:`SRRunner.save_checkpoint`), so
    that one is whole.

    Returns:
        The path, or None when ``work_dir`` holds neither
        ``last_checkpoint`` nor a checkpoint (training starts from the
        beginning).

    Raises:
        CheckpointError: ``last_checkpoint`` names a file that does not
            exist, or is empty while the folder holds no checkpoint.
    """
    record = osp.join(work_dir, 'last_checkpoint')
    target = ''
    if osp.isfile(record):
        with open(record) as f:
            target = f.read().strip()
    saved = sorted(
        (name for name in os.listdir(work_dir)
         if re.fullmatch(r'(iter|epoch)_\d+\.pth', name)),
        key=lambda name: int(re.findall(r'\d+', name)[0])) if osp.isdir(
            work_dir) else []
    newest = osp.join(work_dir, saved[-1]) if saved else None
    if not target and (newest is not None or not osp.isfile(record)):
        return newest
    hint = (f'; resume from a checkpoint file instead: --resume {newest}'
            if newest else '; the folder holds no iter_N.pth or epoch_N.pth')
    if not target:
        raise CheckpointError(f'{record} is empty{hint}')
    if not osp.isfile(target):
        raise CheckpointError(
            f'{record} names {target}, which does not exist{hint}')
    return target


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
    5. Resuming is bit-exact: a checkpoint also holds the states of the
       Python, NumPy, torch (and CUDA) generators (``rng_state``, those of
       rank 0), restored just before the first batch after the resumed
       iteration (:class:`_RestoreRNGAfter`). Validation runs on a copy of
       the generators, so whether and when it runs never changes training.
    6. Checkpoints are written atomically: to ``NAME.tmp`` in the same
       folder, flushed to disk (fsync), then renamed; an interrupted or
       failed write (full disk) never leaves a truncated file under the
       final name, and ``last_checkpoint`` is updated only after it.
    7. Failures are found early and named: a CheckpointHook key that
       ``save_checkpoint`` does not take (a typo), ``max_iters`` below 1, a
       checkpoint that cannot be read, a ``last_checkpoint`` naming a missing
       file, and resuming a checkpoint with nothing left to train
       (:class:`CheckpointError`) all raise before training starts.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._rng_outside_val: Optional[Dict[str, Any]] = None
        self._loaded_rng_state: Optional[Dict[str, Any]] = None
        self._resuming: Optional[str] = None
        super().__init__(*args, **kwargs)
        self._check_checkpoint_hook_keys()

    def _check_checkpoint_hook_keys(self) -> None:
        """Refuse CheckpointHook keys that reach ``save_checkpoint``
        unknown: mmengine passes them on and fails only at the first save,
        after a whole interval of training."""
        accepted = set(inspect.signature(Runner.save_checkpoint).parameters)
        known = accepted | set(
            inspect.signature(CheckpointHook.__init__).parameters)
        for hook in self.hooks:
            if not isinstance(hook, CheckpointHook):
                continue
            unknown = sorted(set(hook.args) - accepted)
            if unknown:
                key = unknown[0]
                close = difflib.get_close_matches(
                    key, sorted(known - {'self', 'kwargs'}), n=1)
                hint = f' (did you mean {close[0]!r}?)' if close else ''
                raise ValueError(
                    f'default_hooks.checkpoint has the unknown key {key!r}'
                    f'{hint}: CheckpointHook does not take it and '
                    'save_checkpoint would fail at the first save')

    def build_train_loop(self, loop):
        loop = super().build_train_loop(loop)
        for name in ('max_iters', 'max_epochs'):
            value = getattr(loop, name, None)
            if name == 'max_epochs' and isinstance(loop, IterBasedTrainLoop):
                continue
            if value is not None and value < 1:
                raise ValueError(
                    f'train_cfg.{name}={value}: there is nothing to train; '
                    f'give train_cfg.{name} a positive value')
        return loop

    def load_or_resume(self) -> None:
        if not self._has_loaded and self._resume and self._load_from is None:
            found = latest_checkpoint(self.work_dir)
            record = osp.join(self.work_dir, 'last_checkpoint')
            if found is not None and _is_blank(record):
                self.logger.warning(f'{record} is missing or empty: resuming '
                                    f'the newest checkpoint, {found}')
            if found is None:
                self.logger.warning(
                    f'resume: {self.work_dir} holds no checkpoint, '
                    'training starts from the beginning')
                self._resume = False
            else:
                self._load_from = found
                self.logger.info(f'resuming from the latest checkpoint '
                                 f'{found}')
        super().load_or_resume()

    def resume(self,
               filename: str,
               resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location: Union[str, Callable] = 'default') -> None:
        self._resuming = filename
        seed = self.seed
        try:
            super().resume(filename, resume_optimizer,
                           resume_param_scheduler, map_location)
        finally:
            self._resuming = None
        loop = self.train_loop
        at_end = (loop.iter >= loop.max_iters
                  if isinstance(loop, IterBasedTrainLoop) else
                  loop.epoch >= loop.max_epochs)
        if at_end:
            done, total = ((loop.iter, f'train_cfg.max_iters={loop.max_iters}')
                           if isinstance(loop, IterBasedTrainLoop) else
                           (loop.epoch,
                            f'train_cfg.max_epochs={loop.max_epochs}'))
            raise CheckpointError(
                f'checkpoint {filename} is at {done}, the end of training '
                f'({total}): nothing is left to train. Raise the limit to '
                'train further, or evaluate it with tools/test.py')
        if self.seed != seed:
            self._rebuild_train_dataloader()
        state, self._loaded_rng_state = self._loaded_rng_state, None
        if state is None:
            self.logger.warning(
                f'{filename} holds no generator states (written by mmengine '
                'or an older pathsr): the resumed run draws other random '
                'numbers than an uninterrupted one')
        elif isinstance(loop, IterBasedTrainLoop):
            loop.dataloader_iterator = _RestoreRNGAfter(
                loop.dataloader_iterator, loop.iter, state)
        else:
            # epoch-based loops restart at an epoch boundary, no replay
            set_rng_state(state)

    def _rebuild_train_dataloader(self) -> None:
        """Build the train loop's data loader again with the seed just
        resumed from a checkpoint (``randomness.seed=None`` draws a new seed
        for every run; the sampler and the workers were seeded with it)."""
        loop = self.train_loop
        loop.dataloader = self.build_dataloader(
            self.cfg.train_dataloader,
            seed=self.seed,
            diff_rank_seed=self._randomness_cfg.get('diff_rank_seed', False))
        if isinstance(loop, IterBasedTrainLoop):
            loop.dataloader_iterator = type(loop.dataloader_iterator)(
                loop.dataloader)

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args,
                        **kwargs) -> None:
        final = osp.join(out_dir, filename)
        if '://' in out_dir:  # a remote backend: no rename there
            return super().save_checkpoint(out_dir, filename, *args,
                                           **kwargs)
        try:
            with atomic_path(final) as partial:
                super().save_checkpoint(out_dir, filename + '.tmp', *args,
                                        **kwargs)
                with open(partial, 'rb+') as f:
                    os.fsync(f.fileno())
        except OSError as error:
            reason = error.strerror or str(error)
            raise OSError(
                error.errno, f'cannot write checkpoint {final} '
                f'({reason}); the previous checkpoints are intact'
            ) from error
        directory = os.open(out_dir, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

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
            meta = checkpoint.get('meta')
            if self._resuming and not (isinstance(meta, dict)
                                       and 'iter' in meta):
                raise CheckpointError(
                    f'checkpoint {self._resuming} holds weights only, not a '
                    'training state to resume (no meta.iter); start from '
                    f'its weights with load_from={self._resuming} instead')
            restored = from_plain(dict(checkpoint))
            checkpoint.clear()
            checkpoint.update(restored)
            self._loaded_rng_state = checkpoint.get(RNG_KEY)
        elif fn_name == 'before_val':
            self._rng_outside_val = get_rng_state()
        super().call_hook(fn_name, **kwargs)
        if fn_name == 'before_save_checkpoint':
            checkpoint = kwargs['checkpoint']
            # inside validation (save_best) the training stream is the one
            # saved before it
            checkpoint[RNG_KEY] = self._rng_outside_val or get_rng_state()
            plain = to_plain(dict(checkpoint))
            checkpoint.clear()
            checkpoint.update(plain)
        elif fn_name == 'after_val' and self._rng_outside_val is not None:
            set_rng_state(self._rng_outside_val)
            self._rng_outside_val = None

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = True,
                        revise_keys: list = [(r'^module.', '')]) -> dict:
        allow_mmengine_globals()
        if '://' not in filename and not osp.isfile(filename):
            raise CheckpointError(f'checkpoint {filename} does not exist')
        try:
            return super().load_checkpoint(filename, map_location, strict,
                                           revise_keys)
        except (RuntimeError, EOFError, OSError, pickle.UnpicklingError,
                zipfile.BadZipFile) as err:
            if isinstance(err, (CheckpointError, CheckpointMismatchError)):
                raise
            if 'state_dict' not in str(err) and 'size mismatch' not in str(
                    err):
                size = osp.getsize(filename) if osp.isfile(filename) else 0
                first_line = (str(err).splitlines() or ['empty'])[0]
                raise CheckpointError(
                    f'checkpoint {filename} ({size} bytes) cannot be read: '
                    'it is truncated, damaged or not a PyTorch checkpoint '
                    f'({type(err).__name__}: {first_line})'
                ) from err
            model = self.model.module if is_model_wrapper(
                self.model) else self.model
            raise CheckpointMismatchError(
                f'checkpoint {filename} does not match the model '
                f'{type(model).__name__} built from the config '
                f'({self.cfg.filename}): {summarize_mismatch(str(err))}'
            ) from None

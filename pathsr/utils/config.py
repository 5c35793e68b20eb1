"""Loading a config from the command line of ``tools/train.py``/``test.py``:
the file read with errors that name their file and line, the overrides
applied, and top-level keys that nothing reads refused."""
import ast
import difflib
import inspect
import os.path as osp
import traceback
from typing import Any, Dict, Iterable, Optional, Set

import torch
from mmengine.config import Config
from mmengine.runner import Runner

DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: Top-level keys that mmengine's Runner or pathsr read, besides the
#: arguments of ``Runner.__init__``.
READ_KEYS = frozenset({
    'runner_type', 'custom_imports', 'compile', 'model_wrapper_cfg',
    'infer_cfg', 'data_root', 'filename'
})


class ConfigError(ValueError):
    """A config file that cannot be read, or a key that nothing reads."""


def _failure_place(error: BaseException) -> str:
    """``FILE, line N`` of the config statement that raised ``error`` while
    mmengine read it: the innermost frame of a config file, or for a syntax
    error the innermost file mmengine was reading and the error's line;
    ``''`` if neither is known."""
    statement, reading = '', None
    for frame, line in traceback.walk_tb(error.__traceback__):
        code = frame.f_code
        if code.co_name == '<module>' and osp.isfile(code.co_filename):
            statement = f'{osp.normpath(code.co_filename)}, line {line}'
        name = frame.f_locals.get('filename')
        if isinstance(name, str) and osp.isfile(name):
            reading = osp.normpath(name)
    if statement:
        return statement
    if isinstance(error, SyntaxError) and error.lineno and reading:
        return f'{reading}, line {error.lineno}'
    return ''


def read_config(path: str) -> Config:
    """``Config.fromfile(path)``, with a missing file or a file that does
    not parse or raises reported as one :class:`ConfigError` naming the
    file and line."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    try:
        return Config.fromfile(path)
    except Exception as error:  # noqa: BLE001 - any error of user code
        place = _failure_place(error) or path
        message = str(error).splitlines()[0] if str(error) else ''
        raise ConfigError(f'config {place}: {type(error).__name__}: '
                          f'{message}') from error


def _base_keys(path: str) -> Set[str]:
    """The top-level keys that the ``_base_`` files of ``path`` define."""
    keys: Set[str] = set()
    for base in Config._get_base_files(path):
        base_path, scope = Config._get_cfg_path(base, path)
        if scope is None and osp.isfile(base_path):
            keys.update(Config.fromfile(base_path).keys())
    return keys


def _names_read(path: str) -> Set[str]:
    """The names that the Python source of config ``path`` reads (helper
    variables used in an expression, e.g. ``1000 * iters_per_epoch``)."""
    try:
        with open(path, encoding='utf-8') as file:
            tree = ast.parse(file.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return set()
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def _values(node: Any) -> Iterable[Any]:
    """``node`` and every value nested in it (dicts, lists, tuples)."""
    yield node
    if isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, (list, tuple)):
        for child in node:
            yield from _values(child)


def check_top_level_keys(cfg: Config,
                         command_line: Optional[Dict[str, bool]] = None
                         ) -> None:
    """Refuse top-level keys of ``cfg`` that nothing reads (typos such as
    ``data_rot``).

    A top-level key is known when mmengine's Runner or pathsr reads it
    (the arguments of ``Runner.__init__`` and :data:`READ_KEYS`), when a
    ``_base_`` file of the config defines it, or when it is a helper
    variable: the config's source reads it in an expression
    (``1000 * iters_per_epoch``) or its value is used inside another key
    (``train_pipeline``, ``scale``). A key set on the command line (``--cfg-options``) must be
    read or used: setting a helper variable there changes nothing, since
    the keys that use it copied its value when the file was read. Names
    starting with ``_`` are private and not checked.

    Args:
        cfg: The config, after the command-line overrides.
        command_line: The top-level keys that ``--cfg-options`` set, each
            mapped to whether the file already had it.

    Raises:
        ConfigError: Names the first unknown key and the closest known one.
    """
    read = set(inspect.signature(Runner.__init__).parameters) | READ_KEYS
    command_line = command_line or {}
    from_bases = _base_keys(cfg.filename) if cfg.filename else set()
    helpers = _names_read(cfg.filename) if cfg.filename else set()
    for key in sorted(cfg.keys()):
        if key.startswith('_') or key in read:
            continue
        if key not in command_line and key in from_bases:
            continue
        value = cfg[key]
        others = [cfg[k] for k in cfg.keys() if k != key]
        if key in helpers or any(item == value for other in others
                                 for item in _values(other)):
            continue
        if command_line.get(key):
            raise ConfigError(
                f'--cfg-options {key}=...: {key!r} is a helper variable of '
                f'{cfg.filename}; the keys that use it copied its value when '
                'the file was read, so this changes nothing: set those keys '
                'instead')
        close = difflib.get_close_matches(
            key, sorted((read | from_bases) - {'cfg', 'self', key}), n=1)
        hint = f' (did you mean {close[0]!r}?)' if close else ''
        if key in command_line:
            raise ConfigError(f'--cfg-options {key}=...: nothing reads the '
                              f'top-level key {key!r}{hint}')
        raise ConfigError(
            f'{cfg.filename}: nothing reads the top-level key {key!r}{hint}:'
            ' pathsr and mmengine do not, the _base_ configs do not define '
            'it, and no other key uses its value')


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point every dataset of ``cfg`` at ``data_root``.

    Configs copy ``data_root`` into each dataset when they are parsed, so
    ``--cfg-options data_root=...`` alone would not reach the datasets. This
    sets the top-level key and the ``data_root`` of every dataset (also inside
    dataset wrappers and lists of dataloaders) that has one.
    """

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if 'data_root' in node:
                node['data_root'] = data_root
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    cfg.data_root = data_root
    for key in DATALOADER_KEYS:
        visit(cfg.get(key))


def enable_amp(cfg: Config) -> None:
    """Switch the optimiser wrapper to mixed precision (bf16 where the GPU
    supports it, else fp16 with dynamic loss scaling)."""
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper == 'AmpOptimWrapper':
        return
    if wrapper != 'OptimWrapper':
        raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper, the '
                         f'config has {wrapper!r}')
    if not torch.cuda.is_available():
        raise ValueError('--amp needs a CUDA GPU: mmengine\'s '
                         'AmpOptimWrapper does not run on the CPU')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    cfg.optim_wrapper.dtype = 'bfloat16' if bf16 else 'float16'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def load_config(path: str,
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Read a config file and apply the command-line overrides.

    ``--cfg-options data_root=...`` is applied with :func:`set_data_root`;
    the work directory is, in order, ``work_dir``, the config's own, or
    ``work_dirs/<config name>``.

    Raises:
        FileNotFoundError: No file at ``path``.
        ConfigError: The file does not parse or raises (the message names
            the file and line), or a top-level key is read by nothing
            (:func:`check_top_level_keys`).
        NotADirectoryError: The work directory is a file.
    """
    cfg = read_config(path)
    cfg_options = dict(cfg_options or {})
    data_root = cfg_options.pop('data_root', None)
    command_line = {
        key.split('.')[0]: key.split('.')[0] in cfg
        for key in cfg_options
        if '.' not in key or key.split('.')[0] not in cfg
    }
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root is not None:
        set_data_root(cfg, data_root)
    check_top_level_keys(cfg, command_line)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    if osp.exists(cfg.work_dir) and not osp.isdir(cfg.work_dir):
        raise NotADirectoryError(
            f'the work dir {cfg.work_dir} is a file, not a folder: give '
            '--work-dir a folder')
    return cfg

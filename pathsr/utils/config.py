"""Loading a config from the command line of ``tools/train.py``/``test.py``."""
import os.path as osp
from typing import Any, Optional

import torch
from mmengine.config import Config

DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


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
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    cfg_options = dict(cfg_options or {})
    data_root = cfg_options.pop('data_root', None)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root is not None:
        set_data_root(cfg, data_root)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg

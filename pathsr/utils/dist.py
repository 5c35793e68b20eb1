"""Distributed set-up that also works on machines without CUDA."""
import datetime
import os
import subprocess
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config

#: The launchers whose process group can be started without CUDA.
CPU_LAUNCHERS = ('pytorch', 'slurm')


def _slurm_master_addr(node_list: str) -> str:
    """The first host of the Slurm node list ``node_list``, expanded by
    ``scontrol show hostname`` (as mmengine's slurm launcher does)."""
    try:
        proc = subprocess.run(['scontrol', 'show', 'hostname', node_list],
                              capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise RuntimeError(
            f'--launcher slurm cannot expand SLURM_NODELIST={node_list!r} '
            f'with scontrol ({error}); set MASTER_ADDR to the host of rank 0'
        ) from error
    hosts = proc.stdout.split()
    if not hosts:
        raise RuntimeError(f'scontrol show hostname {node_list} printed no '
                           'host; set MASTER_ADDR to the host of rank 0')
    return hosts[0]


def check_launcher_env(launcher: str) -> None:
    """Check that the variables ``launcher`` sets are in the environment.

    Raises:
        RuntimeError: Some are missing: the process was not started by
            torchrun (``'pytorch'``) or srun (``'slurm'``).
    """
    names, starter = dict(
        pytorch=(('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR',
                  'MASTER_PORT'), 'torchrun (tools/dist_*.sh)'),
        slurm=(('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID',
                'SLURM_NODELIST'), 'srun (tools/slurm_*.sh)'))[launcher]
    missing = [name for name in names if name not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher {launcher} needs {", ".join(missing)} '
                           f'in the environment: start the job with {starter}')


def export_slurm_env() -> None:
    """Export torch.distributed's ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
    ``MASTER_ADDR`` and ``MASTER_PORT`` from the variables srun sets.

    Rank, world size and local rank are ``SLURM_PROCID``, ``SLURM_NTASKS``
    and ``SLURM_LOCALID``. ``MASTER_ADDR`` and ``MASTER_PORT`` are kept
    when set, else they are the first host of ``SLURM_NODELIST`` and 29500.

    Raises:
        RuntimeError: A Slurm variable is missing (not started by srun), or
            the node list cannot be expanded.
    """
    check_launcher_env('slurm')
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ['SLURM_LOCALID']
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        os.environ['MASTER_ADDR'] = _slurm_master_addr(
            os.environ['SLURM_NODELIST'])


def init_cpu_process_group(launcher: str,
                           timeout: Optional[float] = None) -> None:
    """Start a gloo process group from the environment of ``launcher``.

    ``'pytorch'`` reads torchrun's variables, ``'slurm'`` first exports
    them from srun's (:func:`export_slurm_env`). mmengine's ``init_dist``
    cannot be used without CUDA: it calls ``torch.cuda.set_device``.

    Args:
        launcher: ``'pytorch'`` or ``'slurm'``.
        timeout: Seconds a collective waits for the other ranks; None for
            torch's default (30 min).

    Raises:
        ValueError: Another launcher.
        RuntimeError: The launcher's variables are missing.
    """
    if launcher not in CPU_LAUNCHERS:
        raise ValueError(f'launcher {launcher!r} needs CUDA; without a GPU '
                         f'use --launcher {" or ".join(CPU_LAUNCHERS)}')
    if launcher == 'slurm':
        export_slurm_env()
    else:
        check_launcher_env(launcher)
    options = {} if timeout is None else dict(
        timeout=datetime.timedelta(seconds=timeout))
    dist.init_process_group(backend='gloo', **options)


def setup_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` for a launch with no GPU (gloo backend, CPU DDP).

    mmengine's ``pytorch`` and ``slurm`` launchers call
    ``torch.cuda.set_device`` and its DDP wrapper passes
    ``device_ids=[LOCAL_RANK]``; both fail without CUDA. When CUDA is
    absent and a launcher is used, this initialises the gloo process group
    from torchrun's or srun's environment (:func:`init_cpu_process_group`;
    mmengine then skips its own initialisation), selects gloo in
    ``env_cfg`` and wraps the model in DDP with ``device_ids=None``. With
    CUDA it does nothing.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        init_cpu_process_group(launcher)
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def teardown_distributed(sync: bool = True) -> None:
    """Destroy the process group, if any, before the interpreter exits.

    Left to interpreter shutdown, a gloo group may be torn down while its
    worker threads still run, which aborts the process ("terminate called
    without an active exception") after a successful run. With ``sync``
    the ranks first meet at a barrier; a rank leaving on an error passes
    False, as the others may not reach that barrier.
    """
    if dist.is_available() and dist.is_initialized():
        if sync:
            dist.barrier()
        dist.destroy_process_group()

"""Distributed set-up that also works on machines without CUDA."""
import datetime
import os
import socket
import subprocess
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config

#: The launchers whose process group can be started without CUDA.
CPU_LAUNCHERS = ('pytorch', 'slurm')
#: The environment variable with the seconds the ranks wait for each other
#: when they start (:func:`rendezvous`).
RENDEZVOUS_TIMEOUT_ENV = 'PATHSR_DIST_INIT_TIMEOUT'
#: Its default: long enough for the nodes of a job to start.
DEFAULT_RENDEZVOUS_TIMEOUT = 300.0


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


def rendezvous_timeout() -> float:
    """The seconds of :func:`rendezvous`: ``PATHSR_DIST_INIT_TIMEOUT``, or
    :data:`DEFAULT_RENDEZVOUS_TIMEOUT`.

    Raises:
        ValueError: The variable is not a positive number.
    """
    value = os.environ.get(RENDEZVOUS_TIMEOUT_ENV)
    if value is None:
        return DEFAULT_RENDEZVOUS_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ValueError(f'{RENDEZVOUS_TIMEOUT_ENV}={value!r}: give the '
                         'seconds the ranks wait for each other, > 0')
    return seconds


def rendezvous(timeout: Optional[float] = None) -> dist.TCPStore:
    """Meet every rank of ``WORLD_SIZE`` at ``MASTER_ADDR:MASTER_PORT``
    within ``timeout`` seconds (default :func:`rendezvous_timeout`).

    torch's own rendezvous waits as long as the process group's timeout
    (30 min, 24 h for inference) and then reports a store error; here each
    rank registers its host in rank 0's store and the ranks wait for each
    other at most ``timeout``.

    Returns:
        The store, for ``torch.distributed.init_process_group(store=...)``.

    Raises:
        RuntimeError: Rank 0 cannot listen on the address, another rank
            cannot reach it, or some ranks did not arrive in time; the
            message names the address, the missing ranks and
            ``PATHSR_DIST_INIT_TIMEOUT``.
    """
    timeout = rendezvous_timeout() if timeout is None else timeout
    rank, world_size = int(os.environ['RANK']), int(os.environ['WORLD_SIZE'])
    address = f'{os.environ["MASTER_ADDR"]}:{os.environ["MASTER_PORT"]}'
    wait = datetime.timedelta(seconds=timeout)
    longer = f'(wait longer with {RENDEZVOUS_TIMEOUT_ENV}=SECONDS)'
    try:
        store = dist.TCPStore(
            os.environ['MASTER_ADDR'],
            int(os.environ['MASTER_PORT']),
            world_size,
            is_master=rank == 0,
            timeout=wait,
            wait_for_workers=False)
    except RuntimeError as error:
        if rank == 0:
            raise RuntimeError(
                f'rank 0 cannot listen on MASTER_ADDR:MASTER_PORT={address} '
                f'({str(error).splitlines()[0]}); is the port in use? Choose '
                'another MASTER_PORT') from error
        raise RuntimeError(
            f'rank {rank} of WORLD_SIZE={world_size} could not reach rank 0 '
            f'at MASTER_ADDR:MASTER_PORT={address} within {timeout:g} s: '
            f'is rank 0 running there? {longer}') from error
    keys = [f'pathsr/rank/{other}' for other in range(world_size)]
    store.set(keys[rank], socket.gethostname())
    try:
        store.wait(keys, wait)
    except RuntimeError as error:
        missing = [r for r, key in enumerate(keys) if not store.check([key])]
        raise RuntimeError(
            f'rank {rank}: {world_size - len(missing)} of WORLD_SIZE='
            f'{world_size} ranks joined at {address} within {timeout:g} s; '
            f'missing ranks: {", ".join(map(str, missing))}. Start them all '
            '(torchrun --nproc-per-node, srun -n) or correct WORLD_SIZE '
            f'{longer}') from error
    return store


def init_process_group(backend: str, timeout: Optional[float] = None) -> None:
    """Start the process group of ``backend`` from torchrun's variables
    after a bounded :func:`rendezvous`.

    Args:
        backend: ``'gloo'`` or ``'nccl'``.
        timeout: Seconds a collective waits for the other ranks; None for
            torch's default (30 min). The start-up wait is
            :func:`rendezvous_timeout`.
    """
    store = rendezvous()
    options = {} if timeout is None else dict(
        timeout=datetime.timedelta(seconds=timeout))
    dist.init_process_group(
        backend=backend,
        store=store,
        rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']),
        **options)


def init_cpu_process_group(launcher: str,
                           timeout: Optional[float] = None) -> None:
    """Start a gloo process group from the environment of ``launcher``.

    ``'pytorch'`` reads torchrun's variables, ``'slurm'`` first exports
    them from srun's (:func:`export_slurm_env`). mmengine's ``init_dist``
    cannot be used without CUDA: it calls ``torch.cuda.set_device``.

    Args:
        launcher: ``'pytorch'`` or ``'slurm'``.
        timeout: Seconds a collective waits for the other ranks; None for
            torch's default (30 min). The ranks wait for each other at
            start-up at most ``PATHSR_DIST_INIT_TIMEOUT`` seconds
            (:func:`rendezvous`).

    Raises:
        ValueError: Another launcher.
        RuntimeError: The launcher's variables are missing, or the ranks
            did not all arrive.
    """
    if launcher not in CPU_LAUNCHERS:
        raise ValueError(f'launcher {launcher!r} needs CUDA; without a GPU '
                         f'use --launcher {" or ".join(CPU_LAUNCHERS)}')
    if launcher == 'slurm':
        export_slurm_env()
    else:
        check_launcher_env(launcher)
    init_process_group('gloo', timeout)


def init_cuda_process_group(launcher: str, backend: str,
                            timeout: Optional[float] = None) -> None:
    """What mmengine's ``init_dist`` does for ``'pytorch'`` and ``'slurm'``
    (``cuda:LOCAL_RANK`` made the current device, the process group
    started), with the bounded start-up of :func:`init_process_group`."""
    if launcher == 'slurm':
        export_slurm_env()
    else:
        check_launcher_env(launcher)
    torch.cuda.set_device(int(os.environ['LOCAL_RANK']))
    init_process_group(backend, timeout)


def setup_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` for a launch with no GPU (gloo backend, CPU DDP).

    mmengine's ``pytorch`` and ``slurm`` launchers call
    ``torch.cuda.set_device`` and its DDP wrapper passes
    ``device_ids=[LOCAL_RANK]``; both fail without CUDA. When CUDA is
    absent and a launcher is used, this initialises the gloo process group
    from torchrun's or srun's environment (:func:`init_cpu_process_group`;
    mmengine then skips its own initialisation), selects gloo in
    ``env_cfg`` and wraps the model in DDP with ``device_ids=None``. With
    CUDA and the ``pytorch`` or ``slurm`` launcher it only starts the
    process group of ``env_cfg.dist_cfg.backend`` (:func:`
    init_cuda_process_group`). Either way the ranks wait for each other at
    start-up at most ``PATHSR_DIST_INIT_TIMEOUT`` seconds.
    """
    if launcher == 'none':
        return
    if torch.cuda.is_available():
        if launcher in CPU_LAUNCHERS and not dist.is_initialized():
            dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
            init_cuda_process_group(launcher,
                                    dist_cfg.get('backend', 'nccl'),
                                    dist_cfg.get('timeout'))
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

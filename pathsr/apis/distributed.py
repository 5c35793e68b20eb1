"""Distributed inference: start the ranks, pick their device, split the work.

A job started by torchrun (``tools/dist_infer.sh``, ``--launcher
pytorch``) or srun (``tools/slurm_infer.sh``, ``--launcher slurm``) runs one
process per GPU. The ranks only synchronise (barriers, a few small Python
objects); no tensor travels between them, so the process group is gloo on
every machine, with a long timeout: a rank may wait for rank 0 to write a
whole pyramid. Each rank computes on ``cuda:LOCAL_RANK``, or on the CPU
without CUDA.

Work is split so that the outputs equal those of one process:

- several inputs (the images of a folder, the slides of a folder): input
  ``k`` of the sorted list belongs to rank ``k % world_size``
  (:func:`round_robin`), which writes its output;
- the tiles of one whole slide: contiguous blocks of the raster-ordered
  tiles still to compute (:func:`contiguous_block`), see
  :func:`~pathsr.apis.slide_sr.super_resolve_slide`.
"""
import os
from typing import List, Optional, Sequence, Tuple, TypeVar

import torch
from mmengine.dist import all_gather_object, get_dist_info

from pathsr.utils.dist import init_cpu_process_group, init_cuda_process_group

T = TypeVar('T')

#: Launchers of distributed inference.
LAUNCHERS = ('none', 'pytorch', 'slurm')
#: Seconds a rank waits at a barrier by default (24 h).
DEFAULT_TIMEOUT = 24 * 3600


def init_inference_dist(launcher: str,
                        timeout: float = DEFAULT_TIMEOUT) -> Tuple[int, int]:
    """Start the gloo process group of ``launcher`` and return ``(rank,
    world_size)``; ``(0, 1)`` for ``'none'``.

    With CUDA this also makes ``cuda:LOCAL_RANK`` the current device
    (:func:`~pathsr.utils.dist.init_cuda_process_group`), without CUDA it is
    :func:`~pathsr.utils.dist.init_cpu_process_group`. ``timeout`` bounds
    the barriers; at start-up the ranks wait for each other at most
    ``PATHSR_DIST_INIT_TIMEOUT`` seconds (default 300).

    Raises:
        ValueError: An unknown launcher.
        RuntimeError: The launcher's variables are missing (not started by
            torchrun or srun), or not every rank arrived in time (the
            message names the missing ranks).
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {", ".join(LAUNCHERS)}, '
                         f'got {launcher!r}')
    if launcher != 'none':
        if torch.cuda.is_available():
            init_cuda_process_group(launcher, 'gloo', timeout)
        else:
            init_cpu_process_group(launcher, timeout)
    return get_dist_info()


def rank_device(device: Optional[str], launcher: str) -> Optional[str]:
    """The device of this rank: ``device`` in a single process; with a
    launcher ``cuda:LOCAL_RANK`` when ``device`` is None or ``'cuda'`` and
    CUDA is there (``'cuda'`` without CUDA is left to
    :func:`~pathsr.apis.select_device`, which falls back to the CPU), the
    CPU otherwise.

    Raises:
        ValueError: A device with an index under a launcher, which would
            put every rank on one GPU.
    """
    if launcher == 'none' or device == 'cpu':
        return device
    if device is None and not torch.cuda.is_available():
        return 'cpu'
    if device not in (None, 'cuda'):
        raise ValueError(f'--device {device} with --launcher {launcher}: '
                         'each rank uses cuda:LOCAL_RANK, give --device cuda '
                         'or cpu')
    return f'cuda:{int(os.environ["LOCAL_RANK"])}'


def round_robin(items: Sequence[T], rank: int, world_size: int) -> List[T]:
    """The items of ``rank``: those at indices ``k`` with ``k % world_size
    == rank``."""
    return list(items[rank::world_size])


def contiguous_block(items: Sequence[T], rank: int,
                     world_size: int) -> List[T]:
    """The ``rank``-th of ``world_size`` contiguous blocks of ``items``,
    ``[rank n // world_size, (rank + 1) n // world_size)``: sizes differ by
    one at most."""
    count = len(items)
    return list(items[rank * count // world_size:(rank + 1) * count //
                      world_size])


def raise_first_error(error: Optional[Exception]) -> None:
    """Make every rank fail when one of them met ``error``.

    In a single process ``error`` is raised when given. Otherwise the ranks
    exchange their errors: a rank raises its own, the others a ValueError
    naming the first rank that failed and its message. Every rank must
    call this at the same point.
    """
    rank, world_size = get_dist_info()
    if world_size == 1:
        if error is not None:
            raise error
        return
    messages = all_gather_object(None if error is None else str(error))
    if error is not None:
        raise error
    for other, message in enumerate(messages):
        if message is not None:
            raise ValueError(f'rank {other} failed: {message}')

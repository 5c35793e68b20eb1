"""Measuring helpers of the benchmark tools (``tools/analysis_tools``):
timing with device synchronisation, the peak memory of a phase, FLOPs, and
the model to measure (its weights, or an explicit random initialisation).
"""
import argparse
import contextlib
import ctypes
import gc
import os
import platform
import resource
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from torch.utils.flop_counter import FlopCounterMode

from pathsr.registry import MODELS
from pathsr.structures import SRDataSample


def synchronize(device: torch.device) -> None:
    """Wait for the kernels queued on ``device`` (CUDA); nothing on the
    CPU."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_iterations(fn: Callable, warmup: int, repeats: int,
                    device: torch.device
                    ) -> Tuple[List[float], List[float], object]:
    """Seconds of ``warmup`` then ``repeats`` calls of ``fn``, each timed
    between two synchronisations, and the last call's result."""
    times = []
    result = None
    for _ in range(warmup + repeats):
        synchronize(device)
        start = time.perf_counter()
        result = fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times[:warmup], times[warmup:], result


def reset_rss_peak() -> bool:
    """Reset the kernel's peak-RSS counter, so that ``ru_maxrss`` restarts
    at the current resident size (Linux >= 4.0); False where refused.
    Freed heap memory is first handed back to the system (glibc's
    ``malloc_trim``), so that the next phase does not grow into it
    unseen."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    try:
        with open('/proc/self/clear_refs', 'w') as file:
            file.write('5')
    except OSError:
        return False
    return True


def max_rss_bytes() -> int:
    """The process's peak resident memory (``ru_maxrss``) in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_method(device: torch.device) -> str:
    """How :func:`peak_memory` measures on ``device``, for reports."""
    if device.type == 'cuda':
        return ('torch.cuda.max_memory_allocated, reset before each phase '
                '(weights, optimizer state and activations)')
    if reset_rss_peak():
        return ('CPU: growth of ru_maxrss during the phase, after freed '
                'heap memory is returned (malloc_trim) and the peak reset '
                '(/proc/self/clear_refs): memory beyond what was resident '
                'before the phase')
    return ('CPU: growth of ru_maxrss during the phase; the peak could not be '
            'reset, so a phase below an earlier peak shows 0 (lower bound)')


@contextlib.contextmanager
def peak_memory(device: torch.device) -> Iterator[Dict[str, int]]:
    """Yield a dict whose ``'bytes'`` is the phase's peak memory on exit:
    ``torch.cuda.max_memory_allocated`` on CUDA (everything allocated,
    weights included), the growth of the peak RSS on the CPU (see
    :func:`memory_method`)."""
    record: Dict[str, int] = {}
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        yield record
        record['bytes'] = torch.cuda.max_memory_allocated(device)
    else:
        reset_rss_peak()
        start = max_rss_bytes()
        yield record
        record['bytes'] = max_rss_bytes() - start


def count_flops(fn: Callable) -> int:
    """FLOPs of one eager call of ``fn`` (a multiply-add counts 2), as
    ``torch.utils.flop_counter.FlopCounterMode`` counts the aten operators
    that run: convolutions, matrix products and attention."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model, cores and torch threads."""
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    cpuinfo = Path('/proc/cpuinfo')
    names = [
        line.split(':', 1)[1].strip()
        for line in cpuinfo.read_text().splitlines()
        if line.startswith('model name')
    ] if cpuinfo.is_file() else []
    name = names[0] if names else (platform.processor()
                                   or platform.machine())
    return (f'{name}, {os.cpu_count()} cores, {torch.get_num_threads()} '
            'torch threads')


def add_weights_args(parser: argparse.ArgumentParser) -> None:
    """``--checkpoint FILE`` and ``--random-init``, one of which a tool that
    measures a model needs (see :func:`build_measured_model`)."""
    parser.add_argument('--checkpoint', help='weights to load')
    parser.add_argument(
        '--random-init',
        action='store_true',
        help='measure a randomly initialised model (no checkpoint)')


def parse_weights_args(
        parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line of a tool that called
    :func:`add_weights_args`; exactly one of ``--checkpoint`` and
    ``--random-init`` must be given, or the tool exits with a usage error.
    """
    args = parser.parse_args()
    if (args.checkpoint is None) == (not args.random_init):
        parser.error('give either --checkpoint FILE or --random-init (a '
                     'randomly initialised model)')
    return args


def build_measured_model(cfg: Config, checkpoint: Optional[str],
                         random_init: bool,
                         device: torch.device) -> nn.Module:
    """The model of ``cfg`` in eval mode on ``device``, with the weights of
    ``checkpoint`` (strict), or randomly initialised when ``random_init``:
    speed and memory do not depend on the weights, but a random model is
    only used when asked for.

    Raises:
        ValueError: Neither or both of ``checkpoint`` and ``random_init``.
    """
    if (checkpoint is None) == (not random_init):
        raise ValueError('give either --checkpoint FILE or --random-init '
                         f'(got checkpoint={checkpoint!r}, random_init='
                         f'{random_init})')
    init_default_scope('pathsr')
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.to(device).eval()


def random_predict_batch(side: int, scale: float, out_shape: Tuple[int, int],
                         device: torch.device) -> dict:
    """A test batch as the dataloader packs it: one random uint8 LR image
    ``(3, side, side)`` on ``device`` and its data sample with the metainfo
    ``predict`` reads (``lr_shape``, ``scale``, ``out_shape``)."""
    lr = torch.randint(0, 256, (3, side, side), dtype=torch.uint8,
                       device=device)
    sample = SRDataSample(metainfo=dict(
        lr_shape=(side, side), scale=scale, out_shape=tuple(out_shape)))
    return dict(inputs=[lr], data_samples=[sample])

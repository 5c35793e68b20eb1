"""The global random number generators of a process, as one value that a
checkpoint can hold.

Training draws from four generators: Python's ``random`` and NumPy's global
``np.random`` (data augmentation when ``num_workers=0``), torch's CPU
generator (e.g. the query sampling of implicit models, ``torch.randperm``)
and, with CUDA, the generator of every GPU. :func:`get_rng_state` captures
them, :func:`set_rng_state` puts them back, so that a resumed run draws the
numbers the uninterrupted run would have drawn.
"""
import random
from typing import Any, Dict

import numpy as np
import torch


def get_rng_state() -> Dict[str, Any]:
    """The state of every global generator of this process.

    Returns:
        dict: ``python`` (``random.getstate()``), ``numpy``
        (``np.random.get_state()``: name, 624 uint32 words, position,
        has-Gauss flag, cached Gaussian), ``torch`` (uint8 tensor) and, when
        CUDA is initialised, ``cuda`` (a list of uint8 tensors, one a GPU).
    """
    state = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    """Restore the generators from a value of :func:`get_rng_state`.

    The state may have passed through a checkpoint: tuples may come back as
    lists and the NumPy words as any integer array. The CUDA generators are
    restored only when the state has them and CUDA is available.
    """
    version, words, gauss = state['python']
    random.setstate((version, tuple(words), gauss))
    name, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state(
        (name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])

"""Checkpoints that load with ``torch.load(weights_only=True)``.

Since PyTorch 2.6 ``torch.load`` refuses to unpickle arbitrary classes by
default. mmengine 0.10.7 saves its message hub as ``HistoryBuffer`` objects
holding NumPy arrays and loads without ``weights_only=False``, so its own
checkpoints cannot be resumed on current PyTorch.

pathsr fixes both ends:

- :func:`to_plain` rewrites a checkpoint before saving so that it holds only
  tensors, Python scalars, strings and containers (``HistoryBuffer`` becomes a
  tagged dict, NumPy arrays become tagged tensors, NumPy scalars Python
  numbers); :func:`from_plain` restores the objects after loading.
- :func:`allow_mmengine_globals` adds ``HistoryBuffer`` and the NumPy
  reconstructors to PyTorch's safe globals, so checkpoints written by plain
  mmengine (or by older pathsr) still load with ``weights_only=True``.
"""
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

_BUFFER_TAG = '__pathsr_history_buffer__'
_NDARRAY_TAG = '__pathsr_ndarray__'


def to_plain(obj: Any) -> Any:
    """Return a copy of ``obj`` made only of types that ``weights_only``
    unpickling accepts."""
    if isinstance(obj, HistoryBuffer):
        log, count = obj.data
        return {
            _BUFFER_TAG: True,
            'log_history': torch.from_numpy(np.asarray(log, np.float64)),
            'count_history': torch.from_numpy(np.asarray(count, np.float64)),
            'max_length': int(obj.max_length),
        }
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return [to_plain(item) for item in obj.tolist()]
        return {_NDARRAY_TAG: torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, to_plain(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
        return type(obj)(to_plain(v) for v in obj)
    return obj


def from_plain(obj: Any) -> Any:
    """Inverse of :func:`to_plain`."""
    if isinstance(obj, dict):
        if obj.get(_BUFFER_TAG) is True:
            return HistoryBuffer(obj['log_history'].numpy(),
                                 obj['count_history'].numpy(),
                                 obj['max_length'])
        if set(obj) == {_NDARRAY_TAG}:
            return obj[_NDARRAY_TAG].numpy()
        items = ((k, from_plain(v)) for k, v in obj.items())
        return OrderedDict(items) if isinstance(obj, OrderedDict) \
            else dict(items)
    if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
        return type(obj)(from_plain(v) for v in obj)
    return obj


def allow_mmengine_globals() -> None:
    """Let ``torch.load(weights_only=True)`` read plain mmengine checkpoints."""
    core = np._core if hasattr(np, '_core') else np.core  # NumPy 2 / 1
    reconstruct = core.multiarray._reconstruct
    scalar = core.multiarray.scalar
    numpy_globals = [
        np.ndarray, np.dtype, reconstruct, scalar,
        (reconstruct, 'numpy.core.multiarray._reconstruct'),
        (scalar, 'numpy.core.multiarray.scalar')
    ]
    dtype_classes = [type(np.dtype(t)) for t in (
        np.float16, np.float32, np.float64, np.int32, np.int64, np.uint8,
        np.bool_)]
    torch.serialization.add_safe_globals(
        [HistoryBuffer, *numpy_globals, *dtype_classes])

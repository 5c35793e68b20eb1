"""Mixed precision: the autocast used for inference, and float32 regions
for the few computations that bf16 would spoil."""
import contextlib

import torch


def autocast_context(device: torch.device,
                     amp: bool) -> contextlib.AbstractContextManager:
    """Mixed-precision autocast on ``device`` when ``amp``: bf16, or fp16 on
    a GPU without bf16. The CPU runs bf16 autocast too (correct everywhere,
    fast only on processors with bf16 instructions)."""
    if not amp:
        return contextlib.nullcontext()
    dtype = torch.bfloat16
    if device.type == 'cuda' and not torch.cuda.is_bf16_supported():
        dtype = torch.float16
    return torch.autocast(device.type, dtype=dtype)


def float32_region(device: torch.device) -> torch.autocast:
    """Switch autocast off on ``device``: inside, operations run in the
    dtype of their inputs (cast them with :func:`upcast`).

    The implicit heads' sinusoidal bases need it: ``sin(f . x + phase)``
    with ``f . x`` of a few tens rounded to bf16's 8-bit mantissa is off by
    a sizeable fraction of a period.
    """
    return torch.autocast(device.type, enabled=False)


def upcast(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32 if it is in a lower precision (float64 stays)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))

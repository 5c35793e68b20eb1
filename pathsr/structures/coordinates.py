"""Pixel-centre coordinates and the output-size rule of arbitrary-scale SR.

Convention (LIIF's): an image of ``n`` rows spans ``[-1, 1]``; row ``i`` has
its centre at ``-1 + (2 i + 1) / n``. Coordinates are ``(y, x)`` pairs. The
cell of an HR pixel is its size in that frame, ``(2 / H, 2 / W)``.
"""
import math
from typing import Optional, Sequence, Tuple

import torch

#: Outputs larger than this many pixels are refused by :func:`output_shape`
#: (a whole 40x slide is ~1e10 pixels: it goes through tiled inference).
MAX_OUTPUT_PIXELS = 1 << 30


def make_coord(shape: Sequence[int],
               device: Optional[torch.device] = None,
               dtype: torch.dtype = torch.float32,
               start: int = 0,
               end: Optional[int] = None) -> torch.Tensor:
    """Centres ``(y, x)`` of the pixels of an ``(H, W)`` grid in row-major
    order, shape ``(H * W, 2)``; with ``start``/``end`` only the pixels of
    flat indices ``[start, end)``, so a chunked decoder never holds the whole
    grid."""
    height, width = shape
    end = height * width if end is None else min(end, height * width)
    index = torch.arange(start, end, device=device)
    rows = torch.div(index, width, rounding_mode='floor')
    cols = index - rows * width
    return torch.stack([(2 * rows + 1).to(dtype) / height - 1,
                        (2 * cols + 1).to(dtype) / width - 1], -1)


def output_shape(lr_shape: Sequence[int],
                 scale: Optional[float] = None,
                 out_shape: Optional[Sequence[int]] = None,
                 max_pixels: int = MAX_OUTPUT_PIXELS) -> Tuple[int, int]:
    """The HR size of an ``(h, w)`` LR image, computed once.

    Rule: an explicit ``out_shape`` wins; otherwise ``(round(h * s),
    round(w * s))``. (The pipeline's :class:`BicubicDegradation` crops the
    ground truth to the same rounded size, so prediction and ground truth
    agree for every real scale.)

    Raises:
        ValueError: ``scale`` is not a finite number > 1, ``out_shape`` is not
            two positive integers, neither is given, or the output would have
            more than ``max_pixels`` pixels.
    """
    if out_shape is not None:
        if len(out_shape) != 2 or any(
                int(n) != n or n < 1 for n in out_shape):
            raise ValueError(
                f'out_shape must be two positive integers, got {out_shape}')
        height, width = int(out_shape[0]), int(out_shape[1])
    elif scale is None:
        raise ValueError('give a scale or an out_shape')
    else:
        if isinstance(scale, bool) or not isinstance(
                scale, (int, float)) or not math.isfinite(scale) or scale <= 1:
            raise ValueError(
                f'scale must be a finite number > 1, got {scale!r}')
        if scale * scale * lr_shape[0] * lr_shape[1] > max_pixels:
            raise ValueError(
                f'scale {scale} on a {lr_shape[0]}x{lr_shape[1]} input gives '
                f'more than {max_pixels} output pixels; use tiled inference '
                'for outputs of that size')
        height, width = round(lr_shape[0] * scale), round(lr_shape[1] * scale)
    if height * width > max_pixels:
        raise ValueError(f'out_shape {height}x{width} has more than '
                         f'{max_pixels} pixels; use tiled inference')
    return height, width

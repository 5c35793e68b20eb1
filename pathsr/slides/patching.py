"""Grid patch coordinates on the tissue of a slide."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np


def tissue_patch_coords(mask: np.ndarray,
                        mask_downsample: float,
                        patch_size_level0: float,
                        stride_level0: float,
                        min_tissue: float = 0.5,
                        level0_size: Optional[Sequence[int]] = None
                        ) -> np.ndarray:
    """Level-0 top-left corners (N, 2) ``(x, y)`` of the grid patches whose
    tissue fraction is at least ``min_tissue``.

    The grid starts at (0, 0) with step ``stride_level0`` and holds the
    patches of side ``patch_size_level0`` that lie wholly inside the slide
    (both may be non-integer, e.g. the level-0 extent of a patch at another
    resolution; corners are rounded to integers). A patch's tissue fraction
    is the mean of ``mask`` over the mask pixels it covers (its extent
    divided by ``mask_downsample``, rounded, at least one pixel), computed
    for all patches at once from the integral image of the mask. Rows are
    ordered by y, then x.

    Args:
        mask: Tissue mask (h, w), bool or 0/1.
        mask_downsample: Level-0 pixels per mask pixel.
        patch_size_level0: Patch side in level-0 pixels.
        stride_level0: Grid step in level-0 pixels.
        min_tissue: Least tissue fraction of a kept patch, in [0, 1].
        level0_size: Slide level-0 size (W, H). Defaults to the mask size
            times ``mask_downsample``.

    Returns:
        np.ndarray: int64 (N, 2), level-0 (x, y) of the kept patches.
    """
    if mask.ndim != 2 or mask.size == 0:
        raise ValueError(f'mask must be a non-empty 2-D array (h, w), got '
                         f'shape {mask.shape}')
    for name, value in (('mask_downsample', mask_downsample),
                        ('patch_size_level0', patch_size_level0),
                        ('stride_level0', stride_level0)):
        if not value > 0:
            raise ValueError(f'{name} must be positive, got {value!r}')
    if not 0 <= min_tissue <= 1:
        raise ValueError(f'min_tissue must be in [0, 1], got {min_tissue!r}')
    mask_h, mask_w = mask.shape
    width, height = level0_size if level0_size is not None else (
        mask_w * mask_downsample, mask_h * mask_downsample)
    xs = _grid(width, patch_size_level0, stride_level0)
    ys = _grid(height, patch_size_level0, stride_level0)
    if xs.size == 0 or ys.size == 0:
        return np.zeros((0, 2), np.int64)
    mx0, mx1 = _mask_span(xs, patch_size_level0, mask_downsample, mask_w)
    my0, my1 = _mask_span(ys, patch_size_level0, mask_downsample, mask_h)
    integral = cv2.integral(mask.astype(np.uint8), sdepth=cv2.CV_64F)
    sums = (integral[my1[:, None], mx1[None, :]]
            - integral[my0[:, None], mx1[None, :]]
            - integral[my1[:, None], mx0[None, :]]
            + integral[my0[:, None], mx0[None, :]])
    areas = (my1 - my0)[:, None] * (mx1 - mx0)[None, :]
    rows, cols = np.nonzero(sums / areas >= min_tissue)
    return np.stack([xs[cols], ys[rows]], axis=1).astype(np.int64)


def _grid(length: float, patch: float, stride: float) -> np.ndarray:
    """Rounded starts of the patches that fit in ``length``."""
    if length < patch:
        return np.zeros(0, np.int64)
    count = int(np.floor((length - patch) / stride + 1e-9)) + 1
    return np.round(np.arange(count) * stride).astype(np.int64)


def _mask_span(starts: np.ndarray, patch: float, downsample: float,
               limit: int) -> Tuple[np.ndarray, np.ndarray]:
    """Mask-pixel ranges ``[lo, hi)`` of patches at level-0 ``starts``."""
    lo = np.clip(np.round(starts / downsample), 0, limit - 1).astype(int)
    hi = np.clip(np.round((starts + patch) / downsample), 0, limit)
    hi = np.maximum(hi.astype(int), lo + 1)
    return lo, hi

"""Tissue segmentation of a slide thumbnail, in the manner of CLAM."""
from typing import Optional

import cv2
import numpy as np


def segment_tissue(thumbnail: np.ndarray,
                   sthresh: int = 8,
                   mthresh: int = 7,
                   close: int = 4,
                   use_otsu: bool = True,
                   min_area_fraction: float = 1e-3,
                   min_hole_fraction: float = 2e-4,
                   max_holes: Optional[int] = 8) -> np.ndarray:
    """Boolean tissue mask (H, W) of a uint8 RGB thumbnail (H, W, 3).

    As CLAM's ``segmentTissue``: the HSV saturation of the thumbnail is
    median-blurred (kernel ``mthresh``), thresholded, closed with a
    ``close`` x ``close`` square kernel, and its contours are found with
    their holes (``cv2.RETR_CCOMP``). A tissue piece is kept when its area,
    less the area of its holes, exceeds ``min_area_fraction`` of the
    thumbnail area; of its holes, the ``max_holes`` largest whose area
    exceeds ``min_hole_fraction`` of the thumbnail area are cut out, smaller
    ones count as tissue.

    Areas are fractions of the thumbnail area, so the same values hold at
    any thumbnail size. On a 25 x 20 mm scan the defaults drop specks below
    about 0.5 mm^2 and keep holes above about 0.1 mm^2 (CLAM's ``a_t=100``
    and ``a_h=16`` reference patches of 512^2 px at 0.25 um/px are 1.6 and
    0.26 mm^2).

    Unlike CLAM (``use_otsu=False``), Otsu's threshold is the default; it
    is floored at ``sthresh`` so that a slide without tissue (white with
    noise) gives an empty mask.

    Args:
        thumbnail: uint8 RGB image of the slide, (H, W, 3).
        sthresh: Saturation threshold (0-255), or Otsu's floor.
        mthresh: Median blur kernel size, odd.
        close: Side of the closing kernel in thumbnail pixels, 0 for none.
        use_otsu: Threshold with Otsu's method (floored at ``sthresh``).
        min_area_fraction: Least tissue-piece area, fraction of H * W.
        min_hole_fraction: Least area of a hole to cut out, fraction of
            H * W.
        max_holes: Most holes cut out per piece (the largest), None for all.

    Returns:
        np.ndarray: bool (H, W), True on tissue.
    """
    if (thumbnail.dtype != np.uint8 or thumbnail.ndim != 3
            or thumbnail.shape[2] != 3):
        raise ValueError('segment_tissue needs a uint8 RGB thumbnail of '
                         f'shape (H, W, 3), got dtype {thumbnail.dtype} and '
                         f'shape {thumbnail.shape}')
    if mthresh < 1 or mthresh % 2 == 0:
        raise ValueError(f'mthresh must be a positive odd kernel size, got '
                         f'{mthresh!r}')
    saturation = cv2.cvtColor(thumbnail, cv2.COLOR_RGB2HSV)[..., 1]
    if mthresh > 1:
        saturation = cv2.medianBlur(saturation, mthresh)
    threshold = sthresh
    if use_otsu:
        otsu, _ = cv2.threshold(saturation, 0, 255,
                                cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        threshold = max(otsu, sthresh)
    binary = (saturation > threshold).astype(np.uint8)
    if close > 0:
        binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE,
                                  np.ones((close, close), np.uint8))
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP,
                                           cv2.CHAIN_APPROX_NONE)
    mask = np.zeros(binary.shape, np.uint8)
    if not contours:
        return mask.astype(bool)
    total = float(binary.size)
    parents = hierarchy[0][:, 3]
    areas = np.array([cv2.contourArea(c) for c in contours])
    pieces = []
    for index in np.flatnonzero(parents == -1):
        holes = np.flatnonzero(parents == index)
        if areas[index] - areas[holes].sum() <= min_area_fraction * total:
            continue
        holes = holes[areas[holes] > min_hole_fraction * total]
        holes = holes[np.argsort(-areas[holes], kind='stable')][:max_holes]
        pieces.append((index, holes))
    # largest outline first, so that a piece lying in another piece's hole
    # is drawn after that hole is cut out
    pieces.sort(key=lambda piece: -areas[piece[0]])
    for index, holes in pieces:
        cv2.drawContours(mask, contours, index, 1, cv2.FILLED)
        for hole in holes:
            cv2.drawContours(mask, contours, hole, 0, cv2.FILLED)
    return mask.astype(bool)

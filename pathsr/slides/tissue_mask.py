"""Tissue segmentation of a slide thumbnail against the measured glass
colour, and an overlay of the mask for checking it."""
from typing import Optional, Sequence

import cv2
import numpy as np

#: Most channel spread (max - min, 0-255) of a pixel that may be glass.
GLASS_MAX_SPREAD = 16
#: Glass is the pixels this close (grey levels) to the brightest glass.
GLASS_BAND = 8
#: Least share of the thumbnail that near-neutral non-white pixels must
#: hold to be taken as glass (else the glass is white).
GLASS_MIN_SHARE = 0.01


def glass_colour(thumbnail: np.ndarray) -> np.ndarray:
    """The RGB colour (3,) float64 of the bare glass of a uint8 RGB
    thumbnail (H, W, 3).

    Glass is near-neutral (channel spread at most ``GLASS_MAX_SPREAD``) and
    the brightest thing on a brightfield slide: the colour is the
    per-channel median of the near-neutral pixels whose grey (channel mean)
    is within ``GLASS_BAND`` of the 99.5th percentile of their grey. Pure
    white (255, 255, 255) is left out, as readers fill the parts of a slide
    that were not scanned with it; when the near-neutral pixels left hold
    less than ``GLASS_MIN_SHARE`` of the thumbnail, the glass is white.
    """
    _check_thumbnail(thumbnail)
    pixels = thumbnail.reshape(-1, 3)
    spread = pixels.max(1).astype(np.int16) - pixels.min(1)
    neutral = pixels[(spread <= GLASS_MAX_SPREAD) & (pixels.min(1) < 255)]
    if len(neutral) < GLASS_MIN_SHARE * len(pixels):
        return np.full(3, 255.0)
    grey = neutral.mean(1)
    brightest = np.percentile(grey, 99.5)
    return np.median(neutral[grey >= brightest - GLASS_BAND], axis=0)


def segment_tissue(thumbnail: np.ndarray,
                   threshold: float = 4,
                   glass: Optional[Sequence[float]] = None,
                   mthresh: int = 3,
                   close: int = 4,
                   dilate: int = 2,
                   min_area_fraction: float = 1e-4,
                   min_hole_fraction: float = 2e-4,
                   max_holes: Optional[int] = 8) -> np.ndarray:
    """Boolean tissue mask (H, W) of a uint8 RGB thumbnail (H, W, 3).

    A pixel's tissue score is how much darker than the glass it is in its
    darkest channel, ``max_c(glass_c - pixel_c)``: stain of any hue absorbs
    in at least one channel, so pale tissue (e.g. (230, 214, 231) on glass
    (242, 241, 239), score 27) scores high where a saturation or grey
    threshold misses it. The score is median-blurred (kernel ``mthresh``),
    thresholded at ``threshold``, closed with a ``close`` x ``close``
    square, and its contours are found with their holes
    (``cv2.RETR_CCOMP``) as in CLAM's ``segmentTissue``: a piece is kept
    when its area less its holes exceeds ``min_area_fraction`` of the
    thumbnail area; of its holes the ``max_holes`` largest above
    ``min_hole_fraction`` are cut out. The mask is finally dilated by
    ``dilate`` pixels, so that tissue edges averaged into a glass-coloured
    thumbnail pixel stay inside.

    Args:
        thumbnail: uint8 RGB image of the slide, (H, W, 3).
        threshold: Least score (grey levels) of tissue.
        glass: RGB glass colour; None measures it with
            :func:`glass_colour`.
        mthresh: Median blur kernel size, odd (1 for none).
        close: Side of the closing kernel in thumbnail pixels, 0 for none.
        dilate: Dilation radius in thumbnail pixels, 0 for none.
        min_area_fraction: Least tissue-piece area, fraction of H * W.
        min_hole_fraction: Least area of a hole to cut out, fraction of
            H * W.
        max_holes: Most holes cut out per piece (the largest), None for all.

    Returns:
        np.ndarray: bool (H, W), True on tissue.
    """
    _check_thumbnail(thumbnail)
    if mthresh < 1 or mthresh % 2 == 0:
        raise ValueError(f'mthresh must be a positive odd kernel size, got '
                         f'{mthresh!r}')
    glass = glass_colour(thumbnail) if glass is None else np.asarray(
        glass, np.float64)
    if glass.shape != (3, ):
        raise ValueError(f'glass must be an RGB colour of 3 values, got '
                         f'{glass.tolist()}')
    darkening = (glass - thumbnail).max(-1)
    score = np.clip(darkening, 0, 255).astype(np.uint8)
    if mthresh > 1:
        score = cv2.medianBlur(score, mthresh)
    binary = (score > threshold).astype(np.uint8)
    if close > 0:
        binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE,
                                  np.ones((close, close), np.uint8))
    mask = filled_pieces(binary, min_area_fraction, min_hole_fraction,
                         max_holes)
    if dilate > 0:
        mask = cv2.dilate(
            mask,
            cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                      (2 * dilate + 1, 2 * dilate + 1)))
    return mask.astype(bool)


def filled_pieces(binary: np.ndarray, min_area_fraction: float,
                  min_hole_fraction: float,
                  max_holes: Optional[int]) -> np.ndarray:
    """uint8 (H, W) 0/1: the pieces of the 0/1 uint8 mask ``binary``
    (H, W) whose area less their holes exceeds ``min_area_fraction`` of
    H * W, filled, with their ``max_holes`` largest holes above
    ``min_hole_fraction`` cut out (see :func:`segment_tissue`)."""
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP,
                                           cv2.CHAIN_APPROX_NONE)
    mask = np.zeros(binary.shape, np.uint8)
    if not contours:
        return mask
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
    return mask


def mask_overlay(thumbnail: np.ndarray, mask: np.ndarray,
                 colour: Sequence[int] = (0, 200, 0),
                 alpha: float = 0.25) -> np.ndarray:
    """The thumbnail (H, W, 3) uint8 with the tissue ``mask`` (H, W)
    tinted with ``colour`` at opacity ``alpha`` and its outline drawn in
    ``colour`` (1 px), for checking the mask by eye."""
    _check_thumbnail(thumbnail)
    if mask.shape != thumbnail.shape[:2]:
        raise ValueError(f'mask of shape {mask.shape} does not match the '
                         f'thumbnail of shape {thumbnail.shape[:2]}')
    tissue = mask.astype(bool)
    overlay = thumbnail.copy()
    tint = np.asarray(colour, np.float64)
    overlay[tissue] = np.round(thumbnail[tissue] * (1 - alpha)
                               + tint * alpha).astype(np.uint8)
    contours, _ = cv2.findContours(tissue.astype(np.uint8), cv2.RETR_CCOMP,
                                   cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(overlay, contours, -1, tuple(int(c) for c in colour), 1)
    return overlay


def _check_thumbnail(thumbnail: np.ndarray) -> None:
    """Raise unless ``thumbnail`` is uint8 (H, W, 3)."""
    if (thumbnail.dtype != np.uint8 or thumbnail.ndim != 3
            or thumbnail.shape[2] != 3):
        raise ValueError('a tissue mask needs a uint8 RGB thumbnail of '
                         f'shape (H, W, 3), got dtype {thumbnail.dtype} and '
                         f'shape {thumbnail.shape}')

"""CLAM-style tissue segmentation of thumbnails."""
import cv2
import numpy as np
import pytest

from pathsr.slides import segment_tissue


def _thumbnail(shapes, size=(300, 400), seed=0):
    """White noisy background with H&E-like textured tissue where ``shapes``
    (a bool mask) is True; (H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    image = 255 - rng.integers(0, 4, size + (3, ))
    texture = np.stack([
        rng.normal(180, 25, size), rng.normal(90, 25, size),
        rng.normal(170, 20, size)
    ], -1)
    image[shapes] = texture[shapes]
    return np.clip(image, 0, 255).astype(np.uint8)


def _truth(size=(300, 400)):
    """A disc with a large hole, a rectangle with a tiny hole, a speck, and
    an island inside the large hole."""
    disc = np.zeros(size, np.uint8)
    cv2.circle(disc, (110, 150), 90, 1, -1)
    hole = np.zeros(size, np.uint8)
    cv2.circle(hole, (110, 150), 40, 1, -1)
    island = np.zeros(size, np.uint8)
    cv2.circle(island, (110, 150), 15, 1, -1)
    rect = np.zeros(size, np.uint8)
    rect[60:240, 240:370] = 1
    small_hole = np.zeros(size, np.uint8)
    small_hole[150:153, 300:303] = 1
    speck = np.zeros(size, np.uint8)
    speck[20:28, 20:28] = 1  # 64 px < 1e-3 of the area
    tissue = ((disc & ~hole) | island | (rect & ~small_hole) | speck) > 0
    return tissue, dict(disc=disc > 0, hole=(hole & ~island) > 0,
                        island=island > 0, rect=rect > 0,
                        small_hole=small_hole > 0, speck=speck > 0)


def test_finds_tissue_cuts_big_holes_drops_specks():
    tissue, parts = _truth()
    mask = segment_tissue(_thumbnail(tissue))
    assert mask.dtype == bool and mask.shape == tissue.shape
    background = ~(parts['disc'] | parts['rect'])
    assert mask[background].mean() < 0.01
    inner = cv2.erode(parts['rect'].astype(np.uint8), np.ones((7, 7))) > 0
    assert mask[inner].all()  # the tiny hole counts as tissue
    disc = cv2.erode(parts['disc'].astype(np.uint8), np.ones((7, 7))) > 0
    ring = disc & ~(cv2.dilate(
        (parts['hole'] | parts['island']).astype(np.uint8),
        np.ones((9, 9))) > 0)
    assert mask[ring].all()
    hole = cv2.erode(parts['hole'].astype(np.uint8), np.ones((7, 7))) > 0
    assert not mask[hole].any()  # the large hole is cut out
    island = cv2.erode(parts['island'].astype(np.uint8), np.ones((5, 5)))
    assert mask[island > 0].all()  # tissue inside a hole is kept
    assert not mask[parts['speck']].any()


def test_area_thresholds_are_fractions_of_the_thumbnail():
    tissue, parts = _truth()
    thumb = _thumbnail(tissue)
    keep_specks = segment_tissue(thumb, min_area_fraction=0)
    assert keep_specks[parts['speck']].any()
    # the same image twice as large gives the same mask, upscaled
    big = cv2.resize(thumb, None, fx=2, fy=2,
                     interpolation=cv2.INTER_NEAREST)
    big_mask = segment_tissue(big, mthresh=13, close=8)
    small = cv2.resize(big_mask.astype(np.uint8), (400, 300),
                       interpolation=cv2.INTER_AREA) > 0.5
    assert (small != segment_tissue(thumb)).mean() < 0.01
    no_holes = segment_tissue(thumb, max_holes=0)
    hole = cv2.erode(parts['hole'].astype(np.uint8), np.ones((7, 7))) > 0
    assert no_holes[hole].all()


def test_empty_slide_gives_empty_mask():
    blank = _thumbnail(np.zeros((300, 400), bool))
    assert not segment_tissue(blank).any()
    assert not segment_tissue(blank, use_otsu=False).any()


def test_fixed_threshold():
    tissue, parts = _truth()
    thumb = _thumbnail(tissue)
    assert (segment_tissue(thumb, use_otsu=False) != segment_tissue(
        thumb)).mean() < 0.01
    assert not segment_tissue(thumb, use_otsu=False, sthresh=254).any()


def test_bad_input():
    with pytest.raises(ValueError, match='uint8 RGB'):
        segment_tissue(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match='uint8 RGB'):
        segment_tissue(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match='odd'):
        segment_tissue(np.zeros((8, 8, 3), np.uint8), mthresh=4)

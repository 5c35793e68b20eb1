"""Tissue masks against the measured glass colour, on generated slides,
pale tissue built from the real demo crops and a real Aperio slide."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from pathsr.slides import (glass_colour, mask_overlay, open_slide,
                           segment_tissue)

ROOT = Path(__file__).resolve().parents[2]
REAL_SLIDE = ROOT / 'demo' / 'real_slide' / 'cmu1_region_10x.tiff'
GLASS = (242, 241, 239)


def _thumbnail(shapes, size=(300, 400), seed=0):
    """Glass-coloured noisy background with H&E-like textured tissue where
    ``shapes`` (a bool mask) is True; (H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    image = np.asarray(GLASS) - rng.integers(0, 3, size + (3, ))
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
    speck[20:23, 20:23] = 1  # 9 px < 1e-4 of the area
    tissue = ((disc & ~hole) | island | (rect & ~small_hole) | speck) > 0
    return tissue, dict(disc=disc > 0, hole=(hole & ~island) > 0,
                        island=island > 0, rect=rect > 0,
                        small_hole=small_hole > 0, speck=speck > 0)


def _grow(mask, pixels):
    return cv2.dilate(mask.astype(np.uint8),
                      np.ones((2 * pixels + 1, ) * 2, np.uint8)) > 0


def _shrink(mask, pixels):
    return cv2.erode(mask.astype(np.uint8),
                     np.ones((2 * pixels + 1, ) * 2, np.uint8)) > 0


def test_score_is_darkening_of_the_darkest_channel():
    # glass (240, 240, 240); darkening 10 in blue only, then 5 everywhere,
    # then brighter than the glass
    image = np.full((20, 30, 3), 240, np.uint8)
    image[5:15, 2:8] = (240, 240, 230)
    image[5:15, 12:18] = (235, 235, 235)
    image[5:15, 22:28] = (250, 250, 250)  # brighter than glass
    mask = segment_tissue(image, threshold=6, glass=(240, 240, 240),
                          mthresh=1, close=0, dilate=0, min_area_fraction=0)
    expected = np.zeros((20, 30), bool)
    expected[5:15, 2:8] = True
    np.testing.assert_array_equal(mask, expected)
    lower = segment_tissue(image, glass=(240, 240, 240), mthresh=1,
                           close=0, dilate=0, min_area_fraction=0)
    expected[5:15, 12:18] = True  # the default threshold is 4
    np.testing.assert_array_equal(lower, expected)
    # dilation by 2 px grows the piece by an elliptical 5 x 5 disc
    grown = segment_tissue(image, threshold=6, glass=(240, 240, 240),
                           mthresh=1, close=0, dilate=2,
                           min_area_fraction=0)
    assert grown[3:17, 2:8].all() and grown[5:15, 0:10].all()
    assert not grown[2, 2] and not grown[5:15, 11].any()


def test_glass_colour():
    tissue, _ = _truth()
    thumb = _thumbnail(tissue)
    # glass is GLASS minus uniform noise 0..2 per channel: median GLASS - 1
    np.testing.assert_allclose(glass_colour(thumb), np.asarray(GLASS) - 1,
                               atol=0.5)
    assert glass_colour(np.zeros((4, 4, 3), np.uint8)).tolist() == [0, 0, 0]
    pink = np.zeros((4, 4, 3), np.uint8)
    pink[...] = (230, 120, 200)  # no near-neutral pixel: white
    assert glass_colour(pink).tolist() == [255, 255, 255]
    # the white fill of an unscanned part is not the glass, nor tissue
    padded = thumb.copy()
    padded[:, :150] = 255
    np.testing.assert_allclose(glass_colour(padded), np.asarray(GLASS) - 1,
                               atol=0.5)
    tissue, parts = _truth()
    mask = segment_tissue(padded)
    assert not mask[:, :140].any()
    assert not mask[~_grow(parts['disc'] | parts['rect'], 3)].any()
    # white background with under 1 % of non-white neutral pixels: white
    white = np.full((100, 100, 3), 255, np.uint8)
    white[:9, :9] = 240
    white[50:, 50:] = (180, 90, 170)
    assert glass_colour(white).tolist() == [255, 255, 255]


def test_finds_tissue_cuts_big_holes_drops_specks():
    tissue, parts = _truth()
    mask = segment_tissue(_thumbnail(tissue))
    assert mask.dtype == bool and mask.shape == tissue.shape
    pieces = tissue & ~parts['speck']
    # only a few pixels of the jagged rim of the large hole are lost
    assert mask[pieces].mean() > 0.999 and mask[_shrink(pieces, 1)].all()
    background = ~_grow(parts['disc'] | parts['rect'], 3)
    assert not mask[background].any()
    assert mask[parts['small_hole']].all()  # a tiny hole counts as tissue
    assert not mask[_shrink(parts['hole'], 4)].any()  # a large one is cut
    assert mask[parts['island']].all()  # tissue inside a hole is kept
    assert not mask[parts['speck']].any()


def test_area_thresholds_are_fractions_of_the_thumbnail():
    tissue, parts = _truth()
    thumb = _thumbnail(tissue)
    keep_specks = segment_tissue(thumb, mthresh=1, min_area_fraction=0)
    assert keep_specks[parts['speck']].all()
    # the same image twice as large gives the same mask, upscaled
    big = cv2.resize(thumb, None, fx=2, fy=2,
                     interpolation=cv2.INTER_NEAREST)
    big_mask = segment_tissue(big, mthresh=5, close=8, dilate=4)
    small = cv2.resize(big_mask.astype(np.uint8), (400, 300),
                       interpolation=cv2.INTER_AREA) > 0.5
    assert (small != segment_tissue(thumb)).mean() < 0.01
    no_holes = segment_tissue(thumb, max_holes=0)
    assert no_holes[parts['hole']].all()


def test_glass_only_stays_background():
    rng = np.random.default_rng(3)
    blank = _thumbnail(np.zeros((300, 400), bool))
    assert not segment_tissue(blank).any()
    # JPEG-compressed glass with a gentle illumination gradient
    glass = np.clip(np.asarray(GLASS) - np.linspace(0, 3, 400)[None, :, None]
                    + rng.normal(0, 1.5, (300, 400, 3)), 0, 255)
    _, data = cv2.imencode('.jpg', glass.astype(np.uint8),
                           [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert not segment_tissue(cv2.imdecode(data, cv2.IMREAD_COLOR)).any()


def _pale_slide(lighten, downsample):
    """The ten real demo crops, lightened ``lighten`` of the way to the
    glass, on noisy glass with 128 px gaps: (thumbnail at ``downsample``,
    level-0 crop area)."""
    crops = sorted((ROOT / 'demo' / 'histo_demo').glob('*/*.png'))
    rng = np.random.default_rng(0)
    shape = (2 * 384 + 128, 5 * 384 + 128)
    canvas = np.asarray(GLASS) + rng.normal(0, 1.5, shape + (3, ))
    area = np.zeros(shape, bool)
    for index, path in enumerate(crops):
        crop = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        y, x = 128 + index // 5 * 384, 128 + index % 5 * 384
        canvas[y:y + 256, x:x + 256] = np.asarray(GLASS) - (1 - lighten) * (
            np.asarray(GLASS, float) - crop)
        area[y:y + 256, x:x + 256] = True
    image = np.clip(np.round(canvas), 0, 255).astype(np.uint8)
    thumb = cv2.resize(image, (shape[1] // downsample,
                               shape[0] // downsample),
                       interpolation=cv2.INTER_AREA)
    return thumb, area


def _level0(mask, shape):
    return cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]),
                      interpolation=cv2.INTER_NEAREST) > 0


@pytest.mark.parametrize('lighten', [0.5, 0.75])
@pytest.mark.parametrize('downsample', [8, 32])
def test_pale_tissue_is_kept(lighten, downsample):
    thumb, area = _pale_slide(lighten, downsample)
    mask = _level0(segment_tissue(thumb), area.shape)
    assert mask[area].mean() >= 0.99
    assert not mask[~_grow(area, 3 * downsample)].any()


@pytest.mark.parametrize('downsample', [4, 16, 32])
def test_real_slide(downsample):
    """The real CMU-1 region: the mask covers >= 0.99 of the pixels
    visibly stained at full resolution (darker than the glass by more than
    20 in a channel after a 5 x 5 median), and bare glass stays
    background."""
    with open_slide(str(REAL_SLIDE)) as slide:
        full = slide.read_region((0, 0), slide.dimensions, mpp=slide.mpp)
        width, height = slide.dimensions
        thumb = slide.read_region(
            (0, 0), (width // downsample, height // downsample),
            mpp=slide.mpp * downsample)
    glass = glass_colour(full)
    # bare glass left of the biopsy: level-0 box x 40..220, y 700..1100
    bare = full[700:1100, 40:220].reshape(-1, 3)
    assert np.abs(glass - np.median(bare, 0)).max() <= 1
    stained = cv2.medianBlur(
        np.clip((glass - full).max(-1), 0, 255).astype(np.uint8), 5) > 20
    assert 0.3 < stained.mean() < 0.45
    mask = _level0(segment_tissue(thumb),
                   (height // downsample * downsample,
                    width // downsample * downsample))
    stained = stained[:mask.shape[0], :mask.shape[1]]
    assert mask[stained].mean() >= 0.99
    assert not mask[700:1100, 40:220].any()


def test_mask_overlay():
    thumb = np.full((6, 8, 3), 200, np.uint8)
    mask = np.zeros((6, 8), bool)
    mask[1:5, 2:7] = True
    overlay = mask_overlay(thumb, mask, colour=(0, 200, 0), alpha=0.25)
    # inside: 200 * 0.75 + (0, 200, 0) * 0.25; outline: the colour
    np.testing.assert_array_equal(overlay[2:4, 3:6],
                                  np.broadcast_to((150, 200, 150), (2, 3, 3)))
    np.testing.assert_array_equal(overlay[1, 2:7],
                                  np.broadcast_to((0, 200, 0), (5, 3)))
    np.testing.assert_array_equal(overlay[~mask], thumb[~mask])
    with pytest.raises(ValueError, match=r'mask of shape \(6, 7\)'):
        mask_overlay(thumb, mask[:, :7])


def test_bad_input():
    with pytest.raises(ValueError, match='uint8 RGB'):
        segment_tissue(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match='uint8 RGB'):
        segment_tissue(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match='odd'):
        segment_tissue(np.zeros((8, 8, 3), np.uint8), mthresh=4)
    with pytest.raises(ValueError, match=r'glass must be an RGB colour'):
        segment_tissue(np.zeros((8, 8, 3), np.uint8), glass=(1, 2))

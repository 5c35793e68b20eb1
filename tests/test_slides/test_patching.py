"""Grid patch coordinates on tissue masks."""
import numpy as np
import pytest

from pathsr.slides import tissue_patch_coords


def _brute_force(mask, ds, patch, stride, min_tissue, size):
    """The definition, patch by patch."""
    width, height = size
    kept = []
    for j in range(int((height - patch) // stride) + 1):
        for i in range(int((width - patch) // stride) + 1):
            x, y = round(i * stride), round(j * stride)
            x0 = min(max(round(x / ds), 0), mask.shape[1] - 1)
            y0 = min(max(round(y / ds), 0), mask.shape[0] - 1)
            x1 = max(min(round((x + patch) / ds), mask.shape[1]), x0 + 1)
            y1 = max(min(round((y + patch) / ds), mask.shape[0]), y0 + 1)
            if mask[y0:y1, x0:x1].mean() >= min_tissue:
                kept.append((x, y))
    return np.array(kept, np.int64).reshape(-1, 2)


def test_rectangle_of_tissue():
    mask = np.zeros((64, 96), bool)  # level 0: 384 x 256 at ds 4
    mask[8:40, 16:48] = True  # level-0 x 64..192, y 32..160
    coords = tissue_patch_coords(mask, 4, 32, 32)
    xs, ys = np.meshgrid([64, 96, 128, 160], [32, 64, 96, 128])
    expected = np.stack([xs.ravel(), ys.ravel()], 1)
    np.testing.assert_array_equal(coords, expected)
    assert coords.dtype == np.int64
    # half-covered patches pass at 0.5 and fail above
    shifted = tissue_patch_coords(mask, 4, 32, 16, min_tissue=0.5)
    assert (48, 32) in set(map(tuple, shifted.tolist()))
    strict = tissue_patch_coords(mask, 4, 32, 16, min_tissue=0.6)
    assert (48, 32) not in set(map(tuple, strict.tolist()))


@pytest.mark.parametrize('ds,patch,stride,min_tissue', [
    (4, 32, 32, 0.5), (8, 64, 48, 0.3), (2.5, 33.3, 20.7, 0.75),
    (16, 8, 8, 1.0), (4, 40, 40, 0.0)
])
def test_matches_the_definition(ds, patch, stride, min_tissue):
    rng = np.random.default_rng(0)
    mask = rng.random((50, 70)) < 0.5
    size = (70 * ds - 3, 50 * ds)
    coords = tissue_patch_coords(mask, ds, patch, stride, min_tissue, size)
    np.testing.assert_array_equal(
        coords, _brute_force(mask, ds, patch, stride, min_tissue, size))
    assert (coords[:, 0] + patch <= size[0] + 0.5).all()
    assert (coords[:, 1] + patch <= size[1] + 0.5).all()


def test_no_patch_fits_or_no_tissue():
    mask = np.ones((4, 4), bool)
    assert tissue_patch_coords(mask, 8, 64, 64).shape == (0, 2)
    assert tissue_patch_coords(~mask, 8, 16, 16).shape == (0, 2)
    assert tissue_patch_coords(mask, 8, 16, 16).shape == (4, 2)


def test_bad_arguments():
    mask = np.ones((4, 4), bool)
    with pytest.raises(ValueError, match='2-D'):
        tissue_patch_coords(mask[None], 8, 16, 16)
    with pytest.raises(ValueError, match='stride_level0'):
        tissue_patch_coords(mask, 8, 16, 0)
    with pytest.raises(ValueError, match='min_tissue'):
        tissue_patch_coords(mask, 8, 16, 16, min_tissue=1.5)

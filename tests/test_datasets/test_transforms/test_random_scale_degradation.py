import numpy as np
import pytest
from PIL import Image, ImageFilter

from pathsr.datasets.transforms import RandomScaleDegradation


def _noise(size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3),
                                                dtype=np.uint8)


def test_lr_has_fixed_size_and_gt_the_drawn_scale():
    np.random.seed(0)
    transform = RandomScaleDegradation(lr_size=12, scale_min=1, scale_max=4)
    scales = []
    for _ in range(50):
        results = transform(dict(gt=_noise(60)))
        scale = results['scale']
        assert 1 <= scale < 4
        assert results['lr'].shape == (12, 12, 3)
        assert results['gt'].shape == (round(12 * scale), ) * 2 + (3, )
        scales.append(scale)
    assert max(scales) - min(scales) > 2  # the draws cover the range


def test_patch_is_a_crop_and_lr_its_blurred_bicubic_downscale():
    np.random.seed(3)
    hr = _noise(64, 1)
    results = RandomScaleDegradation(lr_size=8, scale_min=2, scale_max=3,
                                     blur=True)(dict(gt=hr.copy()))
    patch, scale = results['gt'], results['scale']
    side = patch.shape[0]
    # the patch is a window of the HR image
    found = [(y, x) for y in range(65 - side) for x in range(65 - side)
             if np.array_equal(hr[y:y + side, x:x + side], patch)]
    assert len(found) == 1
    blurred = Image.fromarray(patch).filter(
        ImageFilter.GaussianBlur(radius=(scale - 1) / 2))
    expected = np.asarray(blurred.resize((8, 8), Image.BICUBIC))
    np.testing.assert_array_equal(results['lr'], expected)


def test_image_smaller_than_largest_patch_is_named():
    np.random.seed(0)
    transform = RandomScaleDegradation(lr_size=48, scale_min=3.9,
                                       scale_max=4)
    with pytest.raises(ValueError, match='small.png.*smaller than'):
        transform(dict(gt=_noise(100), gt_path='small.png'))


@pytest.mark.parametrize('low,high', [(0.5, 4), (4, 4), (2, 1), (1, 65)])
def test_bad_scale_range_is_named(low, high):
    with pytest.raises(ValueError, match='scale'):
        RandomScaleDegradation(scale_min=low, scale_max=high)

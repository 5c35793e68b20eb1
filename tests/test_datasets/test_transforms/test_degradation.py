import math

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from PIL import Image, ImageFilter

from pathsr.datasets.transforms import BicubicDegradation, bicubic_resize
from pathsr.registry import TRANSFORMS


def _noise(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3),
                                                np.uint8)


def _pil_bicubic(img: np.ndarray, height: int, width: int) -> np.ndarray:
    return np.asarray(
        Image.fromarray(img).resize((width, height), Image.BICUBIC))


def test_mod_crop_makes_gt_exact_multiple():
    hr = _noise(50, 37)
    results = BicubicDegradation(scale=4)(dict(gt=hr.copy()))
    assert results['lr'].shape == (12, 9, 3)
    assert results['gt'].shape == (48, 36, 3)
    np.testing.assert_array_equal(results['gt'], hr[:48, :36])
    assert results['scale'] == 4.0 and isinstance(results['scale'], float)


@pytest.mark.parametrize('scale,lr_shape,gt_shape', [
    (2.5, (20, 14), (50, 35)),
    (3.2, (15, 11), (48, 35)),
])
def test_non_integer_scale_floors_lr_and_rounds_gt(scale, lr_shape, gt_shape):
    # 50 / 3.2 = 15.6 -> 15, 15 * 3.2 = 48; 37 / 3.2 = 11.6 -> 11,
    # 11 * 3.2 = 35.2 -> 35
    hr = _noise(50, 37)
    results = BicubicDegradation(scale=scale)(dict(gt=hr.copy()))
    assert results['lr'].shape[:2] == lr_shape
    np.testing.assert_array_equal(results['gt'],
                                  hr[:gt_shape[0], :gt_shape[1]])


def test_size_rule_tolerates_float_error():
    # 33 / 1.1 is 29.999999999999996 in floating point but means 30
    assert math.floor(33 / 1.1) == 29
    results = BicubicDegradation(scale=1.1)(dict(gt=_noise(33, 33)))
    assert results['lr'].shape[:2] == (30, 30)
    assert results['gt'].shape[:2] == (33, 33)


def test_lr_is_pillow_bicubic_of_cropped_gt():
    results = BicubicDegradation(scale=3)(dict(gt=_noise(31, 40)))
    np.testing.assert_array_equal(results['lr'],
                                  _pil_bicubic(results['gt'], 10, 13))


@pytest.mark.parametrize('scale', [2, 4])
def test_blur_radius_follows_iste_rule(scale):
    results = BicubicDegradation(
        scale=scale, blur=True)(
            dict(gt=_noise(32, 32)))
    blurred = Image.fromarray(results['gt']).filter(
        ImageFilter.GaussianBlur(radius=(scale - 1) / 2))
    expected = _pil_bicubic(np.asarray(blurred), 32 // scale, 32 // scale)
    np.testing.assert_array_equal(results['lr'], expected)
    sharp = _pil_bicubic(results['gt'], 32 // scale, 32 // scale)
    assert np.abs(sharp.astype(int) - results['lr']).max() > 5


@pytest.mark.parametrize('scale', [2, 3, 4, 2.5])
def test_torch_and_pillow_bicubic_agree(scale):
    hr = _noise(60, 50, seed=7)
    pillow = BicubicDegradation(scale, backend='pillow')(dict(gt=hr.copy()))
    torch = BicubicDegradation(scale, backend='torch')(dict(gt=hr.copy()))
    np.testing.assert_array_equal(pillow['gt'], torch['gt'])
    diff = np.abs(pillow['lr'].astype(int) - torch['lr'])
    # PIL rounds and clips between its two passes, torch only at the end
    assert diff.max() <= 2 and diff.mean() < 0.2


@pytest.mark.parametrize('size', [(96, 120), (53, 71), (48, 60)])
def test_torch_and_pillow_bicubic_agree_when_upscaling(smooth_rgb, size):
    pillow = bicubic_resize(smooth_rgb, size, backend='pillow')
    torch = bicubic_resize(smooth_rgb, size, backend='torch')
    assert pillow.shape == torch.shape == (*size, 3)
    assert np.abs(pillow.astype(int) - torch).max() <= 2


@pytest.mark.parametrize('backend', ['pillow', 'torch'])
@pytest.mark.parametrize('size', [(5, 7), (40, 13)])
def test_bicubic_resize_keeps_constant_image(backend, size):
    img = np.full((20, 26, 3), (137, 0, 255), np.uint8)
    out = bicubic_resize(img, size, backend=backend)
    np.testing.assert_array_equal(out, np.full((*size, 3), (137, 0, 255)))


def test_bicubic_resize_of_gray_matches_its_rgb_channel():
    img = _noise(30, 24)
    for backend in ('pillow', 'torch'):
        gray = bicubic_resize(img[..., 1].copy(), (10, 8), backend=backend)
        assert gray.shape == (10, 8)
        np.testing.assert_array_equal(
            gray,
            bicubic_resize(img, (10, 8), backend=backend)[..., 1])


def test_bicubic_resize_rejects_float_image():
    with pytest.raises(ValueError, match='uint8'):
        bicubic_resize(np.zeros((4, 4, 3), np.float32), (2, 2))


@pytest.mark.parametrize(
    'scale', [1, 0.5, 65, float('inf'),
              float('nan'), True, '4'])
def test_invalid_scale_names_value(scale):
    with pytest.raises(ValueError, match=f'got {scale!r}'):
        BicubicDegradation(scale=scale)


def test_invalid_backend_names_it():
    with pytest.raises(ValueError, match="'cv2'"):
        BicubicDegradation(scale=2, backend='cv2')


def test_image_smaller_than_scale_names_path():
    results = dict(gt=_noise(3, 40), gt_path='tiny.png')
    with pytest.raises(ValueError, match=r'tiny\.png.*3x40'):
        BicubicDegradation(scale=4)(results)


def test_missing_gt_names_key():
    with pytest.raises(KeyError, match=r"'gt'.*\['gt_path'\]"):
        BicubicDegradation(scale=2)(dict(gt_path='a.png'))


def test_build_from_registry():
    init_default_scope('pathsr')
    degradation = TRANSFORMS.build(
        dict(type='BicubicDegradation', scale=4, blur=True, backend='torch'))
    assert repr(degradation) == ("BicubicDegradation(scale=4.0, blur=True, "
                                 "backend='torch')")


def test_scale_comes_from_results_when_transform_has_none():
    hr = _noise(32, 32)
    from_results = BicubicDegradation()(dict(gt=hr.copy(), scale=4))
    explicit = BicubicDegradation(scale=4)(dict(gt=hr.copy()))
    np.testing.assert_array_equal(from_results['lr'], explicit['lr'])
    with pytest.raises(KeyError, match='no scale'):
        BicubicDegradation()(dict(gt=hr.copy()))
    with pytest.raises(ValueError, match=r'x\.png.*got 0\.5'):
        BicubicDegradation()(dict(gt=hr.copy(), scale=0.5, gt_path='x.png'))

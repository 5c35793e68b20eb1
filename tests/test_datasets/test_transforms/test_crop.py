import numpy as np
import pytest
from mmengine.registry import init_default_scope

from pathsr.datasets.transforms import PairedRandomCrop, RandomCrop
from pathsr.registry import TRANSFORMS


def _coordinate_image(height: int, width: int) -> np.ndarray:
    """uint8 (H, W, 3) image whose pixel (y, x) is (y, x, 7)."""
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([yy, xx, np.full_like(yy, 7)], -1).astype(np.uint8)


def test_random_crop_is_same_window_on_all_keys():
    gt = _coordinate_image(20, 30)
    mask = 255 - gt
    np.random.seed(3)
    results = RandomCrop(8, keys=('gt', 'mask'))(dict(gt=gt, mask=mask))
    top, left = results['gt'][0, 0, :2]
    np.testing.assert_array_equal(results['gt'], gt[top:top + 8,
                                                    left:left + 8])
    np.testing.assert_array_equal(results['mask'], 255 - results['gt'])
    assert results['gt'].flags['C_CONTIGUOUS']


def test_random_crop_reaches_every_position_and_follows_seed():
    gt = _coordinate_image(6, 5)
    corners = set()
    for _ in range(300):
        corners.add(tuple(RandomCrop(4)(dict(gt=gt))['gt'][0, 0, :2]))
    # tops 0..2, lefts 0..1
    assert corners == {(top, left) for top in range(3) for left in range(2)}
    np.random.seed(0)
    first = RandomCrop(4)(dict(gt=gt))['gt']
    np.random.seed(0)
    np.testing.assert_array_equal(RandomCrop(4)(dict(gt=gt))['gt'], first)


def test_crop_of_image_size_returns_whole_image():
    gt = _coordinate_image(5, 5)
    np.testing.assert_array_equal(RandomCrop(5)(dict(gt=gt))['gt'], gt)


def test_crop_larger_than_image_names_file():
    results = dict(gt=np.zeros((10, 40, 3), np.uint8), gt_path='slide_1.png')
    with pytest.raises(ValueError, match=r'slide_1\.png.*10x40.*16x16'):
        RandomCrop(16)(results)


def test_random_crop_keys_of_different_size_name_shapes():
    results = dict(
        gt=np.zeros((10, 10, 3), np.uint8),
        lr=np.zeros((5, 5, 3), np.uint8),
        gt_path='a.png')
    with pytest.raises(ValueError, match=r'a\.png.*one size'):
        RandomCrop(4, keys=('gt', 'lr'))(results)


def test_random_crop_missing_key_names_it():
    with pytest.raises(KeyError, match='lr'):
        RandomCrop(4, keys=('gt', 'lr'))(dict(gt=np.zeros((8, 8, 3))))


@pytest.mark.parametrize('size', [0, -3, 2.5, True])
def test_random_crop_size_must_be_positive_int(size):
    with pytest.raises(ValueError, match='crop_size'):
        RandomCrop(size)


@pytest.mark.parametrize('scale', [2, 3, 4])
def test_paired_crop_is_co_located(scale):
    lr = _coordinate_image(20, 30)
    gt = np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
    np.random.seed(scale)
    for _ in range(20):
        results = PairedRandomCrop(4 * scale, scale)(
            dict(gt=gt.copy(), lr=lr.copy()))
        assert results['lr'].shape == (4, 4, 3)
        assert results['gt'].shape == (4 * scale, 4 * scale, 3)
        top, left = results['lr'][0, 0, :2]
        np.testing.assert_array_equal(results['lr'], lr[top:top + 4,
                                                        left:left + 4])
        # the gt patch is the nearest upsampling of the lr patch
        np.testing.assert_array_equal(
            results['gt'],
            np.repeat(np.repeat(results['lr'], scale, 0), scale, 1))


def test_paired_crop_shape_mismatch_names_file_and_shapes():
    results = dict(
        gt=np.zeros((41, 40, 3), np.uint8),
        lr=np.zeros((10, 10, 3), np.uint8),
        gt_path='pair.png')
    with pytest.raises(ValueError, match=r'pair\.png.*\(41, 40\).*\(10, 10\)'):
        PairedRandomCrop(8, 4)(results)


def test_paired_crop_larger_than_image_names_file():
    results = dict(
        gt=np.zeros((8, 40, 3), np.uint8),
        lr=np.zeros((2, 10, 3), np.uint8),
        gt_path='small.png')
    with pytest.raises(ValueError, match=r'small\.png.*8x40.*16x16'):
        PairedRandomCrop(16, 4)(results)


def test_paired_crop_patch_must_be_multiple_of_scale():
    with pytest.raises(ValueError, match='multiple of scale'):
        PairedRandomCrop(10, 4)


def test_build_crops_from_registry():
    init_default_scope('pathsr')
    crop = TRANSFORMS.build(
        dict(type='PairedRandomCrop', gt_patch_size=8, scale=2))
    assert repr(crop) == 'PairedRandomCrop(gt_patch_size=8, scale=2)'
    crop = TRANSFORMS.build(dict(type='RandomCrop', crop_size=8))
    assert repr(crop) == "RandomCrop(crop_size=8, keys=('gt',))"


@pytest.mark.parametrize('scale', [2, 3, 4])
def test_lr_crop_size_gives_a_window_of_lr_size_times_scale(scale):
    gt = np.random.default_rng(0).integers(0, 256, (300, 300, 3), np.uint8)
    results = RandomCrop(lr_crop_size=48)(dict(gt=gt, scale=float(scale)))
    assert results['gt'].shape == (48 * scale, 48 * scale, 3)
    # the window is a piece of the image
    top_left = results['gt'][0, 0]
    assert any((gt == top_left).all(-1).ravel())


def test_lr_crop_size_needs_the_scale_and_excludes_crop_size():
    with pytest.raises(KeyError, match="'scale'"):
        RandomCrop(lr_crop_size=48)(dict(gt=np.zeros((200, 200, 3))))
    with pytest.raises(ValueError, match='exactly one'):
        RandomCrop(96, lr_crop_size=48)
    with pytest.raises(ValueError, match='exactly one'):
        RandomCrop()

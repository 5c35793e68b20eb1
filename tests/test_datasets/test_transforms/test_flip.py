import numpy as np
import pytest
from mmengine.registry import init_default_scope

from pathsr.datasets.transforms import RandomFlipTranspose, bicubic_resize
from pathsr.registry import TRANSFORMS


def _always(**probs) -> RandomFlipTranspose:
    settings = dict(hflip_prob=0., vflip_prob=0., transpose_prob=0.)
    settings.update(probs)
    return RandomFlipTranspose(**settings)


def test_each_operation_matches_numpy():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    np.testing.assert_array_equal(
        _always(hflip_prob=1.)(dict(gt=img))['gt'], img[:, ::-1])
    np.testing.assert_array_equal(
        _always(vflip_prob=1.)(dict(gt=img))['gt'], img[::-1])
    np.testing.assert_array_equal(
        _always(transpose_prob=1.)(dict(gt=img))['gt'], img.transpose(1, 0, 2))
    np.testing.assert_array_equal(_always()(dict(gt=img))['gt'], img)


def test_all_eight_dihedral_transforms_are_drawn():
    img = np.arange(9, dtype=np.uint8).reshape(3, 3, 1)
    expected = set()
    for k in range(4):
        expected.add(np.rot90(img, k).tobytes())
        expected.add(np.rot90(img[:, ::-1], k).tobytes())
    assert len(expected) == 8
    np.random.seed(0)
    seen = {
        RandomFlipTranspose()(dict(gt=img))['gt'].tobytes()
        for _ in range(200)
    }
    assert seen == expected


def test_flip_transpose_same_on_all_keys(smooth_rgb):
    gt = smooth_rgb  # (48, 60, 3)
    lr = bicubic_resize(gt, (12, 15), backend='torch')
    np.random.seed(1)
    for _ in range(16):
        results = RandomFlipTranspose(keys=('gt', 'lr'))(
            dict(gt=gt.copy(), lr=lr.copy()))
        out_gt, out_lr = results['gt'], results['lr']
        assert out_gt.flags['C_CONTIGUOUS'] and out_lr.flags['C_CONTIGUOUS']
        # downscaling the augmented gt gives the augmented lr
        relowered = bicubic_resize(out_gt, out_lr.shape[:2], backend='torch')
        assert np.abs(relowered.astype(int) - out_lr).max() <= 1


def test_invalid_probability_names_it():
    with pytest.raises(ValueError, match='vflip_prob'):
        RandomFlipTranspose(vflip_prob=1.5)


def test_missing_key_names_it():
    with pytest.raises(KeyError, match='lr'):
        RandomFlipTranspose(keys=('gt', 'lr'))(dict(gt=np.zeros((2, 2, 3))))


def test_build_from_registry():
    init_default_scope('pathsr')
    flip = TRANSFORMS.build(dict(type='RandomFlipTranspose', keys=['gt']))
    assert repr(flip) == ("RandomFlipTranspose(keys=('gt',), hflip_prob=0.5, "
                          'vflip_prob=0.5, transpose_prob=0.5)')

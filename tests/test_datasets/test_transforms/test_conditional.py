import numpy as np
import pytest
from mmengine.registry import init_default_scope

from pathsr.datasets.transforms import bicubic_resize
from pathsr.registry import TRANSFORMS

# the MiHATP pipeline: real LR partners when listed, else bicubic LR
PIPELINE = dict(
    type='IfKeyPresent',
    key='lr_path',
    transforms=[
        dict(type='LoadSRImage', key='lr'),
        dict(type='PairedRandomCrop', gt_patch_size=16),
    ],
    else_transforms=[
        dict(type='RandomCrop', crop_size=16, keys=['gt']),
        dict(type='BicubicDegradation'),
    ])


def test_branch_follows_the_key(tmp_path, write_rgb, smooth_rgb):
    init_default_scope('pathsr')
    transform = TRANSFORMS.build(PIPELINE)
    gt = smooth_rgb[:32, :32]
    lr = np.ascontiguousarray(gt[::4, ::4])  # not what bicubic would give
    lr_path = write_rgb(tmp_path / 'lr.png', lr)
    np.random.seed(0)
    paired = transform(dict(gt=gt.copy(), lr_path=lr_path, scale=4))
    # the crop read the scale of the results and kept the pair co-located
    found = [(t, l) for t in range(5) for l in range(5)
             if np.array_equal(paired['lr'], lr[t:t + 4, l:l + 4])]
    assert len(found) == 1
    top, left = found[0]
    np.testing.assert_array_equal(
        paired['gt'], gt[4 * top:4 * top + 16, 4 * left:4 * left + 16])

    synthetic = transform(dict(gt=gt.copy(), scale=4))
    assert synthetic['gt'].shape == (16, 16, 3)
    np.testing.assert_array_equal(
        synthetic['lr'], bicubic_resize(synthetic['gt'], (4, 4)))


def test_none_ends_the_chain():
    calls = []
    transform = TRANSFORMS.build(
        dict(type='IfKeyPresent', key='x',
             transforms=[lambda r: None, lambda r: calls.append(r) or r]))
    assert transform(dict(x=1)) is None and calls == []
    # no else branch: results pass through unchanged
    assert transform(dict(y=2)) == dict(y=2)


def test_paired_crop_scale_from_results_is_checked():
    transform = TRANSFORMS.build(
        dict(type='PairedRandomCrop', gt_patch_size=16))
    results = dict(gt=np.zeros((32, 32, 3)), lr=np.zeros((8, 8, 3)))
    with pytest.raises(KeyError, match='scale'):
        transform(dict(results))
    with pytest.raises(ValueError, match='multiple of scale=3'):
        transform(dict(results, scale=3))

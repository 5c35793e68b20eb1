import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope
from PIL import Image

from pathsr.datasets.transforms import PackSRInputs
from pathsr.structures import SRDataSample


def _noise(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3),
                                                np.uint8)


def test_pack_moves_channels_first_keeping_values():
    lr, gt = _noise(5, 7), _noise(10, 14, seed=1)
    packed = PackSRInputs()(dict(lr=lr, gt=gt, scale=2.0))
    inputs, sample = packed['inputs'], packed['data_samples']
    assert isinstance(sample, SRDataSample)
    assert inputs.dtype == torch.uint8 and inputs.shape == (3, 5, 7)
    assert inputs.is_contiguous() and sample.gt_img.is_contiguous()
    # inputs[c, y, x] == lr[y, x, c]
    assert inputs[2, 4, 6] == lr[4, 6, 2] and inputs[0, 1, 3] == lr[1, 3, 0]
    np.testing.assert_array_equal(inputs.numpy(), lr.transpose(2, 0, 1))
    assert sample.gt_img.dtype == torch.uint8
    np.testing.assert_array_equal(sample.gt_img.numpy(), gt.transpose(2, 0, 1))


def test_metainfo_holds_paths_shapes_scale_and_index():
    results = dict(
        lr=_noise(5, 7),
        gt=_noise(20, 28),
        scale=4,
        gt_path='hr/a.png',
        lr_path='lr/a.png',
        sample_idx=3,
        gt_ori_shape=(21, 30))
    sample = PackSRInputs()(results)['data_samples']
    assert sample.metainfo == dict(
        gt_path='hr/a.png',
        lr_path='lr/a.png',
        sample_idx=3,
        scale=4.0,
        lr_shape=(5, 7),
        out_shape=(20, 28))
    assert isinstance(sample.scale, float)


def test_out_shape_without_gt_follows_scale():
    packed = PackSRInputs()(dict(lr=_noise(10, 7), scale=3.2))
    sample = packed['data_samples']
    # 10 * 3.2 = 32, 7 * 3.2 = 22.4 -> 22
    assert sample.out_shape == (32, 22)
    assert 'gt_img' not in sample
    assert 'gt_path' not in sample.metainfo


def test_scale_is_inferred_from_gt_when_absent():
    sample = PackSRInputs()(dict(lr=_noise(4, 5),
                                 gt=_noise(12, 15)))['data_samples']
    assert sample.scale == 3.0


def test_missing_lr_names_missing_key_and_present_keys():
    with pytest.raises(KeyError, match=r"'lr'.*\['gt', 'gt_path'\]"):
        PackSRInputs()(dict(gt=_noise(4, 4), gt_path='a.png'))


def test_missing_scale_without_gt_names_it():
    with pytest.raises(KeyError, match='scale'):
        PackSRInputs()(dict(lr=_noise(4, 4)))


def test_non_uint8_image_names_key():
    with pytest.raises(ValueError, match="'gt'.*float32"):
        PackSRInputs()(
            dict(lr=_noise(4, 4), gt=np.zeros((8, 8, 3), np.float32)))


def test_end_to_end_pipeline_from_file(tmp_path, write_rgb):
    init_default_scope('pathsr')
    hr = _noise(50, 43, seed=5)
    path = write_rgb(tmp_path / 'tile.png', hr)
    pipeline = Compose([
        dict(type='LoadSRImage', key='gt'),
        dict(type='BicubicDegradation', scale=4),
        dict(type='PackSRInputs'),
    ])
    packed = pipeline(dict(gt_path=path, sample_idx=0))
    gt = hr[:48, :40]
    lr = np.asarray(Image.fromarray(gt).resize((10, 12), Image.BICUBIC))
    np.testing.assert_array_equal(packed['inputs'].numpy(),
                                  lr.transpose(2, 0, 1))
    np.testing.assert_array_equal(packed['data_samples'].gt_img.numpy(),
                                  gt.transpose(2, 0, 1))
    assert packed['data_samples'].metainfo == dict(
        gt_path=path,
        sample_idx=0,
        scale=4.0,
        lr_shape=(12, 10),
        out_shape=(48, 40))


def test_end_to_end_paired_pipeline_with_augmentation(tmp_path, write_rgb):
    init_default_scope('pathsr')
    lr = _noise(12, 10, seed=6)
    hr = np.repeat(np.repeat(lr, 2, axis=0), 2, axis=1)
    gt_path = write_rgb(tmp_path / 'hr.png', hr)
    lr_path = write_rgb(tmp_path / 'lr.bmp', lr)
    pipeline = Compose([
        dict(type='LoadSRImage', key='gt'),
        dict(type='LoadSRImage', key='lr'),
        dict(type='PairedRandomCrop', gt_patch_size=8, scale=2),
        dict(type='RandomFlipTranspose', keys=('gt', 'lr')),
        dict(type='PackSRInputs'),
    ])
    np.random.seed(0)
    for _ in range(5):
        packed = pipeline(dict(gt_path=gt_path, lr_path=lr_path))
        inputs = packed['inputs']
        gt_img = packed['data_samples'].gt_img
        assert inputs.shape == (3, 4, 4) and gt_img.shape == (3, 8, 8)
        # the gt patch is still the nearest upsampling of the lr patch
        assert torch.equal(
            gt_img,
            inputs.repeat_interleave(2, 1).repeat_interleave(2, 2))
        assert packed['data_samples'].scale == 2.0
        assert packed['data_samples'].lr_path == lr_path

import pytest
import torch

from pathsr.models.data_preprocessors import SRDataPreprocessor
from pathsr.structures import SRDataSample


def test_normalise_and_destruct_are_inverse():
    pre = SRDataPreprocessor(mean=(0.5, 0.4, 0.3), std=(0.5, 0.25, 1.0))
    lr = torch.tensor([[[255]], [[0]], [[51]]], dtype=torch.uint8)
    out = pre(dict(inputs=[lr]))['inputs']
    expected = torch.tensor([(1 - 0.5) / 0.5, (0 - 0.4) / 0.25, 0.2 - 0.3])
    assert torch.allclose(out[0, :, 0, 0], expected)
    assert torch.allclose(pre.destruct(out), lr[None].float() / 255)


def test_destruct_clamps_to_unit_range():
    pre = SRDataPreprocessor(mean=(0.5, ) * 3, std=(0.5, ) * 3)
    x = torch.tensor([-3.0, 0.0, 3.0]).view(1, 3, 1, 1)
    assert pre.destruct(x).flatten().tolist() == [0.0, 0.5, 1.0]


def test_reflect_padding_to_divisor_mirrors_the_border():
    pre = SRDataPreprocessor(pad_size_divisor=8)
    img = torch.arange(3 * 5 * 6, dtype=torch.uint8).view(3, 5, 6)
    out = pre(dict(inputs=[img]))['inputs'][0] * 255
    assert out.shape == (3, 8, 8)
    assert torch.allclose(out[:, :5, :6], img.float())
    # row 5 mirrors row 3, column 6 mirrors column 4
    assert torch.allclose(out[:, 5, :6], img[:, 3].float())
    assert torch.allclose(out[:, :5, 6], img[:, :, 4].float())


def test_reflect_padding_larger_than_image_repeats_mirroring():
    pre = SRDataPreprocessor(pad_size_divisor=16)
    img = torch.tensor([10, 20, 30], dtype=torch.uint8).view(1, 1, 3)
    img = img.expand(3, 3, 3).contiguous()
    out = pre(dict(inputs=[img]))['inputs'][0, 0, 0] * 255
    assert out.round().tolist()[:9] == [10, 20, 30, 20, 10, 20, 30, 20, 10]
    assert out.shape == (16, )


def test_batch_of_different_sizes_is_padded_to_largest():
    pre = SRDataPreprocessor(pad_mode='constant')
    a = torch.full((3, 4, 4), 255, dtype=torch.uint8)
    b = torch.full((3, 2, 6), 255, dtype=torch.uint8)
    out = pre(dict(inputs=[a, b]))['inputs']
    assert out.shape == (2, 3, 4, 6)
    assert out[1, :, 2:].abs().sum() == 0 and out[1, :, :2].min() == 1


def test_gt_is_converted_to_unit_float():
    pre = SRDataPreprocessor()
    sample = SRDataSample(gt_img=torch.full((3, 2, 2), 255, dtype=torch.uint8))
    out = pre(dict(inputs=[torch.zeros(3, 1, 1, dtype=torch.uint8)],
                   data_samples=[sample]))
    assert out['data_samples'][0].gt_img.dtype == torch.float32
    assert torch.all(out['data_samples'][0].gt_img == 1)


def test_wrong_channel_count_is_named():
    pre = SRDataPreprocessor()
    with pytest.raises(ValueError, match=r'\(4, 3, 3\)'):
        pre(dict(inputs=[torch.zeros(4, 3, 3, dtype=torch.uint8)]))


def test_bad_pad_mode_is_named():
    with pytest.raises(ValueError, match='circular'):
        SRDataPreprocessor(pad_mode='circular')


def test_inplace_destruct_equals_destruct_and_reuses_memory():
    pre = SRDataPreprocessor(mean=(0.5, ) * 3, std=(0.5, ) * 3)
    x = torch.randn(1, 3, 4, 5) * 2
    expected = pre.destruct(x)
    y = x.clone()
    out = pre.destruct(y, inplace=True)
    assert out.data_ptr() == y.data_ptr()
    assert torch.equal(out, expected)

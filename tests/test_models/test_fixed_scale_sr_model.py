import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from pathsr.models import FixedScaleSRModel
from pathsr.registry import MODELS
from pathsr.structures import SRDataSample


def _batch(lr_sizes, scale):
    inputs, samples = [], []
    for i, (h, w) in enumerate(lr_sizes):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8))
        gt = torch.randint(0, 256, (3, h * scale, w * scale),
                           dtype=torch.uint8)
        samples.append(
            SRDataSample(
                gt_img=gt,
                metainfo=dict(gt_path=f'img{i}.png', scale=float(scale),
                              out_shape=(h * scale, w * scale))))
    return dict(inputs=inputs, data_samples=samples)


def test_build_from_config_dicts():
    init_default_scope('pathsr')
    model = MODELS.build(
        dict(type='FixedScaleSRModel',
             generator=dict(type='EDSR', arch=None, num_blocks=1,
                            mid_channels=8, res_scale=1.0, upscale_factor=2),
             pixel_loss=dict(type='L1Loss', loss_weight=2.0),
             data_preprocessor=dict(type='SRDataPreprocessor',
                                    mean=(0.5, ) * 3, std=(0.5, ) * 3)))
    assert type(model.generator).__name__ == 'EDSR'
    assert model.pixel_loss.loss_weight == 2.0


def test_loss_is_l1_between_output_and_normalised_gt():
    model = FixedScaleSRModel(
        generator=dict(type='Bicubic', upscale_factor=2),
        pixel_loss=dict(type='L1Loss'),
        data_preprocessor=dict(type='SRDataPreprocessor', mean=(0.5, ) * 3,
                               std=(0.5, ) * 3))
    data = model.data_preprocessor(_batch([(6, 8), (6, 8)], 2), True)
    loss = model(**data, mode='loss')['loss']
    gt = torch.stack([s.gt_img for s in data['data_samples']])
    pred = F.interpolate(data['inputs'], scale_factor=2, mode='bicubic',
                         antialias=True)
    assert loss.item() == pytest.approx(
        (pred - (gt - 0.5) / 0.5).abs().mean().item(), rel=1e-6)


def test_predict_crops_padding_per_sample_and_returns_unit_range():
    model = FixedScaleSRModel(
        generator=dict(type='Bicubic', upscale_factor=2),
        data_preprocessor=dict(type='SRDataPreprocessor', pad_size_divisor=8))
    batch = _batch([(5, 7), (6, 3)], 2)
    lrs = [img.clone() for img in batch['inputs']]
    data = model.data_preprocessor(batch, False)
    assert data['inputs'].shape == (2, 3, 8, 8)
    out = model(**data, mode='predict')
    assert out[0].pred_img.shape == (3, 10, 14)
    assert out[1].pred_img.shape == (3, 12, 6)
    for sample, lr in zip(out, lrs):
        assert 0 <= sample.pred_img.min() and sample.pred_img.max() <= 1
        # two LR pixels away from the padded bottom/right border (the
        # bicubic support), the prediction is plain bicubic
        direct = F.interpolate(lr[None].float() / 255, scale_factor=2,
                               mode='bicubic', antialias=True)[0].clamp(0, 1)
        h, w = 2 * (lr.shape[1] - 2), 2 * (lr.shape[2] - 2)
        assert torch.allclose(sample.pred_img[:, :h, :w], direct[:, :h, :w],
                              atol=1e-5)


def test_tensor_mode_returns_raw_output():
    model = FixedScaleSRModel(generator=dict(type='Bicubic', upscale_factor=3))
    x = torch.rand(1, 3, 4, 4)
    assert model(x, mode='tensor').shape == (1, 3, 12, 12)


def test_model_without_loss_refuses_training():
    model = FixedScaleSRModel(generator=dict(type='Bicubic', upscale_factor=2))
    data = model.data_preprocessor(_batch([(4, 4)], 2), True)
    with pytest.raises(RuntimeError, match='Bicubic has no pixel_loss'):
        model(**data, mode='loss')


def test_scale_mismatch_between_network_and_data_is_named():
    model = FixedScaleSRModel(generator=dict(type='Bicubic', upscale_factor=2),
                        pixel_loss=dict(type='L1Loss'))
    data = model.data_preprocessor(_batch([(4, 4)], 4), True)
    with pytest.raises(ValueError, match='scale of the network'):
        model(**data, mode='loss')
    data = model.data_preprocessor(_batch([(4, 4)], 4), False)
    with pytest.raises(ValueError, match='img0.png'):
        model(**data, mode='predict')


def test_unknown_mode_is_named():
    model = FixedScaleSRModel(generator=dict(type='Bicubic'))
    with pytest.raises(ValueError, match='infer'):
        model(torch.zeros(1, 3, 2, 2), mode='infer')

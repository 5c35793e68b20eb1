import math

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

from pathsr.evaluation import PSNR
from pathsr.registry import METRICS
from pathsr.structures import SRDataSample

# torchmetrics converts the float64 MSE to dB with float32 constants
# (log(10), log(data_range)): values agree to ~1e-8 relative.
REL = 1e-7


def _sample(pred, gt, path='img.png'):
    return dict(pred_img=pred, gt_img=gt, gt_path=path)


def _psnr(metric, pred, gt):
    metric.process({}, [_sample(pred, gt)])
    return metric.compute_metrics(metric.results)['PSNR']


def test_constant_offset_matches_hand_computation():
    gt = torch.rand(3, 16, 20, dtype=torch.float64) * 0.8
    for d in (0.1, 0.05, 0.01):
        assert _psnr(PSNR(), gt + d, gt) == pytest.approx(
            -10 * math.log10(d**2), rel=REL)


def test_built_from_registry_and_crop_border_ignores_border_error():
    init_default_scope('pathsr')
    metric = METRICS.build(dict(type='PSNR', crop_border=2))
    assert isinstance(metric, PSNR) and metric.crop_border == 2
    gt = torch.rand(3, 12, 12)
    pred = gt.clone()
    pred[:, :2] = 1 - pred[:, :2]
    pred[:, :, -2:] = 0.0
    assert _psnr(PSNR(), pred, gt) < 20
    # the error lives only in the 2-pixel border: identical after cropping
    assert _psnr(metric, pred, gt) == PSNR.max_psnr


def test_identical_images_capped_at_100():
    gt = torch.rand(3, 8, 8)
    assert _psnr(PSNR(), gt.clone(), gt) == 100.0


def test_y_channel_of_known_colours():
    black = torch.zeros(3, 8, 8, dtype=torch.float64)
    red = black.clone()
    red[0] = 1
    white = torch.ones(3, 8, 8, dtype=torch.float64)
    # Y(red) - Y(black) = 65.481 / 255, Y(white) - Y(black) = 219 / 255
    assert _psnr(PSNR(convert_to='Y'), red, black) == pytest.approx(
        -20 * math.log10(65.481 / 255), rel=REL)
    assert _psnr(PSNR(convert_to='Y'), white, black) == pytest.approx(
        -20 * math.log10(219 / 255), rel=REL)
    # on RGB only one of three channels differs by 1: MSE = 1/3
    assert _psnr(PSNR(), red, black) == pytest.approx(
        10 * math.log10(3), rel=REL)


def test_y_channel_is_invariant_to_chroma_preserving_luma():
    gt = torch.full((3, 8, 8), 0.5, dtype=torch.float64)
    # moves R and B so that 65.481 dR + 24.966 dB = 0 (no luma change)
    pred = gt.clone()
    pred[0] += 0.1 * 24.966 / 65.481
    pred[2] -= 0.1
    assert _psnr(PSNR(convert_to='Y'), pred, gt) == 100.0


def test_quantize_rounds_to_8bit_levels():
    gt = torch.randint(0, 255, (3, 10, 10)).double() / 255
    pred = gt + 0.4 / 255
    assert _psnr(PSNR(), pred, gt) == pytest.approx(
        -20 * math.log10(0.4 / 255), rel=REL)
    assert _psnr(PSNR(quantize=True), pred, gt) == 100.0
    pred = gt + 0.6 / 255  # rounds one level up
    assert _psnr(PSNR(quantize=True), pred, gt) == pytest.approx(
        -20 * math.log10(1 / 255), rel=REL)


def test_mean_and_per_image_results():
    metric = PSNR()
    gt = torch.rand(3, 8, 8, dtype=torch.float64) * 0.5
    metric.process({}, [_sample(gt + 0.1, gt, 'a/x.png')])
    metric.process({}, [_sample(gt + 0.01, gt, 'a/y.png')])
    result = metric.evaluate(2)
    assert result == {'PSNR': pytest.approx((20 + 40) / 2)}
    assert [r['img_path']
            for r in metric.per_image_results] == ['a/x.png', 'a/y.png']
    assert [r['value']
            for r in metric.per_image_results] == pytest.approx([20, 40])


def test_evaluator_with_sr_data_samples_and_prefix():
    init_default_scope('pathsr')
    evaluator = Evaluator(
        [dict(type='PSNR'),
         dict(type='PSNR', convert_to='Y', prefix='Y')])
    gt = torch.rand(3, 8, 8, dtype=torch.float64) * 0.5
    sample = SRDataSample(metainfo=dict(gt_path='x.png', scale=2))
    sample.gt_img = gt
    sample.pred_img = gt + 0.1
    evaluator.process([sample], dict(inputs=[], data_samples=[sample]))
    result = evaluator.evaluate(1)
    assert result['PSNR'] == pytest.approx(20)
    # Y = gray offset 0.1 * (65.481 + 128.553 + 24.966) / 255
    assert result['Y/PSNR'] == pytest.approx(-20 * math.log10(0.1 * 219 / 255))


def test_errors():
    with pytest.raises(ValueError, match="'YCbCr'"):
        PSNR(convert_to='YCbCr')
    with pytest.raises(ValueError, match='crop_border'):
        PSNR(crop_border=-1)
    gt = torch.rand(3, 8, 8)
    with pytest.raises(ValueError, match=r'b\.png.*\(3, 8, 9\).*\(3, 8, 8\)'):
        PSNR().process({}, [_sample(torch.rand(3, 8, 9), gt, 'b.png')])
    with pytest.raises(ValueError, match='crop_border=4'):
        PSNR(crop_border=4).process({}, [_sample(gt, gt)])
    with pytest.raises(ValueError, match=r'range \[0, 1\]'):
        PSNR().process({}, [_sample(gt * 255, gt)])
    with pytest.raises(TypeError, match='float'):
        PSNR().process({}, [_sample(gt.to(torch.uint8), gt)])
    with pytest.raises(ValueError, match=r'\(3, H, W\)'):
        PSNR().process({}, [_sample(gt[None], gt[None])])
    with pytest.raises(KeyError, match='gt_img'):
        PSNR().process({}, [dict(pred_img=gt, gt_path='x.png')])
    with pytest.raises(ValueError, match='no image'):
        PSNR().compute_metrics([])


def test_crop_border_scale_removes_ceil_scale_pixels_per_sample():
    gt = torch.full((3, 20, 20), 0.5, dtype=torch.float64)
    pred = gt.clone()
    pred[:, :3] += 0.2  # error confined to the top 3 rows
    pred[:, 3, :] += 0.1  # and one row that x3 keeps, x4 crops
    metric = PSNR(crop_border='scale')
    metric.process({}, [dict(_sample(pred, gt, 'a.png'), scale=3.0),
                        dict(_sample(pred, gt, 'b.png'), scale=3.5)])
    metric.compute_metrics(metric.results)
    values = [r['value'] for r in metric.per_image_results]
    # x3: 14 x 14 kept, one row of 14 pixels off by 0.1
    expected = -10 * math.log10(14 * 0.01 / (14 * 14))
    assert values[0] == pytest.approx(expected, rel=REL)
    assert values[1] == 100.0  # x3.5 -> 4 px cropped: identical, capped
    with pytest.raises(KeyError, match="a.png.*'scale'"):
        PSNR(crop_border='scale').process({}, [_sample(pred, gt, 'a.png')])
    with pytest.raises(ValueError, match="'scale'"):
        PSNR(crop_border='half')


def test_crop_border_scale_plus_offset_follows_iste_protocol():
    gt = torch.full((3, 30, 30), 0.5, dtype=torch.float64)
    pred = gt.clone()
    pred[:, 8] += 0.1  # row 8: kept by x2 + 6 = 8, cropped by x3 + 6 = 9
    values = []
    for scale in (2.0, 3.0):
        metric = PSNR(crop_border='scale+6')
        metric.process({}, [dict(_sample(pred, gt), scale=scale)])
        values.append(metric.compute_metrics(metric.results)['PSNR'])
    assert values[0] == pytest.approx(-10 * math.log10(0.01 / 14), rel=REL)
    assert values[1] == 100.0

"""CIEDE2000: sRGB -> Lab, the Delta E00 formula and the metric.

Reference values: the 34 test pairs of Sharma, Wu & Dalal (Color Res. Appl.
30(1), 2005, Table 1), given to 4 decimals; sRGB primaries in CIELAB (D65).
"""
import math

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from pathsr.evaluation.metrics import CIEDE2000
from pathsr.evaluation.metrics.color_difference import (ciede2000,
                                                        delta_e_to_lr,
                                                        downscale,
                                                        srgb_to_lab)
from pathsr.registry import METRICS

# L1, a1, b1, L2, a2, b2, Delta E00
SHARMA_PAIRS = [
    (50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425),
    (50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615),
    (50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412),
    (50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669),
    (50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461),
    (50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065),
    (50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492),
    (50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977),
    (50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030),
    (50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000),
    (60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644),
    (63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630),
    (61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731),
    (35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645),
    (22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373),
    (36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146),
    (90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441),
    (90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381),
    (6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377),
    (2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082),
]


def _lab(values: torch.Tensor) -> torch.Tensor:
    return values.reshape(-1, 3, 1, 1)


def test_sharma_wu_dalal_pairs():
    pairs = torch.tensor(SHARMA_PAIRS, dtype=torch.float64)
    lab1, lab2 = _lab(pairs[:, :3]), _lab(pairs[:, 3:6])
    expected = pairs[:, 6].numpy()
    np.testing.assert_allclose(
        ciede2000(lab1, lab2)[:, 0, 0].numpy(), expected, atol=5e-5)
    # the formula is symmetric, also in the hue-mean edge cases (7-16)
    np.testing.assert_allclose(
        ciede2000(lab2, lab1)[:, 0, 0].numpy(), expected, atol=5e-5)
    assert ciede2000(lab1, lab1).abs().max().item() == 0


@pytest.mark.parametrize('rgb, lab', [
    ((1, 1, 1), (100, 0, 0)),
    ((0, 0, 0), (0, 0, 0)),
    ((1, 0, 0), (53.2408, 80.0925, 67.2032)),
    ((0, 1, 0), (87.7347, -86.1827, 83.1793)),
    ((0, 0, 1), (32.2970, 79.1875, -107.8602)),
])
def test_srgb_to_lab_of_known_colours(rgb, lab):
    img = torch.tensor(rgb, dtype=torch.float64).view(3, 1, 1)
    np.testing.assert_allclose(
        srgb_to_lab(img).flatten().numpy(), lab, atol=1e-4)


def test_grey_levels_are_neutral_and_batched_shapes_kept():
    grey = torch.linspace(0, 1, 11, dtype=torch.float64).view(1, 1, 11)
    lab = srgb_to_lab(grey.expand(2, 3, 4, 11))
    assert lab.shape == (2, 3, 4, 11)
    assert lab[:, 1:].abs().max().item() < 1e-9
    assert torch.all(lab[0, 0, 0, 1:] > lab[0, 0, 0, :-1])


def test_matches_skimage_when_installed():
    skcolor = pytest.importorskip('skimage.color')
    rng = np.random.default_rng(0)
    rgb1, rgb2 = rng.random((2, 16, 16, 3))
    lab1 = srgb_to_lab(torch.from_numpy(rgb1).permute(2, 0, 1))
    lab2 = srgb_to_lab(torch.from_numpy(rgb2).permute(2, 0, 1))
    np.testing.assert_allclose(
        lab1.permute(1, 2, 0).numpy(), skcolor.rgb2lab(rgb1), atol=1e-3)
    np.testing.assert_allclose(
        ciede2000(lab1, lab2).numpy(),
        skcolor.deltaE_ciede2000(skcolor.rgb2lab(rgb1),
                                 skcolor.rgb2lab(rgb2)),
        atol=1e-3)


def _textured(size=48, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([0.75 + 0.1 * np.sin(6 * xx), 0.45 + 0.1 * np.cos(5 * yy),
                     0.7 + 0.05 * np.sin(4 * (xx + yy))], 0)
    return torch.from_numpy(np.clip(
        base + 0.05 * rng.standard_normal(base.shape), 0, 1))


def _lr_of(img, scale):
    height, width = img.shape[-2:]
    size = (math.floor(height / scale), math.floor(width / scale))
    return torch.round(downscale(img, size) * 255).to(torch.uint8)


def _evaluate(metric, pred, gt, lr, scale=2.0):
    sample = dict(pred_img=pred, gt_img=gt, gt_path='img.png', scale=scale,
                  lr_shape=tuple(lr.shape[-2:]))
    metric.process(dict(inputs=[lr]), [sample])
    return metric.compute_metrics(metric.results)


def test_metric_of_uniform_images_is_the_pixel_difference():
    gt = torch.tensor([0.8, 0.5, 0.7], dtype=torch.float64).view(3, 1, 1)
    pred = torch.tensor([0.7, 0.5, 0.8], dtype=torch.float64).view(3, 1, 1)
    expected = ciede2000(srgb_to_lab(pred), srgb_to_lab(gt)).item()
    metric = CIEDE2000(with_lr=False)
    metric.process(None, [
        dict(pred_img=pred.expand(3, 8, 8), gt_img=gt.expand(3, 8, 8),
             gt_path='a.png')
    ])
    result = metric.compute_metrics(metric.results)
    assert result == {'CIEDE2000': pytest.approx(expected, rel=1e-12)}
    assert expected > 5


def test_metric_perfect_sr_and_colour_cast():
    init_default_scope('pathsr')
    metric = METRICS.build(dict(type='CIEDE2000', crop_border='scale+2'))
    gt = _textured()
    lr = _lr_of(gt, 2)
    result = _evaluate(metric, gt.clone(), gt, lr)
    assert result['CIEDE2000'] == 0
    # the LR was rounded to 8 bits: the downscaled GT is within rounding
    assert result['CIEDE2000_LR'] < 0.2
    cast = (gt + gt.new_tensor([0.06, 0, -0.04]).view(3, 1, 1)).clamp(0, 1)
    metric = CIEDE2000(crop_border='scale+2')
    cast_result = _evaluate(metric, cast, gt, lr)
    assert cast_result['CIEDE2000'] > 3
    assert cast_result['CIEDE2000_LR'] > 3
    assert metric.per_image_results[0]['img_path'] == 'img.png'
    assert set(metric.per_image_results[0]) == {'img_path', 'value',
                                                 'value_lr'}


def test_metric_crop_border_ignores_border_error():
    gt = _textured(40)
    lr = _lr_of(gt, 4)
    pred = gt.clone()
    pred[:, :2] = 1 - pred[:, :2]
    assert _evaluate(CIEDE2000(with_lr=False), pred, gt, lr)['CIEDE2000'] > 1
    assert _evaluate(CIEDE2000(crop_border=2, with_lr=False), pred, gt,
                     lr)['CIEDE2000'] == 0


def test_metric_needs_the_lr_inputs():
    gt = _textured(16)
    metric = CIEDE2000()
    with pytest.raises(KeyError, match='with_lr=False'):
        metric.process(dict(), [dict(pred_img=gt, gt_img=gt, gt_path='a')])
    with pytest.raises(ValueError, match="'scale'"):
        CIEDE2000(crop_border='scale-1')


def test_delta_e_to_lr_accepts_arrays_and_tensors():
    gt = _textured(64)
    lr = _lr_of(gt, 4)
    sr_array = np.round(gt.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    lr_array = lr.permute(1, 2, 0).numpy()
    from_array = delta_e_to_lr(sr_array, lr_array)
    from_tensor = delta_e_to_lr(gt, lr, border=1)
    assert from_array < 0.3 and from_tensor < 0.3
    with pytest.raises(ValueError, match='smaller'):
        delta_e_to_lr(lr_array, sr_array)
    with pytest.raises(ValueError, match='uint8'):
        delta_e_to_lr(sr_array.astype(np.float32), lr_array)

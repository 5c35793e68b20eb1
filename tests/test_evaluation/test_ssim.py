import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from numpy.lib.stride_tricks import sliding_window_view

from pathsr.evaluation import SSIM
from pathsr.registry import METRICS

C1, C2 = 0.01**2, 0.03**2


def _ssim(metric, pred, gt):
    metric.process({}, [dict(pred_img=pred, gt_img=gt, gt_path='x.png')])
    return metric.compute_metrics(metric.results)['SSIM']


def _reference_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of (C, H, W) arrays: 11x11 Gaussian (sigma 1.5) window at every
    position where it fits inside the image, mean over positions and
    channels."""
    t = np.arange(11) - 5.0
    g = np.exp(-t**2 / (2 * 1.5**2))
    g /= g.sum()
    kernel = np.outer(g, g)

    def filt(img):
        windows = sliding_window_view(img, (11, 11), axis=(1, 2))
        return np.einsum('chwij,ij->chw', windows, kernel)

    mx, my = filt(x), filt(y)
    vx, vy = filt(x * x) - mx**2, filt(y * y) - my**2
    cov = filt(x * y) - mx * my
    ssim_map = ((2 * mx * my + C1) * (2 * cov + C2) / ((mx**2 + my**2 + C1) *
                                                       (vx + vy + C2)))
    return float(ssim_map.mean())


def test_identical_is_one_and_symmetric():
    init_default_scope('pathsr')
    metric = METRICS.build(dict(type='SSIM'))
    x = torch.rand(3, 24, 20)
    y = (x + 0.1 * torch.randn(3, 24, 20)).clamp(0, 1)
    assert _ssim(metric, x, x.clone()) == pytest.approx(1.0, abs=1e-12)
    assert _ssim(SSIM(), x, y) == pytest.approx(_ssim(SSIM(), y, x), abs=1e-12)
    assert _ssim(SSIM(), x, y) < 0.99


@pytest.mark.parametrize('a,b', [(0.2, 0.5), (0.9, 0.1), (0.0, 0.3)])
def test_constant_images_match_luminance_formula(a, b):
    x = torch.full((3, 16, 16), a, dtype=torch.float64)
    y = torch.full((3, 16, 16), b, dtype=torch.float64)
    expected = (2 * a * b + C1) / (a * a + b * b + C1)
    assert _ssim(SSIM(), x, y) == pytest.approx(expected, abs=1e-9)


def test_matches_numpy_reference_and_channel_mean():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(3, 23, 17, generator=gen, dtype=torch.float64)
    y = (x + 0.2 * torch.rand(3, 23, 17, generator=gen, dtype=torch.float64)
         ).clamp(0, 1)
    value = _ssim(SSIM(), x, y)
    assert value == pytest.approx(
        _reference_ssim(x.numpy(), y.numpy()), abs=1e-10)
    # on RGB the value is the mean of the per-channel SSIMs
    per_channel = [
        _reference_ssim(x[c:c + 1].numpy(), y[c:c + 1].numpy())
        for c in range(3)
    ]
    assert value == pytest.approx(np.mean(per_channel), abs=1e-10)


def test_y_channel_of_known_colours():
    black = torch.zeros(3, 16, 16, dtype=torch.float64)
    red = black.clone()
    red[0] = 1
    a, b = (16 + 65.481) / 255, 16 / 255
    assert _ssim(SSIM(convert_to='Y'), red, black) == pytest.approx(
        (2 * a * b + C1) / (a * a + b * b + C1), abs=1e-9)


def test_crop_border_and_quantize():
    gt = torch.randint(0, 255, (3, 20, 20)).double() / 255
    pred = gt.clone()
    pred[:, :3] = torch.rand(3, 3, 20, dtype=torch.float64)
    assert _ssim(SSIM(), pred, gt) < 0.999
    assert _ssim(SSIM(crop_border=3), pred, gt) == pytest.approx(
        1.0, abs=1e-12)
    expected = _reference_ssim(pred[:, 3:-3, 3:-3].numpy(), gt[:, 3:-3,
                                                               3:-3].numpy())
    assert _ssim(SSIM(crop_border=3), pred, gt) == pytest.approx(expected)
    shifted = gt + 0.3 / 255
    assert _ssim(SSIM(), shifted, gt) < 1 - 1e-7
    assert _ssim(SSIM(quantize=True), shifted, gt) == pytest.approx(
        1.0, abs=1e-12)


def test_valid_window_differs_from_reflect_padded_torchmetrics():
    from torchmetrics.functional.image import \
        structural_similarity_index_measure
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(3, 30, 30, generator=gen, dtype=torch.float64)
    y = (x + 0.3 * torch.rand(3, 30, 30, generator=gen,
                              dtype=torch.float64)).clamp(0, 1)
    padded = structural_similarity_index_measure(
        x[None], y[None], data_range=1.0).item()
    assert _ssim(SSIM(), x, y) != pytest.approx(padded, abs=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="'ycbcr'"):
        SSIM(convert_to='ycbcr')
    x = torch.rand(3, 20, 20)
    with pytest.raises(ValueError, match='at least 11x11.*10x10'):
        _ssim(SSIM(crop_border=5), x, x)
    with pytest.raises(ValueError, match=r'x\.png.*\(3, 20, 19\)'):
        _ssim(SSIM(), x[..., :19], x)

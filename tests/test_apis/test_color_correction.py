"""Low-frequency colour correction and the inferencer's colour report."""
import numpy as np
import pytest
import torch

from pathsr.apis import SRInferencer, correct_color
from pathsr.datasets.transforms.degradation import bicubic_resize
from pathsr.evaluation.metrics.color_difference import (delta_e_to_lr,
                                                        mean_delta_e)

BICUBIC = 'configs/bicubic/bicubic_demo_x1-4.py'


def _tissue(size: int = 96, seed: int = 0) -> np.ndarray:
    """A smooth H&E-like colour field with fine texture, uint8 RGB."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([200 + 30 * np.sin(5 * xx), 120 + 40 * np.cos(4 * yy),
                     190 + 20 * np.sin(3 * (xx + yy))], -1)
    img = base + 12 * rng.standard_normal(base.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _delta_e(img1: np.ndarray, img2: np.ndarray) -> float:
    def chw(img):
        return torch.from_numpy(img).permute(2, 0, 1) / 255.
    return mean_delta_e(chw(img1), chw(img2))


def _upsample(lr: np.ndarray, size) -> np.ndarray:
    return bicubic_resize(lr, size, backend='torch')


def test_sr_matching_the_lr_low_frequencies_is_unchanged():
    lr = _tissue(32)
    up = _upsample(lr, (96, 96))
    out = correct_color(up, lr)
    diff = np.abs(out.astype(int) - up)
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99
    # HR detail above the LR's band (a +-16 checkerboard) is kept
    checker = 16 * (np.indices((96, 96)).sum(0) % 2 * 2 - 1)[..., None]
    detailed = np.clip(up.astype(int) + checker, 0, 255).astype(np.uint8)
    out = correct_color(detailed, lr)
    assert np.abs(out.astype(int) - detailed).mean() < 0.5


def test_global_colour_cast_is_removed():
    gt = _tissue(96)
    lr = bicubic_resize(gt, (32, 32))
    cast = np.clip(gt.astype(int) + (18, -6, -14), 0, 255).astype(np.uint8)
    before, after = _delta_e(cast, gt), _delta_e(correct_color(cast, lr), gt)
    assert before > 5 and after < before / 4
    assert delta_e_to_lr(correct_color(cast, lr), lr) < delta_e_to_lr(
        cast, lr) / 4


def test_bad_inputs_raise():
    lr = _tissue(16)
    sr = _tissue(48)
    with pytest.raises(ValueError, match='uint8 RGB'):
        correct_color(sr.astype(np.float32), lr)
    with pytest.raises(ValueError, match='larger than'):
        correct_color(lr, sr)
    with pytest.raises(ValueError, match='sigma_factor'):
        correct_color(sr, lr, sigma_factor=0)


def test_inferencer_reports_colour_fidelity():
    lr = _tissue(40)
    plain = SRInferencer(BICUBIC, device='cpu')
    (sr, ) = plain(lr, scale=2.5)
    (report, ) = plain.last_report
    assert report['name'] == 'array_0' and sr.shape == (100, 100, 3)
    # Bicubic up then down is a low-pass: only the LR's noise differs
    assert report['delta_e_lr'] == pytest.approx(delta_e_to_lr(sr, lr))
    assert 0 < report['delta_e_lr'] < 3
    assert set(report) == {'name', 'delta_e_lr'}
    corrected = SRInferencer(BICUBIC, device='cpu', color_correction=True)
    out = corrected([lr, lr], scale=2.5)
    assert len(out) == 2 and len(corrected.last_report) == 2
    # a Bicubic output already has the LR's low frequencies
    assert np.abs(out[0].astype(int) - sr).max() <= 1
    report = corrected.last_report[0]
    assert report['delta_e_lr_uncorrected'] == pytest.approx(
        plain.last_report[0]['delta_e_lr'])
    assert report['delta_e_lr'] == pytest.approx(
        report['delta_e_lr_uncorrected'], abs=0.05)
    # the per-image step that the command line calls after run()
    (image, ) = corrected.load(lr)
    checked, same = corrected.color_check(image, sr)
    assert np.array_equal(checked, out[0]) and same == report

"""Stain-colour fidelity: mean CIEDE2000 colour difference of SR images.

Colour science, vectorised in torch (any leading dimensions, channels at
``dim=-3``):

- :func:`srgb_to_lab`: sRGB (IEC 61966-2-1, D65) ``(..., 3, H, W)`` in
  ``[0, 1]`` -> CIELAB ``(..., 3, H, W)`` (L* in ``[0, 100]``) relative to
  the D65 white taken as the row sums of the sRGB matrix, ``(0.95047,
  1.0000001, 1.08883)``, so that sRGB white is exactly ``L* = 100, a* = b* =
  0``.
- :func:`ciede2000`: the CIEDE2000 difference ``(..., H, W)`` of two Lab
  images ``(..., 3, H, W)``, ``kL = kC = kH = 1``, implemented after Sharma,
  Wu & Dalal, "The CIEDE2000 color-difference formula: implementation notes,
  supplementary test data, and mathematical observations", Color Research &
  Application 30(1), 2005 (their Eqs. 1-20 and the hue rules of their notes).
- :func:`downscale`: images ``(..., 3, H, W)`` -> ``(..., 3, h, w)`` by
  torch's antialiased bicubic (the PIL kernel, ``a = -0.5``, that makes the
  LR images); float images without PIL's 8-bit rounding.
- :func:`delta_e_to_lr`: mean Delta E00 between an SR image downscaled to
  its LR's size and the LR (the check that needs no ground truth).

The metric :class:`CIEDE2000` reports the mean Delta E00 between SR and GT
and between the SR downscaled back to the LR size and the LR input.
"""
import math
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from pathsr.registry import METRICS
from .base_sr_metric import BaseSRMetric

# sRGB (linear) -> CIE XYZ, IEC 61966-2-1; its row sums are the D65 white
# (2 degree observer) XYZ = (0.95047, 1.0000001, 1.08883).
_SRGB_TO_XYZ = ((0.4124564, 0.3575761, 0.1804375),
                (0.2126729, 0.7151522, 0.0721750),
                (0.0193339, 0.1191920, 0.9503041))
_DELTA = 6.0 / 29.0
_POW25_7 = 25.0**7


def srgb_to_lab(img: torch.Tensor) -> torch.Tensor:
    """Convert sRGB ``(..., 3, H, W)`` in ``[0, 1]`` to CIELAB (D65).

    The sRGB transfer curve is inverted (``c / 12.92`` up to 0.04045, else
    ``((c + 0.055) / 1.055) ** 2.4``), the linear RGB mapped to XYZ by the
    IEC 61966-2-1 matrix, and XYZ / white (the matrix row sums, D65) mapped
    to ``L*a*b*`` by the CIE 1976 formulas. The dtype is kept (use float64
    for reference values).
    """
    if img.ndim < 3 or img.shape[-3] != 3:
        raise ValueError('srgb_to_lab expects RGB images (..., 3, H, W), '
                         f'got shape {tuple(img.shape)}')
    linear = torch.where(img <= 0.04045, img / 12.92,
                         ((img + 0.055) / 1.055).clamp(min=0)**2.4)
    matrix = img.new_tensor(_SRGB_TO_XYZ)
    white = matrix.sum(dim=1).view(3, 1, 1)
    xyz = torch.einsum('ij,...jhw->...ihw', matrix, linear) / white
    f = torch.where(xyz > _DELTA**3,
                    xyz.clamp(min=_DELTA**3)**(1.0 / 3.0),
                    xyz / (3 * _DELTA**2) + 4.0 / 29.0)
    fx, fy, fz = f.unbind(dim=-3)
    return torch.stack(
        (116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)), dim=-3)


def ciede2000(lab1: torch.Tensor, lab2: torch.Tensor) -> torch.Tensor:
    """CIEDE2000 colour difference of two Lab images ``(..., 3, H, W)``.

    Returns:
        Tensor: Delta E00 per pixel, ``(..., H, W)``, with unit weights
        ``kL = kC = kH = 1``; symmetric in its arguments.
    """
    if lab1.shape != lab2.shape or lab1.ndim < 3 or lab1.shape[-3] != 3:
        raise ValueError('ciede2000 expects two Lab images of the same shape '
                         f'(..., 3, H, W), got {tuple(lab1.shape)} and '
                         f'{tuple(lab2.shape)}')
    l1, a1, b1 = lab1.unbind(dim=-3)
    l2, a2, b2 = lab2.unbind(dim=-3)
    c_mean7 = ((torch.hypot(a1, b1) + torch.hypot(a2, b2)) / 2)**7
    g = 0.5 * (1 - torch.sqrt(c_mean7 / (c_mean7 + _POW25_7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = torch.hypot(a1p, b1), torch.hypot(a2p, b2)
    # hue angles in degrees in [0, 360); atan2(0, 0) = 0 (achromatic)
    h1p = torch.rad2deg(torch.atan2(b1, a1p)) % 360
    h2p = torch.rad2deg(torch.atan2(b2, a2p)) % 360
    chromatic = (c1p * c2p) != 0

    dh = h2p - h1p
    dh = torch.where(dh > 180, dh - 360, torch.where(dh < -180, dh + 360, dh))
    dh = torch.where(chromatic, dh, torch.zeros_like(dh))
    d_l = l2 - l1
    d_c = c2p - c1p
    d_h = 2 * torch.sqrt(c1p * c2p) * torch.sin(torch.deg2rad(dh) / 2)

    l_mean = (l1 + l2) / 2
    c_mean = (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = torch.where(
        (h1p - h2p).abs() <= 180, h_sum / 2,
        torch.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2))
    h_mean = torch.where(chromatic, h_mean, h_sum)

    t = (1 - 0.17 * torch.cos(torch.deg2rad(h_mean - 30)) +
         0.24 * torch.cos(torch.deg2rad(2 * h_mean)) +
         0.32 * torch.cos(torch.deg2rad(3 * h_mean + 6)) -
         0.20 * torch.cos(torch.deg2rad(4 * h_mean - 63)))
    d_theta = 30 * torch.exp(-((h_mean - 275) / 25)**2)
    c_mean7p = c_mean**7
    r_c = 2 * torch.sqrt(c_mean7p / (c_mean7p + _POW25_7))
    l_50 = (l_mean - 50)**2
    s_l = 1 + 0.015 * l_50 / torch.sqrt(20 + l_50)
    s_c = 1 + 0.045 * c_mean
    s_h = 1 + 0.015 * c_mean * t
    r_t = -torch.sin(torch.deg2rad(2 * d_theta)) * r_c
    term_c, term_h = d_c / s_c, d_h / s_h
    return torch.sqrt((d_l / s_l)**2 + term_c**2 + term_h**2 +
                      r_t * term_c * term_h)


def downscale(img: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Downscale images ``(..., 3, H, W)`` to ``size`` ``(h, w)`` with
    torch's antialiased bicubic (``align_corners=False``).

    Float images in ``[0, 1]`` are resized in their dtype and clamped to
    ``[0, 1]``; uint8 images are resized by torch's uint8 kernel (rounded,
    within 1 level of PIL), which reads an ``(H, W, 3)`` array's
    channels-last view without a float copy of a large output.
    """
    lead = img.shape[:-3]
    out = F.interpolate(
        img.reshape(-1, *img.shape[-3:]),
        size=tuple(int(s) for s in size),
        mode='bicubic',
        antialias=True,
        align_corners=False)
    if out.is_floating_point():
        out = out.clamp(0, 1)
    return out.reshape(*lead, *out.shape[-3:])


def mean_delta_e(img1: torch.Tensor, img2: torch.Tensor) -> float:
    """Mean CIEDE2000 between two sRGB images ``(..., 3, H, W)`` in
    ``[0, 1]``, computed in float64."""
    lab1 = srgb_to_lab(img1.to(torch.float64))
    lab2 = srgb_to_lab(img2.to(torch.float64))
    return ciede2000(lab1, lab2).mean().item()


def delta_e_to_lr(sr: Union[np.ndarray, torch.Tensor],
                  lr: Union[np.ndarray, torch.Tensor],
                  border: int = 0) -> float:
    """Mean CIEDE2000 between ``sr`` downscaled to the size of ``lr`` by
    :func:`downscale` and ``lr``.

    Args:
        sr: The SR image: uint8 ``(H, W, 3)`` array, or ``(3, H, W)``
            tensor, uint8 or float in ``[0, 1]``.
        lr: The LR input, in one of the same forms, ``(h, w)`` pixels.
        border: LR pixels removed from every border before averaging.
    """
    sr, lr = _as_chw(sr, 'sr'), _as_chw(lr, 'lr')
    height, width = lr.shape[-2:]
    if sr.shape[-2] < height or sr.shape[-1] < width:
        raise ValueError(f'the SR image {tuple(sr.shape[-2:])} is smaller '
                         f'than the LR image {(height, width)}')
    down, lr = _unit(downscale(sr, (height, width))), _unit(lr)
    if border:
        if 2 * border >= min(height, width):
            raise ValueError(f'an LR border of {border} leaves nothing of a '
                             f'{height}x{width} LR image')
        down = down[..., border:-border, border:-border]
        lr = lr[..., border:-border, border:-border]
    return mean_delta_e(down, lr)


def _as_chw(img: Union[np.ndarray, torch.Tensor], name: str) -> torch.Tensor:
    """A uint8 ``(H, W, 3)`` array (as a view) or a ``(3, H, W)`` tensor as
    a ``(3, H, W)`` tensor."""
    if isinstance(img, np.ndarray):
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'{name} must be a uint8 (H, W, 3) array, got '
                             f'{img.dtype} {img.shape}')
        return torch.from_numpy(img).permute(2, 0, 1)
    if not isinstance(img, torch.Tensor) or img.ndim != 3 \
            or img.shape[0] != 3 or not (img.is_floating_point()
                                         or img.dtype == torch.uint8):
        raise ValueError(f'{name} must be a uint8 (H, W, 3) array or a '
                         f'uint8/float (3, H, W) tensor, got '
                         f'{type(img).__name__} '
                         f'{getattr(img, "dtype", "")} '
                         f'{tuple(getattr(img, "shape", ()))}')
    return img


def _unit(img: torch.Tensor) -> torch.Tensor:
    """A uint8 or float image as float64 in ``[0, 1]``."""
    if img.dtype == torch.uint8:
        return img.to(torch.float64) / 255
    return img.to(torch.float64)


@METRICS.register_module()
class CIEDE2000(BaseSRMetric):
    """Mean CIEDE2000 colour difference (Delta E00, CIELAB D65) per image.

    Two values per image, each the mean Delta E00 over pixels:

    - ``CIEDE2000``: SR vs GT, after ``crop_border`` (see
      :class:`BaseSRMetric` for the input contract, ``crop_border`` and
      ``quantize``);
    - ``CIEDE2000_LR`` (with ``with_lr``): the SR downscaled to the LR size
      by :func:`downscale` (torch antialiased bicubic, the PIL kernel of
      the LR making, in float) vs the LR input, after removing
      ``ceil(border * h / H)`` LR pixels (the larger of both axes),
      ``border`` the HR border of ``crop_border``. It needs no GT, so it is
      the consistency check that inference can report too. With the
      blurred (ISTE) degradation the LR is blurred before downscaling, so
      even a perfect SR has a small Delta E00 to the LR.

    The LR input is read from ``data_batch['inputs']`` (the uint8
    ``(3, h, w)`` images that the dataloader gives the model, in the order
    of ``data_samples``), cropped to the sample's ``lr_shape``. Lower is
    better; 1 is about a just-noticeable difference.

    Args:
        crop_border (int | str): HR border removed, as in
            :class:`BaseSRMetric`. Defaults to 0.
        quantize (bool): Round pred and gt to 8 bits first. Defaults to
            False.
        with_lr (bool): Also report ``CIEDE2000_LR``. Defaults to True.
        collect_device (str): Device to collect results across ranks.
        prefix (str, optional): Prefix of the metric names.
    """

    metric_name = 'CIEDE2000'

    def __init__(self,
                 crop_border: Union[int, str] = 0,
                 quantize: bool = False,
                 with_lr: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            crop_border=crop_border,
            quantize=quantize,
            collect_device=collect_device,
            prefix=prefix)
        self.with_lr = with_lr

    def compute_one(self, pred: torch.Tensor, gt: torch.Tensor) -> float:
        """Mean Delta E00 of one float64 ``(1, 3, H, W)`` pair."""
        return mean_delta_e(pred, gt)

    def process(self, data_batch: Optional[dict],
                data_samples: Sequence[dict]) -> None:
        """Store ``dict(img_path, value, value_lr)`` per image (``value_lr``
        only with ``with_lr``).

        Raises:
            KeyError: ``with_lr`` and no ``inputs`` in ``data_batch``.
        """
        start = len(self.results)
        super().process(data_batch, data_samples)
        if not self.with_lr:
            return
        inputs = (data_batch or {}).get('inputs')
        if inputs is None or len(inputs) != len(data_samples):
            raise KeyError(
                'CIEDE2000 with with_lr=True reads the LR images from '
                "data_batch['inputs'] (one per data sample); this batch has "
                f'{"none" if inputs is None else len(inputs)} for '
                f'{len(data_samples)} samples: set with_lr=False')
        for i, data_sample in enumerate(data_samples):
            lr = inputs[i]
            if 'lr_shape' in data_sample:
                lr = lr[..., :data_sample['lr_shape'][0],
                        :data_sample['lr_shape'][1]]
            pred = self._prepare(data_sample['pred_img'], 'pred_img',
                                 data_sample['gt_path'])[0]
            border, (height, width) = self._border(data_sample), \
                pred.shape[-2:]
            lr_border = math.ceil(
                border * max(lr.shape[-2] / height, lr.shape[-1] / width))
            self.results[start + i]['value_lr'] = delta_e_to_lr(
                pred, lr.cpu(), lr_border)

    def compute_metrics(self, results: list) -> dict:
        """Average the per-image values (kept in
        :attr:`per_image_results`).

        Returns:
            dict: ``{'CIEDE2000': ..., 'CIEDE2000_LR': ...}`` (the latter
            with ``with_lr``).
        """
        metrics = super().compute_metrics(results)
        if self.with_lr:
            metrics[f'{self.metric_name}_LR'] = float(
                np.mean([result['value_lr'] for result in results]))
        return metrics

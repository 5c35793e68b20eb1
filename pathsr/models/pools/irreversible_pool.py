"""Irreversible low-quality transformation pool (ITP) of MiHATP."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pathsr.registry import MODELS

_OPS = ('blur', 'noise', 'jpeg', 'resample')


def _check_range(name: str, value: Sequence[float], low: float,
                 high: float) -> Tuple[float, float]:
    """Return ``value`` as a pair ``(a, b)`` with ``low <= a <= b <= high``."""
    if len(value) != 2 or not low <= value[0] <= value[1] <= high:
        raise ValueError(f'IrreversibleTransformPool: {name} must be a pair '
                         f'(min, max) with {low} <= min <= max <= {high}, '
                         f'got {tuple(value)}')
    return value[0], value[1]


@MODELS.register_module()
class IrreversibleTransformPool(nn.Module):
    """Negatives of MiHATP: random low-quality copies of an HR image.

    Each of the ``num_samples`` copies of an image gets one operation drawn
    uniformly from ``ops``, with parameters drawn uniformly from the ranges
    (PCL's ``RandomDegrad`` conventions):

    - ``blur``: isotropic Gaussian, odd kernel size in ``blur_kernel``,
      sigma in ``blur_sigma`` (pixels), reflect padding.
    - ``noise``: additive Gaussian noise, sigma in ``noise_sigma`` on a
      0-255 scale (std ``sigma / 255`` on [0, 1] images).
    - ``jpeg``: OpenCV JPEG round trip of the uint8 image, integer quality
      in ``jpeg_quality``.
    - ``resample``: bicubic down by a factor in ``resample_scale`` (output
      size rounded, at least 1) and bicubic back up to (H, W), both with
      ``antialias=True``.

    Outputs are clamped to [0, 1] and carry no gradient.

    Args:
        num_samples: Negatives per image (K).
        blur_kernel: (min, max) odd Gaussian kernel sizes.
        blur_sigma: (min, max) Gaussian sigma in pixels.
        noise_sigma: (min, max) noise sigma on a 0-255 scale.
        jpeg_quality: (min, max) JPEG quality in [1, 100].
        resample_scale: (min, max) down-sampling factor, >= 1.
        ops: Operations to draw from, a non-empty subset of
            ``('blur', 'noise', 'jpeg', 'resample')``.
    """

    def __init__(self,
                 num_samples: int = 3,
                 blur_kernel: Sequence[int] = (3, 11),
                 blur_sigma: Sequence[float] = (0.1, 2.0),
                 noise_sigma: Sequence[float] = (1., 15.),
                 jpeg_quality: Sequence[int] = (70, 95),
                 resample_scale: Sequence[float] = (2., 4.),
                 ops: Sequence[str] = _OPS) -> None:
        super().__init__()
        if num_samples < 1:
            raise ValueError('IrreversibleTransformPool: num_samples must be '
                             f'>= 1, got {num_samples}')
        unknown = [op for op in ops if op not in _OPS]
        if not ops or unknown or len(set(ops)) != len(ops):
            raise ValueError('IrreversibleTransformPool: ops must be distinct '
                             f'names from {_OPS}, got {tuple(ops)}')
        self.blur_kernel = _check_range('blur_kernel', blur_kernel, 1,
                                        float('inf'))
        if any(int(k) != k or k % 2 == 0 for k in self.blur_kernel):
            raise ValueError('IrreversibleTransformPool: blur_kernel sizes '
                             f'must be odd integers, got {tuple(blur_kernel)}')
        self.num_samples = num_samples
        self.blur_sigma = _check_range('blur_sigma', blur_sigma, 1e-6,
                                       float('inf'))
        self.noise_sigma = _check_range('noise_sigma', noise_sigma, 0., 255.)
        self.jpeg_quality = _check_range('jpeg_quality', jpeg_quality, 1, 100)
        if any(int(q) != q for q in self.jpeg_quality):
            raise ValueError('IrreversibleTransformPool: jpeg_quality must be '
                             f'integers, got {tuple(jpeg_quality)}')
        self.resample_scale = _check_range('resample_scale', resample_scale,
                                           1., float('inf'))
        self.ops = tuple(ops)

    @torch.no_grad()
    def forward(self,
                hr: torch.Tensor,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Make negatives.

        Args:
            hr: (B, 3, H, W) images in [0, 1].
            generator: Optional CPU generator for reproducible draws.

        Returns:
            (B, K, 3, H, W) degraded copies in [0, 1], K = ``num_samples``.
        """
        if hr.dim() != 4 or hr.size(1) != 3:
            raise ValueError('IrreversibleTransformPool: expected hr of shape '
                             f'(B, 3, H, W), got {tuple(hr.shape)}')
        if hr.numel() and (hr.min() < 0 or hr.max() > 1):
            raise ValueError('IrreversibleTransformPool: hr must lie in '
                             f'[0, 1], got [{hr.min().item():.4g}, '
                             f'{hr.max().item():.4g}]')
        b, c, h, w = hr.shape
        radius = int(self.blur_kernel[1]) // 2
        if 'blur' in self.ops and min(h, w) <= radius:
            raise ValueError('IrreversibleTransformPool: reflect padding of '
                             f'the blur needs H and W > {radius}, got '
                             f'{(h, w)}')
        k = self.num_samples
        images = hr.unsqueeze(1).expand(b, k, c, h, w).reshape(b * k, c, h, w)
        choice = torch.randint(len(self.ops), (b * k, ), generator=generator)
        out = torch.empty_like(images)
        for index, op in enumerate(self.ops):
            picked = (choice == index).nonzero().flatten().to(hr.device)
            if picked.numel():
                out[picked] = getattr(self, f'_{op}')(images[picked],
                                                      generator)
        return out.clamp_(0, 1).view(b, k, c, h, w)

    def _uniform(self, bounds: Tuple[float, float], n: int,
                 generator: Optional[torch.Generator]) -> torch.Tensor:
        """``n`` draws from U(bounds) on the CPU, (n, ) float64."""
        low, high = bounds
        return low + (high - low) * torch.rand(
            n, generator=generator, dtype=torch.float64)

    def _blur(self, x: torch.Tensor,
              generator: Optional[torch.Generator]) -> torch.Tensor:
        """Per-image Gaussian blur of (N, C, H, W) by one grouped conv.

        Every kernel is zero-padded to the largest size drawn; with reflect
        padding this equals filtering with the kernel of its own size.
        """
        n, c, h, w = x.shape
        low, high = (int(v) for v in self.blur_kernel)
        sizes = low + 2 * torch.randint(
            (high - low) // 2 + 1, (n, ), generator=generator)
        sigmas = self._uniform(self.blur_sigma, n, generator)
        radius = int(sizes.max()) // 2
        offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
        kernel_1d = torch.exp(-offsets[None]**2 / (2 * sigmas[:, None]**2))
        kernel_1d = kernel_1d * (offsets.abs()[None] <= sizes[:, None] // 2)
        kernel = kernel_1d[:, :, None] * kernel_1d[:, None, :]
        kernel = kernel / kernel.sum(dim=(1, 2), keepdim=True)
        kernel = kernel.to(x).repeat_interleave(c, dim=0).unsqueeze(1)
        padded = F.pad(x.reshape(1, n * c, h, w), (radius, ) * 4,
                       mode='reflect')
        return F.conv2d(padded, kernel, groups=n * c).view(n, c, h, w)

    def _noise(self, x: torch.Tensor,
               generator: Optional[torch.Generator]) -> torch.Tensor:
        """Add N(0, (sigma / 255)^2) noise, one sigma per image."""
        sigmas = self._uniform(self.noise_sigma, x.size(0), generator) / 255
        noise = torch.randn(x.shape, generator=generator).to(x)
        return x + noise * sigmas.to(x).view(-1, 1, 1, 1)

    def _jpeg(self, x: torch.Tensor,
              generator: Optional[torch.Generator]) -> torch.Tensor:
        """JPEG round trip of each RGB image via OpenCV (BGR, uint8)."""
        low, high = (int(v) for v in self.jpeg_quality)
        qualities = torch.randint(low,
                                  high + 1, (x.size(0), ),
                                  generator=generator).tolist()
        images = (x * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        decoded = []
        for image, quality in zip(images, qualities):
            ok, buffer = cv2.imencode('.jpg',
                                      np.ascontiguousarray(image[..., ::-1]),
                                      [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise RuntimeError('IrreversibleTransformPool: cv2.imencode '
                                   f'failed at JPEG quality {quality}')
            decoded.append(cv2.imdecode(buffer, cv2.IMREAD_COLOR)[..., ::-1])
        out = torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2)
        return out.to(x) / 255

    def _resample(self, x: torch.Tensor,
                  generator: Optional[torch.Generator]) -> torch.Tensor:
        """Bicubic down by a random factor, then bicubic up to (H, W)."""
        h, w = x.shape[-2:]
        scales = self._uniform(self.resample_scale, x.size(0),
                               generator).tolist()
        out = []
        for image, scale in zip(x, scales):
            small = F.interpolate(image[None],
                                  size=(max(1, round(h / scale)),
                                        max(1, round(w / scale))),
                                  mode='bicubic',
                                  align_corners=False,
                                  antialias=True)
            out.append(
                F.interpolate(small,
                              size=(h, w),
                              mode='bicubic',
                              align_corners=False,
                              antialias=True))
        return torch.cat(out)

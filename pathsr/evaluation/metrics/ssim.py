"""Structural similarity of SR images."""
import torch
from torchmetrics.functional.image import structural_similarity_index_measure

from pathsr.registry import METRICS
from .base_sr_metric import BaseSRMetric


@METRICS.register_module()
class SSIM(BaseSRMetric):
    """Structural similarity index (Wang et al. 2004) per image.

    Images are float RGB in ``[0, 1]`` (see :class:`BaseSRMetric` for the
    input contract, ``crop_border``, ``convert_to`` and ``quantize``). The
    SSIM map uses an 11x11 Gaussian window with sigma 1.5, ``K1 = 0.01``,
    ``K2 = 0.03`` and data range 1, computed in float64 by torchmetrics.
    Only positions where the whole window lies inside the image are averaged
    (the "valid" map of Wang et al.'s reference code, BasicSR and skimage;
    torchmetrics alone would also average a reflect-padded border). The value
    is the mean of the map over positions and channels, i.e. on RGB the mean
    of the three per-channel SSIMs. Both sides of the (cropped)
    image must be at least :attr:`window_size` pixels.
    """

    metric_name = 'SSIM'
    window_size = 11
    sigma = 1.5

    def compute_one(self, pred: torch.Tensor, gt: torch.Tensor) -> float:
        """SSIM of one ``(1, C, H, W)`` pair in ``[0, 1]``."""
        height, width = gt.shape[-2:]
        if min(height, width) < self.window_size:
            raise ValueError(
                f'SSIM needs images of at least {self.window_size}x'
                f'{self.window_size} pixels after cropping, got '
                f'{height}x{width}')
        _, ssim_map = structural_similarity_index_measure(
            pred,
            gt,
            gaussian_kernel=True,
            sigma=self.sigma,
            kernel_size=self.window_size,
            data_range=1.0,
            return_full_image=True)
        pad = self.window_size // 2
        return ssim_map[..., pad:-pad, pad:-pad].mean().item()

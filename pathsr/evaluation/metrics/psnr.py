"""Peak signal-to-noise ratio of SR images."""
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio

from pathsr.registry import METRICS
from .base_sr_metric import BaseSRMetric


@METRICS.register_module()
class PSNR(BaseSRMetric):
    """Peak signal-to-noise ratio in dB, ``10 log10(1 / MSE)``, per image.

    Images are float RGB in ``[0, 1]`` (see :class:`BaseSRMetric` for the
    input contract, ``crop_border``, ``convert_to`` and ``quantize``); the MSE
    is taken over all channels and pixels in float64 with data range 1
    (torchmetrics turns it into dB with float32 constants, a relative error
    below 1e-7). The per-image value is capped at :attr:`max_psnr` = 100 dB
    (MSE 1e-10), so an image identical to its ground truth scores 100 instead
    of ``inf`` and the mean over the dataset stays finite.
    """

    metric_name = 'PSNR'
    max_psnr = 100.0

    def compute_one(self, pred: torch.Tensor, gt: torch.Tensor) -> float:
        """PSNR of one ``(1, C, H, W)`` pair in ``[0, 1]``, capped at 100."""
        psnr = peak_signal_noise_ratio(pred, gt, data_range=1.0)
        return min(psnr.item(), self.max_psnr)

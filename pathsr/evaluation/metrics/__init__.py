from .base_sr_metric import BaseSRMetric
from .psnr import PSNR
from .ssim import SSIM

__all__ = ['BaseSRMetric', 'PSNR', 'SSIM']

from .base_sr_metric import BaseSRMetric
from .fid import FID
from .psnr import PSNR
from .ssim import SSIM

__all__ = ['BaseSRMetric', 'FID', 'PSNR', 'SSIM']

from .base_sr_metric import BaseSRMetric
from .color_difference import CIEDE2000
from .fid import FID
from .psnr import PSNR
from .ssim import SSIM

__all__ = ['BaseSRMetric', 'CIEDE2000', 'FID', 'PSNR', 'SSIM']

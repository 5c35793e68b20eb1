from .metrics import PSNR, SSIM, BaseSRMetric

__all__ = ['BaseSRMetric', 'PSNR', 'SSIM']

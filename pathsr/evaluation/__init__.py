from .metrics import FID, PSNR, SSIM, BaseSRMetric

__all__ = ['BaseSRMetric', 'FID', 'PSNR', 'SSIM']

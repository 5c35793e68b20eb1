from .pixel_loss import L1Loss

__all__ = ['L1Loss']

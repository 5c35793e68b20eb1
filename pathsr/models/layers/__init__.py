from .pixel_shuffle_upsampler import PixelShuffleUpsampler
from .residual_block import ResidualBlockNoBN

__all__ = ['PixelShuffleUpsampler', 'ResidualBlockNoBN']

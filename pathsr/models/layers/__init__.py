from .mlp import MLP
from .pixel_shuffle_upsampler import PixelShuffleUpsampler
from .residual_block import ResidualBlockNoBN
from .rstb import ResidualSwinTransformerBlock
from .swin_transformer_block import SwinTransformerBlock
from .window_attention import (WindowAttention, shift_window_mask,
                               window_partition, window_reverse)

__all__ = [
    'MLP',
    'PixelShuffleUpsampler', 'ResidualBlockNoBN',
    'ResidualSwinTransformerBlock', 'SwinTransformerBlock', 'WindowAttention',
    'shift_window_mask', 'window_partition', 'window_reverse'
]

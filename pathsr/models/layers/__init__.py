from .channel_attention_block import CAB
from .deformable_attention import DeformableAttention
from .hybrid_attention_block import HAB
from .local_feature_interactor import LocalFeatureInteractor
from .mlp import MLP
from .multi_hybrid_attention_block import MHAB
from .multi_rhag import MRHAG
from .overlapping_cross_attention import OCAB
from .pixel_shuffle_upsampler import PixelShuffleUpsampler
from .residual_block import ResidualBlockNoBN
from .rhag import RHAG
from .rstb import ResidualSwinTransformerBlock
from .self_texture_fusion import SelfTextureFusion
from .swin_transformer_block import SwinTransformerBlock
from .texture_learner import TextureLearner
from .window_attention import (WindowAttention, shift_window_mask,
                               window_partition, window_reverse)

__all__ = [
    'CAB', 'HAB', 'MHAB', 'MRHAG', 'OCAB', 'RHAG',
    'DeformableAttention',
    'LocalFeatureInteractor', 'SelfTextureFusion', 'TextureLearner',
    'MLP',
    'PixelShuffleUpsampler', 'ResidualBlockNoBN',
    'ResidualSwinTransformerBlock', 'SwinTransformerBlock', 'WindowAttention',
    'shift_window_mask', 'window_partition', 'window_reverse'
]

"""Hybrid attention block (HAB) of HAT."""
from typing import Tuple

import torch

from pathsr.registry import MODELS
from .channel_attention_block import CAB
from .swin_transformer_block import SwinTransformerBlock


@MODELS.register_module()
class HAB(SwinTransformerBlock):
    """Swin block with a parallel, scaled channel-attention conv branch.

    Tokens ``(B, H*W, C) -> (B, H*W, C)``. With ``x_n = LN(x)``:
    ``x = x + DropPath((S)W-MSA(x_n)) + conv_scale * CAB(image(x_n))`` then
    ``x = x + DropPath(MLP(LN(x)))``. The (shifted) window attention, its
    shift mask and the MLP are those of :class:`SwinTransformerBlock`;
    ``image`` reshapes the tokens to ``(B, C, H, W)``. ``H`` and ``W`` must
    be multiples of ``window_size``.

    Args:
        dim: Token channels ``C``.
        num_heads: Attention heads.
        window_size: Window side ``w``.
        shift_size: Cyclic shift, 0 or ``w // 2`` in HAT.
        compress_ratio: Channel reduction inside :class:`CAB`.
        squeeze_factor: Channel-attention squeeze of :class:`CAB`.
        conv_scale: Weight of the CAB branch (HAT's alpha).
        mlp_ratio: MLP hidden width over ``dim``.
        qkv_bias: Whether the qkv projection has a bias.
        drop: Dropout after the attention projection and in the MLP.
        attn_drop: Dropout on the attention weights.
        drop_path: Stochastic depth rate of the attention and MLP branches.
        act_cfg: Activation of the MLP.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 window_size: int = 16,
                 shift_size: int = 0,
                 compress_ratio: int = 3,
                 squeeze_factor: int = 30,
                 conv_scale: float = 0.01,
                 mlp_ratio: float = 2.,
                 qkv_bias: bool = True,
                 drop: float = 0.,
                 attn_drop: float = 0.,
                 drop_path: float = 0.,
                 act_cfg: dict = dict(type='GELU')) -> None:
        super().__init__(
            dim,
            num_heads,
            window_size=window_size,
            shift_size=shift_size,
            mlp_ratio=mlp_ratio,
            qkv_bias=qkv_bias,
            drop=drop,
            attn_drop=attn_drop,
            drop_path=drop_path,
            act_cfg=act_cfg)
        self.conv_scale = conv_scale
        self.conv_block = CAB(dim, compress_ratio, squeeze_factor)

    def forward(self, x: torch.Tensor,
                x_size: Tuple[int, int]) -> torch.Tensor:
        self.check_size(x, x_size)
        h, w = x_size
        b, length, c = x.shape
        x_n = self.norm1(x)
        conv_x = self.conv_block(x_n.transpose(1, 2).reshape(b, c, h, w))
        attn_x = self.shifted_window_attention(x_n.view(b, h, w, c))
        x = x + self.drop_path(attn_x.reshape(b, length, c)) + \
            self.conv_scale * conv_x.flatten(2).transpose(1, 2)
        return x + self.drop_path(self.mlp(self.norm2(x)))

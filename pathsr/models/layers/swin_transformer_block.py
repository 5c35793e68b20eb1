"""Swin Transformer block with (shifted) window attention, as in SwinIR."""
from functools import partial
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer
from mmengine.model import BaseModule
from timm.layers import DropPath, Mlp

from pathsr.registry import MODELS
from .window_attention import (WindowAttention, shift_window_mask,
                               window_partition, window_reverse)


@MODELS.register_module()
class SwinTransformerBlock(BaseModule):
    """Pre-norm Swin block on tokens ``(B, H*W, C) -> (B, H*W, C)``.

    ``x = x + DropPath(W-MSA(LN(x)))`` then ``x = x + DropPath(MLP(LN(x)))``.
    With ``shift_size > 0`` the map is rolled by ``-shift_size`` before the
    window attention (masked so that tokens from regions that are not adjacent
    in the image do not attend to each other) and rolled back after it. The
    mask is computed for the runtime ``(H, W)`` (the last one is cached).
    ``H`` and ``W`` must be multiples of ``window_size`` (the backbone pads
    its input).

    Args:
        dim: Token channels ``C``.
        num_heads: Attention heads.
        window_size: Window side ``w``.
        shift_size: Cyclic shift, 0 or ``w // 2`` in SwinIR.
        mlp_ratio: MLP hidden width over ``dim``.
        qkv_bias: Whether the qkv projection has a bias.
        drop: Dropout after the attention projection and in the MLP.
        attn_drop: Dropout on the attention weights.
        drop_path: Stochastic depth rate of both residual branches.
        act_cfg: Activation of the MLP.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 window_size: int = 8,
                 shift_size: int = 0,
                 mlp_ratio: float = 2.,
                 qkv_bias: bool = True,
                 drop: float = 0.,
                 attn_drop: float = 0.,
                 drop_path: float = 0.,
                 act_cfg: dict = dict(type='GELU')) -> None:
        super().__init__()
        if not 0 <= shift_size < window_size:
            raise ValueError(f'shift_size must be in [0, window_size), got '
                             f'{shift_size} for window {window_size}')
        self.window_size = window_size
        self.shift_size = shift_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(
            dim,
            window_size,
            num_heads,
            qkv_bias=qkv_bias,
            attn_drop=attn_drop,
            proj_drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else \
            nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(
            in_features=dim,
            hidden_features=int(dim * mlp_ratio),
            act_layer=partial(build_activation_layer, act_cfg),
            drop=drop)
        self._mask_cache: Optional[Tuple[tuple, torch.Tensor]] = None

    def attn_mask(self, h: int, w: int,
                  device: torch.device) -> torch.Tensor:
        """The shift mask ``(nW, w*w, w*w)`` of an ``h x w`` map.

        The mask of the last size is kept, as training sees one size.
        """
        key = (h, w, device)
        if self._mask_cache is None or self._mask_cache[0] != key:
            mask = shift_window_mask(h, w, self.window_size,
                                     self.shift_size, device)
            self._mask_cache = (key, mask)
        return self._mask_cache[1]

    def check_size(self, x: torch.Tensor, x_size: Tuple[int, int]) -> None:
        """Tokens ``(B, H*W, C)`` must form an ``x_size`` map of whole
        windows (the backbone pads)."""
        h, w = x_size
        length = x.shape[1]
        if length != h * w or h % self.window_size or w % self.window_size:
            raise ValueError(f'{length} tokens do not form a {h}x{w} map of '
                             f'whole {self.window_size}-windows')

    def shifted_window_attention(self, x: torch.Tensor) -> torch.Tensor:
        """(S)W-MSA of a normalised map ``(B, H, W, C) -> (B, H, W, C)``."""
        h, w = x.shape[1:3]
        mask = None
        if self.shift_size:
            x = torch.roll(x, (-self.shift_size, -self.shift_size), (1, 2))
            mask = self.attn_mask(h, w, x.device)
        x = self.attn(window_partition(x, self.window_size), mask)
        x = window_reverse(x, self.window_size, h, w)
        if self.shift_size:
            x = torch.roll(x, (self.shift_size, self.shift_size), (1, 2))
        return x

    def forward(self, x: torch.Tensor,
                x_size: Tuple[int, int]) -> torch.Tensor:
        self.check_size(x, x_size)
        b, length, c = x.shape
        attn = self.shifted_window_attention(
            self.norm1(x).view(b, *x_size, c))
        x = x + self.drop_path(attn.reshape(b, length, c))
        return x + self.drop_path(self.mlp(self.norm2(x)))

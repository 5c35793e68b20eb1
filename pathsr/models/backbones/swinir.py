"""SwinIR (Liang et al., ICCVW 2021): image restoration with Swin blocks."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from timm.layers import trunc_normal_
from torch.utils.checkpoint import checkpoint

from pathsr.registry import MODELS
from .arch_settings import resolve_arch
from ..layers import PixelShuffleUpsampler


@MODELS.register_module()
class SwinIR(BaseModule):
    """SwinIR: ``(B, 3, h, w) -> (B, 3, s*h, s*w)``, or features.

    The input is reflect-padded (bottom/right) to a multiple of
    ``window_size``, then: conv3x3 -> tokens + LayerNorm (patch embedding of
    size 1) -> residual Swin groups (RSTB) -> LayerNorm -> image -> conv3x3
    plus the long skip from the first conv -> conv3x3 to 64 channels +
    LeakyReLU -> pixel-shuffle upsampler -> conv3x3 to RGB, cropped to
    ``(s*h, s*w)``. The DIV2K mean shift of the original code is done by the
    data preprocessor (``mean`` in its config), not here.

    With ``upscale_factor=None`` (the encoder of LTE/ISTE, upsampler 'none')
    the network stops after the 64-channel conv + LeakyReLU and returns
    ``(B, 64, h, w)``. The features are cropped back to the unpadded ``h, w``
    so that they stay aligned with the LR pixel grid; the LTE/ISTE code
    returns the padded map instead and queries its coordinates over it.

    Args:
        arch: ``'classical'`` (embed 180, 6 groups of 6 blocks, 6 heads,
            window 8: the classical-SR SwinIR and the LTE/ISTE encoder),
            ``'demo'`` (embed 32, 2 groups of 2 blocks, 2 heads, window 8,
            for CPU tests and demos) or ``None``; explicit ``embed_dim``,
            ``depths``, ``num_heads`` or ``window_size`` override the table.
        upscale_factor: 2, 3, 4, 8 or ``None`` for features.
        in_channels: Input channels.
        out_channels: Output channels with an upsampler.
        mid_channels: Channels before the upsampler (and of the features).
        mlp_ratio: MLP hidden width over ``embed_dim``.
        qkv_bias: Whether the attention qkv projections have a bias.
        drop_rate: Dropout in the blocks.
        attn_drop_rate: Dropout on attention weights.
        drop_path_rate: Stochastic depth rate of the last block, increased
            linearly from 0 over all blocks.
        patch_norm: LayerNorm after the patch embedding.
        block_cfg: Config of the transformer blocks (see
            :class:`ResidualSwinTransformerBlock`).
        group_cfg: Config of the residual groups; built with ``dim``,
            ``depth``, ``num_heads``, ``window_size``, ``drop_path`` and
            ``block_cfg``.
        with_cp: Activation checkpointing of the residual groups while
            training: only each group's input is kept for the backward pass,
            which recomputes the group (about a third more compute for much
            less memory; same outputs and gradients).
        init_cfg: mmengine initialisation config.
    """

    arch_settings = {
        'classical':
        dict(embed_dim=180, depths=(6, ) * 6, num_heads=(6, ) * 6,
             window_size=8),
        'demo':
        dict(embed_dim=32, depths=(2, 2), num_heads=(2, 2), window_size=8),
    }

    def __init__(self,
                 arch: Optional[str] = 'classical',
                 upscale_factor: Optional[int] = 2,
                 in_channels: int = 3,
                 out_channels: int = 3,
                 embed_dim: Optional[int] = None,
                 depths: Optional[Sequence[int]] = None,
                 num_heads: Optional[Sequence[int]] = None,
                 window_size: Optional[int] = None,
                 mid_channels: int = 64,
                 mlp_ratio: float = 2.,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1,
                 patch_norm: bool = True,
                 block_cfg: dict = dict(type='SwinTransformerBlock'),
                 group_cfg: dict = dict(type='ResidualSwinTransformerBlock'),
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        settings = resolve_arch(
            'SwinIR',
            self.arch_settings,
            arch,
            embed_dim=embed_dim,
            depths=depths,
            num_heads=num_heads,
            window_size=window_size)
        depths, num_heads = settings['depths'], settings['num_heads']
        if len(depths) != len(num_heads):
            raise ValueError('depths and num_heads must have the same length')
        dim = settings['embed_dim']
        self.window_size = settings['window_size']
        self.upscale_factor = upscale_factor
        self.with_cp = with_cp
        self.out_channels = mid_channels if upscale_factor is None \
            else out_channels

        self.conv_first = nn.Conv2d(in_channels, dim, 3, 1, 1)
        self.patch_norm = nn.LayerNorm(dim) if patch_norm else nn.Identity()
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        block_cfg = dict(
            block_cfg,
            mlp_ratio=mlp_ratio,
            qkv_bias=qkv_bias,
            drop=drop_rate,
            attn_drop=attn_drop_rate)
        self.layers = nn.ModuleList()
        for i, (depth, heads) in enumerate(zip(depths, num_heads)):
            start = sum(depths[:i])
            self.layers.append(
                MODELS.build(
                    dict(
                        group_cfg,
                        dim=dim,
                        depth=depth,
                        num_heads=heads,
                        window_size=self.window_size,
                        drop_path=rates[start:start + depth],
                        block_cfg=block_cfg)))
        self.norm = nn.LayerNorm(dim)
        self.conv_after_body = nn.Conv2d(dim, dim, 3, 1, 1)
        self.conv_before_upsample = nn.Sequential(
            nn.Conv2d(dim, mid_channels, 3, 1, 1), nn.LeakyReLU(inplace=True))
        if upscale_factor is not None:
            self.upsample = PixelShuffleUpsampler(upscale_factor, mid_channels)
            self.conv_last = nn.Conv2d(mid_channels, out_channels, 3, 1, 1)
        self.apply(self._init_linear_and_norm)

    @staticmethod
    def _init_linear_and_norm(module: nn.Module) -> None:
        """SwinIR's init: truncated normal (std .02) Linear weights, zero
        biases, LayerNorm weight 1 and bias 0; convs keep PyTorch's."""
        if isinstance(module, nn.Linear):
            trunc_normal_(module.weight, std=.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def forward_body(self, x: torch.Tensor) -> torch.Tensor:
        """Residual groups on a padded map ``(B, C, H, W) -> (B, C, H, W)``."""
        b, c, h, w = x.shape
        tokens = self.patch_norm(x.flatten(2).transpose(1, 2))
        for layer in self.layers:
            if self.with_cp and tokens.requires_grad:
                tokens = checkpoint(layer, tokens, (h, w), use_reentrant=False)
            else:
                tokens = layer(tokens, (h, w))
        return self.norm(tokens).transpose(1, 2).reshape(b, c, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad_h = -h % self.window_size
        pad_w = -w % self.window_size
        x = F.pad(x, (0, pad_w, 0, pad_h), mode='reflect')
        x = self.conv_first(x)
        x = x + self.conv_after_body(self.forward_body(x))
        x = self.conv_before_upsample(x)
        if self.upscale_factor is None:
            return x[..., :h, :w]
        s = self.upscale_factor
        return self.conv_last(self.upsample(x))[..., :s * h, :s * w]

"""EDSR (Lim et al., CVPRW 2017): enhanced deep residual network."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from pathsr.registry import MODELS
from ..layers import PixelShuffleUpsampler, ResidualBlockNoBN
from .arch_settings import resolve_arch


@MODELS.register_module()
class EDSR(BaseModule):
    """EDSR: ``(B, 3, h, w) -> (B, 3, s*h, s*w)``, or features without upsampler.

    head conv3x3 -> ``num_blocks`` residual blocks + conv3x3 with a long skip
    -> pixel-shuffle upsampler -> conv3x3 to RGB. The RGB mean shift of the
    original code is done by the data preprocessor (``mean`` in its config).

    With ``upscale_factor=None`` the tail is dropped and the network returns
    the ``(B, mid_channels, h, w)`` feature map (the encoder of LIIF/LTE).

    Args:
        arch: ``'baseline'`` (16 blocks x 64 channels, res_scale 1) or
            ``'paper'`` (32 x 256, res_scale 0.1), or ``None`` to give the
            three numbers explicitly.
        upscale_factor: 2, 3, 4 (any power of two) or ``None`` for features.
    """

    arch_settings = {
        'baseline': dict(num_blocks=16, mid_channels=64, res_scale=1.0),
        'paper': dict(num_blocks=32, mid_channels=256, res_scale=0.1),
    }

    def __init__(self,
                 arch: Optional[str] = 'baseline',
                 upscale_factor: Optional[int] = 4,
                 in_channels: int = 3,
                 out_channels: int = 3,
                 num_blocks: Optional[int] = None,
                 mid_channels: Optional[int] = None,
                 res_scale: Optional[float] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        settings = resolve_arch(
            'EDSR',
            self.arch_settings,
            arch,
            num_blocks=num_blocks,
            mid_channels=mid_channels,
            res_scale=res_scale)
        channels = settings['mid_channels']
        self.upscale_factor = upscale_factor
        self.out_channels = channels if upscale_factor is None \
            else out_channels
        self.conv_first = nn.Conv2d(in_channels, channels, 3, 1, 1)
        self.body = nn.Sequential(*[
            ResidualBlockNoBN(channels, settings['res_scale'])
            for _ in range(settings['num_blocks'])
        ])
        self.conv_after_body = nn.Conv2d(channels, channels, 3, 1, 1)
        if upscale_factor is not None:
            self.upsample = PixelShuffleUpsampler(upscale_factor, channels)
            self.conv_last = nn.Conv2d(channels, out_channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_first(x)
        x = x + self.conv_after_body(self.body(x))
        if self.upscale_factor is None:
            return x
        return self.conv_last(self.upsample(x))

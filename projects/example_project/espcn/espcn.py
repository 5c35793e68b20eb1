"""ESPCN (Shi et al., CVPR 2016), registered from outside the pathsr package."""
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from pathsr.registry import MODELS


@MODELS.register_module()
class ESPCN(BaseModule):
    """Efficient sub-pixel CNN: ``(B, 3, h, w) -> (B, 3, s*h, s*w)``.

    conv5x5 (3 -> 64) + tanh, conv3x3 (64 -> 32) + tanh, conv3x3
    (32 -> 3 s^2), then a pixel shuffle by ``s``; all in LR space.

    Args:
        upscale_factor: Integer scale ``s``.
        channels: Feature channels of the first two layers.
    """

    def __init__(self,
                 upscale_factor: int = 4,
                 channels: tuple = (64, 32),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.body = nn.Sequential(
            nn.Conv2d(3, channels[0], 5, 1, 2), nn.Tanh(),
            nn.Conv2d(channels[0], channels[1], 3, 1, 1), nn.Tanh(),
            nn.Conv2d(channels[1], 3 * upscale_factor**2, 3, 1, 1),
            nn.PixelShuffle(upscale_factor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

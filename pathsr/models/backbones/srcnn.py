"""SRCNN (Dong et al., TPAMI 2016) on bicubic-upsampled RGB input."""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from pathsr.registry import MODELS


@MODELS.register_module()
class SRCNN(BaseModule):
    """SRCNN: ``(B, 3, h, w) -> (B, 3, s*h, s*w)``.

    The LR input is first upsampled with PIL-style bicubic interpolation
    (``antialias=True`` selects PyTorch's PIL-compatible kernel, a = -0.5), then
    refined by three 'same'-padded convolutions 9x9 (3 -> 64) + ReLU,
    5x5 (64 -> 32) + ReLU, 5x5 (32 -> 3): the paper's 9-5-5 variant, on RGB
    instead of Y so that it compares with the other baselines.

    Args:
        upscale_factor: Integer scale ``s``.
        channels: Channels of the three layers (in, n1, n2, out).
        kernel_sizes: Kernel sizes of the three convolutions.
    """

    def __init__(self,
                 upscale_factor: int = 4,
                 channels: Sequence[int] = (3, 64, 32, 3),
                 kernel_sizes: Sequence[int] = (9, 5, 5),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(channels) != 4 or len(kernel_sizes) != 3:
            raise ValueError('SRCNN needs 4 channel numbers and 3 kernel '
                             f'sizes, got {channels} and {kernel_sizes}')
        self.upscale_factor = upscale_factor
        self.conv1 = nn.Conv2d(channels[0], channels[1], kernel_sizes[0], 1,
                               kernel_sizes[0] // 2)
        self.conv2 = nn.Conv2d(channels[1], channels[2], kernel_sizes[1], 1,
                               kernel_sizes[1] // 2)
        self.conv3 = nn.Conv2d(channels[2], channels[3], kernel_sizes[2], 1,
                               kernel_sizes[2] // 2)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(
            x,
            scale_factor=self.upscale_factor,
            mode='bicubic',
            align_corners=False,
            antialias=True)
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        return self.conv3(x)

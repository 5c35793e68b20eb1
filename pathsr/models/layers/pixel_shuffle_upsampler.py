"""Sub-pixel (pixel-shuffle) upsampler used by EDSR, SwinIR and HAT."""
import math

import torch
import torch.nn as nn


class PixelShuffleUpsampler(nn.Sequential):
    """Upsample ``(B, C, H, W)`` to ``(B, C, sH, sW)`` by convolution + pixel shuffle.

    A power of two is done in ``log2(s)`` steps of conv ``C -> 4C`` + shuffle 2;
    ``s = 3`` in one step of conv ``C -> 9C`` + shuffle 3. No activation.

    Args:
        scale: Upscaling factor, a power of two or 3.
        channels: Number of feature channels ``C``.
    """

    def __init__(self, scale: int, channels: int) -> None:
        layers = []
        if scale >= 2 and (scale & (scale - 1)) == 0:
            for _ in range(int(math.log2(scale))):
                layers += [
                    nn.Conv2d(channels, 4 * channels, 3, 1, 1),
                    nn.PixelShuffle(2)
                ]
        elif scale == 3:
            layers += [nn.Conv2d(channels, 9 * channels, 3, 1, 1),
                       nn.PixelShuffle(3)]
        else:
            raise ValueError(
                f'PixelShuffleUpsampler supports scales 2^n and 3, got {scale}')
        super().__init__(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x)

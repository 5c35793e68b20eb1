"""Bicubic interpolation as a parameter-free "network"."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from pathsr.registry import MODELS


@MODELS.register_module()
class Bicubic(nn.Module):
    """Upsample ``(B, C, h, w)`` to ``(B, C, s*h, s*w)`` by bicubic interpolation.

    Uses PyTorch's antialiased bicubic kernel, which is PIL's (a = -0.5), the
    family that made the LR images in the LIIF/ISTE protocol (reference §6.3,
    A18). It has no parameters, so ``tools/test.py`` evaluates it with no
    checkpoint, through the same model wrapper as every network.

    Args:
        upscale_factor: Integer scale ``s``.
    """

    def __init__(self, upscale_factor: int = 4) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(
            x,
            scale_factor=self.upscale_factor,
            mode='bicubic',
            align_corners=False,
            antialias=True)

"""Residual block without normalisation, as in EDSR."""
import torch
import torch.nn as nn
from mmengine.model import BaseModule


class ResidualBlockNoBN(BaseModule):
    """``x + res_scale * conv3x3(relu(conv3x3(x)))`` on ``(B, C, H, W)``.

    Args:
        channels: Number of feature channels ``C``.
        res_scale: Scale of the residual branch (0.1 in the full EDSR).
    """

    def __init__(self, channels: int = 64, res_scale: float = 1.0) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.relu(self.conv1(x))) * self.res_scale

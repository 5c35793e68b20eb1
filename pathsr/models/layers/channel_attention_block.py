"""Channel attention block (CAB) of HAT."""
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from pathsr.registry import MODELS


@MODELS.register_module()
class CAB(BaseModule):
    """Convolutions followed by RCAN channel attention, ``(B, C, H, W)`` to
    ``(B, C, H, W)``.

    ``y = conv3x3(GELU(conv3x3(x)))`` (``C -> C // compress_ratio -> C``),
    then ``y * sigmoid(conv1x1(ReLU(conv1x1(avgpool(y)))))`` with the 1x1
    convs squeezing ``C -> C // squeeze_factor -> C``. There is no skip
    connection inside the block (HAB adds it, scaled).

    Args:
        dim: Channels ``C``.
        compress_ratio: Channel reduction of the middle of the conv pair.
        squeeze_factor: Channel reduction of the attention bottleneck.
    """

    def __init__(self,
                 dim: int,
                 compress_ratio: int = 3,
                 squeeze_factor: int = 30) -> None:
        super().__init__()
        hidden = dim // compress_ratio
        squeezed = dim // squeeze_factor
        if hidden < 1 or squeezed < 1:
            raise ValueError(f'dim {dim} is too small for compress_ratio '
                             f'{compress_ratio} / squeeze_factor '
                             f'{squeeze_factor}')
        self.body = nn.Sequential(
            nn.Conv2d(dim, hidden, 3, 1, 1), nn.GELU(),
            nn.Conv2d(hidden, dim, 3, 1, 1))
        self.attention = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, squeezed, 1),
            nn.ReLU(inplace=True), nn.Conv2d(squeezed, dim, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return y * self.attention(y)

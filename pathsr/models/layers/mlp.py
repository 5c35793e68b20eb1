"""The per-query MLP decoder of implicit SR heads."""
from typing import Sequence

import torch
import torch.nn as nn

from pathsr.registry import MODELS


@MODELS.register_module()
class MLP(nn.Sequential):
    """``(..., in_dim) -> (..., out_dim)``: Linear + ReLU per hidden layer,
    then a final Linear with no activation (LIIF's ``imnet``).

    Args:
        in_dim: Input features (set by the head that builds it).
        out_dim: Output features, 3 for RGB.
        hidden_list: Widths of the hidden layers, e.g. ``[256] * 4`` (LIIF)
            or ``[256] * 3`` (LTE, ISTE).
    """

    def __init__(self,
                 in_dim: int,
                 out_dim: int = 3,
                 hidden_list: Sequence[int] = (256, 256, 256, 256)) -> None:
        layers = []
        last = in_dim
        for hidden in hidden_list:
            layers += [nn.Linear(last, hidden), nn.ReLU(inplace=True)]
            last = hidden
        layers.append(nn.Linear(last, out_dim))
        super().__init__(*layers)
        self.in_dim = in_dim
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x)

    def after_first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """The layers after the first Linear, applied to its output ``x``
        ``(..., hidden_list[0])`` (heads that compute the first layer
        themselves)."""
        for layer in list(self)[1:]:
            x = layer(x)
        return x

"""Texture Learner of ISTE (Qu et al., MICCAI 2023).

Amplitude and frequency maps at LR resolution, and per HR query the texture
``Amp * sin(FreqX * dy + FreqY * dx + Phase(cell))``: maps ``(B, 3D, h, w)``
from features ``(B, C, h, w)``; textures ``(..., D)`` from the maps' codes
``(..., 3D)`` and the query's relative coordinate and cell ``(..., 2)``.
"""
import math
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from pathsr.registry import MODELS
from pathsr.utils.amp import float32_region, upcast


@MODELS.register_module()
class TextureLearner(BaseModule):
    """A local sinusoidal texture per query, estimated from the LR features.

    ``maps`` computes once per image, with 3x3 convolutions of the LR
    features, the amplitude, the x-frequency and the y-frequency maps (``D``
    channels each), concatenated in that order. ``forward`` reads the codes
    of those maps at a query's LR pixel and returns, channel by channel,
    ``amplitude * sin(freq_x * rel_coord[0] + freq_y * rel_coord[1] +
    2 pi sigmoid(Linear(2 -> D, no bias)(rel_cell)))``. ``rel_coord`` is the
    (row, column) offset of the query from the code's centre: the official
    code multiplies the "x" frequency map by the row offset and the "y" map
    by the column offset, and so does this module (the names only tell the
    maps apart). Unlike LTE there is no ``pi`` factor, no cosine half and one
    phase per channel. Under autocast the maps and the sinusoid stay in
    float32, as in LTE.

    Args:
        in_channels: ``C``, the channels of the LR features.
        texture_dim: ``D``, channels of each map and of the texture.
    """

    def __init__(self,
                 in_channels: int = 64,
                 texture_dim: int = 256,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.texture_dim = texture_dim
        self.amplitude = nn.Conv2d(in_channels, texture_dim, 3, padding=1)
        self.freq_x = nn.Conv2d(in_channels, texture_dim, 3, padding=1)
        self.freq_y = nn.Conv2d(in_channels, texture_dim, 3, padding=1)
        self.phase = nn.Linear(2, texture_dim, bias=False)

    def maps(self, feat: torch.Tensor) -> torch.Tensor:
        """``(B, C, h, w) -> (B, 3 D, h, w)``: amplitude, freq_x, freq_y."""
        with float32_region(feat.device):
            feat = upcast(feat)
            return torch.cat(
                [self.amplitude(feat),
                 self.freq_x(feat),
                 self.freq_y(feat)], 1)

    def forward(self, codes: torch.Tensor, rel_coord: torch.Tensor,
                rel_cell: torch.Tensor) -> torch.Tensor:
        """Textures ``(..., D)`` from map codes ``(..., 3 D)``, relative
        coordinates and cells ``(..., 2)`` (LIIF's scaling: the offset or
        cell in the ``[-1, 1]`` frame times ``(h, w)``; broadcast against
        each other)."""
        amplitude, freq_x, freq_y = codes.split(self.texture_dim, -1)
        with float32_region(codes.device):
            rel_coord = upcast(rel_coord)
            phase = 2 * math.pi * torch.sigmoid(self.phase(upcast(rel_cell)))
            return amplitude * torch.sin(freq_x * rel_coord[..., :1] +
                                         freq_y * rel_coord[..., 1:] + phase)

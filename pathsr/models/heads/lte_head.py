"""LTE (Lee & Jin, CVPR 2022): local texture estimator."""
import math
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from pathsr.registry import MODELS
from pathsr.utils.amp import float32_region, upcast
from .local_ensemble import bilinear_skip, ensemble_query, gather_codes


@MODELS.register_module()
class LTEHead(BaseModule):
    """Decode RGB at HR coordinates through a local Fourier representation.

    From the LR features, 3x3 convolutions estimate an amplitude map and a
    frequency map (``hidden_dim`` channels each, read as ``hidden_dim / 2``
    (fy, fx) pairs: channel ``2k`` multiplies the row offset, ``2k + 1`` the
    column offset); the phase is ``Linear(2 -> hidden_dim / 2, no bias)`` of
    the relative cell. Per code, with ``t = f . rel_coord + phase``, the MLP
    reads ``amplitude * [cos(pi t), sin(pi t)]``; predictions are blended
    with the local-ensemble weights and the bilinearly upsampled LR input
    (border padding) is added. Shapes: ``(B, C, h, w)`` features, ``(B, N,
    2)`` coord/cell, ``(B, 3, h, w)`` normalised input -> ``(B, N, 3)``.
    Under autocast the maps and the Fourier basis stay in float32 (only the
    MLP runs in bf16): the phase ``t`` reaches tens of periods.

    Args:
        in_channels: ``C``, the encoder's output channels.
        hidden_dim: Channels of the amplitude and frequency maps (256).
        imnet: Config of the decoder (default MLP, hidden ``[256] * 3``).
        local_ensemble: Blend the four surrounding codes.
    """

    def __init__(self,
                 in_channels: int = 64,
                 hidden_dim: int = 256,
                 imnet: Optional[dict] = None,
                 local_ensemble: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if hidden_dim % 2:
            raise ValueError(f'hidden_dim must be even, got {hidden_dim}')
        self.local_ensemble = local_ensemble
        self.coef = nn.Conv2d(in_channels, hidden_dim, 3, padding=1)
        self.freq = nn.Conv2d(in_channels, hidden_dim, 3, padding=1)
        self.phase = nn.Linear(2, hidden_dim // 2, bias=False)
        imnet = imnet or dict(type='MLP', out_dim=3, hidden_list=[256] * 3)
        self.imnet = MODELS.build(imnet, default_args=dict(in_dim=hidden_dim))

    def prepare(self, feat: torch.Tensor,
                inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Amplitude and frequency maps, computed once per image."""
        with float32_region(feat.device):
            feat = upcast(feat)
            return dict(
                coef=self.coef(feat), freq=self.freq(feat), inputs=inputs)

    def query(self, state: Dict[str, torch.Tensor], coord: torch.Tensor,
              cell: torch.Tensor) -> torch.Tensor:
        """RGB ``(B, N, 3)`` at ``coord`` with cells ``cell``."""
        coef, freq = state['coef'], state['freq']
        lr_shape = coef.shape[-2:]
        q = ensemble_query(coord, lr_shape, self.local_ensemble)
        q_coef = gather_codes(coef, q.row, q.col)
        q_freq = gather_codes(freq, q.row, q.col)
        q_freq = q_freq.unflatten(-1, (-1, 2))  # (..., hidden / 2, (fy, fx))
        with float32_region(coord.device):
            t = (q_freq * upcast(q.rel_coord[..., None, :])).sum(-1)
            rel_cell = upcast(cell * cell.new_tensor(lr_shape))
            t = t + self.phase(rel_cell)[:, None]
            x = q_coef * torch.cat([torch.cos(math.pi * t),
                                    torch.sin(math.pi * t)], -1)
        pred = (self.imnet(x) * q.weight[..., None]).sum(1)
        return pred + bilinear_skip(state['inputs'], coord)

    def forward(self, feat: torch.Tensor, coord: torch.Tensor,
                cell: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        return self.query(self.prepare(feat, inputs), coord, cell)

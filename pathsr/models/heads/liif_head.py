"""LIIF (Chen et al., CVPR 2021): local implicit image function."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from pathsr.registry import MODELS
from ..layers.mlp import MLP
from .local_ensemble import ensemble_query, gather_codes


@MODELS.register_module()
class LIIFHead(BaseModule):
    """Decode RGB at arbitrary HR coordinates from an LR feature map.

    For each query and each of its (up to) four latent codes, the MLP
    ``imnet`` reads ``[code (C, or 9 C with feat_unfold), relative coordinate
    (2), relative cell (2, with cell_decode)]`` — coordinate and cell in LR
    pixel units — and the RGB predictions are blended with the local-ensemble
    area weights. Shapes: feature map ``(B, C, h, w)``, ``coord`` and ``cell``
    ``(B, N, 2)`` -> ``(B, N, 3)``.

    Args:
        in_channels: ``C``, the encoder's output channels.
        imnet: Config of the decoder; its ``in_dim`` is filled in here.
            Default: the paper's MLP, hidden ``[256] * 4``.
        feat_unfold: Concatenate the 3x3 neighbourhood of each code.
        local_ensemble: Blend the four surrounding codes.
        cell_decode: Give the MLP the query's cell size.
        fold_first_layer: Apply the first layer's code part per LR pixel
            (needs an :class:`MLP` ``imnet``).
    """

    def __init__(self,
                 in_channels: int = 64,
                 imnet: Optional[dict] = None,
                 feat_unfold: bool = True,
                 local_ensemble: bool = True,
                 cell_decode: bool = True,
                 fold_first_layer: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.feat_unfold = feat_unfold
        self.local_ensemble = local_ensemble
        self.cell_decode = cell_decode
        in_dim = in_channels * (9 if feat_unfold else 1) + 2
        in_dim += 2 if cell_decode else 0
        imnet = imnet or dict(type='MLP', out_dim=3, hidden_list=[256] * 4)
        self.imnet = MODELS.build(imnet, default_args=dict(in_dim=in_dim))
        self.code_dim = in_dim - (4 if cell_decode else 2)
        if fold_first_layer and not isinstance(self.imnet, MLP):
            raise ValueError('fold_first_layer needs an MLP imnet, got '
                             f'{type(self.imnet).__name__}')
        self.fold_first_layer = fold_first_layer

    def prepare(self, feat: torch.Tensor,
                inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Per-image state computed once before the queries: the feature
        map, or with ``fold_first_layer`` the first layer's code part
        ``(B, hidden, h, w)`` (its bias included)."""
        if not self.fold_first_layer:
            return dict(feat=feat)
        first = self.imnet[0]
        weight = first.weight[:, :self.code_dim]
        if self.feat_unfold:  # column c * 9 + 3 di + dj -> (c, di, dj)
            weight = weight.unflatten(1, (-1, 3, 3))
            return dict(first=F.conv2d(feat, weight, first.bias, padding=1))
        return dict(first=F.conv2d(feat, weight[..., None, None], first.bias))

    def query(self, state: Dict[str, torch.Tensor], coord: torch.Tensor,
              cell: torch.Tensor) -> torch.Tensor:
        """RGB ``(B, N, 3)`` at ``coord`` with cells ``cell``."""
        fmap = state['first'] if self.fold_first_layer else state['feat']
        lr_shape = fmap.shape[-2:]
        q = ensemble_query(coord, lr_shape, self.local_ensemble)
        geometry = [q.rel_coord]
        if self.cell_decode:
            rel_cell = cell * cell.new_tensor(lr_shape)
            geometry.append(rel_cell[:, None].expand_as(q.rel_coord))
        if self.fold_first_layer:
            first = self.imnet[0]
            hidden = gather_codes(fmap, q.row, q.col) + F.linear(
                torch.cat(geometry, -1), first.weight[:, self.code_dim:])
            pred = self.imnet.after_first_layer(hidden)
        else:
            pred = self.imnet(
                torch.cat([
                    gather_codes(fmap, q.row, q.col, self.feat_unfold),
                    *geometry
                ], -1))
        return (pred * q.weight[..., None]).sum(1)

    def forward(self, feat: torch.Tensor, coord: torch.Tensor,
                cell: torch.Tensor,
                inputs: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.query(self.prepare(feat, inputs), coord, cell)

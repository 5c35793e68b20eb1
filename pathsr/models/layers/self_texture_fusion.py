"""Self-Texture Fusion of ISTE (Qu et al., MICCAI 2023).

Every pixel feature retrieves the most similar texture feature of a key set
and adds a fusion of the two weighted by their similarity: pixel features
``(..., Nq, D)`` and texture features ``(..., Nk, D)`` -> ``(..., Nq, D)``.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from pathsr.registry import MODELS


@MODELS.register_module()
class SelfTextureFusion(BaseModule):
    """Hard retrieval plus soft weighting (TTSR-style) of texture features.

    With ``Q`` the pixel features and ``K = V`` the texture features, ``S_i
    = max_j cos(Q_i, K_j)`` and ``j_i`` its index (the first on ties). The
    output is ``Q_i + Linear(2D -> D, no bias)([Q_i ; V_{j_i}]) * S_i``.
    Which textures form the key set is the caller's choice: in the official
    code the queries of one forward call (``ISTEHead(stf_mode='faithful')``),
    in pathsr's default fixed positions per LR tile
    (:mod:`pathsr.models.layers.stf_key_set`).

    Args:
        dim: ``D``, channels of the pixel and texture features.
        query_block: Queries whose similarities to all keys are computed at
            once. It bounds the memory of the similarity matrix to
            ``query_block x Nk`` per batch entry and does not change results.
    """

    def __init__(self,
                 dim: int = 256,
                 query_block: int = 1024,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if query_block < 1:
            raise ValueError(f'query_block must be >= 1, got {query_block}')
        self.query_block = query_block
        self.fuse = nn.Linear(2 * dim, dim, bias=False)

    def retrieve(self, query: torch.Tensor,
                 key: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Similarity ``S`` and index of the best key, ``(..., Nq)`` each,
        for queries ``(..., Nq, D)`` and keys ``(..., Nk, D)``.

        The arg-max is searched without autograd; ``S`` is then recomputed
        from the retrieved pairs, which gives the gradient of the maximum
        without back-propagating through the ``Nq x Nk`` matrix.
        """
        query = F.normalize(query, dim=-1)
        key = F.normalize(key, dim=-1)
        with torch.no_grad():
            key_t = key.transpose(-1, -2)
            index = torch.cat([(block @ key_t).argmax(-1)
                               for block in query.split(self.query_block, -2)],
                              -1)
        return (query * self.gather(key, index)).sum(-1), index

    @staticmethod
    def gather(value: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Rows ``(..., Nq, D)`` of ``value`` ``(..., Nk, D)`` at ``index``
        ``(..., Nq)``."""
        return value.gather(
            -2, index[..., None].expand(*index.shape, value.size(-1)))

    def fuse_texture(self, query: torch.Tensor, texture: torch.Tensor,
                     score: torch.Tensor) -> torch.Tensor:
        """``Q + Linear([Q ; T]) * S`` for retrieved textures ``T``."""
        return query + self.fuse(torch.cat([query, texture], -1)) * \
            score[..., None]

    def forward(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        score, index = self.retrieve(query, key)
        return self.fuse_texture(query, self.gather(key, index), score)

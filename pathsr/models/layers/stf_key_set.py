"""The key set of ISTE's Self-Texture Fusion in pathsr's ``'tiled'`` mode.

The official code lets each query retrieve among the textures of every
query of the same forward call (``stf_mode='faithful'``). The ``'tiled'``
key set replaces that pool by one that depends on the image and the query
position only: the LR image is cut into tiles of ``tile_size`` pixels and
the keys of a tile are the textures at ``num_keys`` fixed positions spread
over it by the R2 low-discrepancy sequence. This module holds that
geometry; :class:`~pathsr.models.heads.ISTEHead` evaluates the textures at
the positions and :class:`SelfTextureFusion` searches them.
"""
from typing import List, Tuple

import torch

# the plastic number g (g^3 = g + 1): (1/g, 1/g^2) generates the R2
# low-discrepancy sequence of Roberts (2018)
_PLASTIC = 1.324717957244746


def r2_positions(num: int) -> torch.Tensor:
    """``num`` points of the R2 sequence in ``[0, 1)^2``, ``(num, 2)`` (row,
    column): ``frac(0.5 + n (1/g, 1/g^2))`` for ``n = 1 .. num``; the key
    positions of a tile, in units of the tile's sides."""
    n = torch.arange(1, num + 1, dtype=torch.float64)[:, None]
    alpha = torch.tensor([1 / _PLASTIC, 1 / _PLASTIC**2], dtype=torch.float64)
    return ((0.5 + n * alpha) % 1).float()


def tile_axis(coord: torch.Tensor, length: int,
              tile_size: int) -> Tuple[torch.Tensor, List[int], int]:
    """The tiles along one LR axis of ``length`` pixels.

    Tiles are ``min(tile_size, length)`` pixels from the first pixel; the
    last one is moved back to end at the border, so every tile is full.

    Args:
        coord: Query coordinates ``(B, N)`` in ``[-1, 1]`` along the axis.
        length: LR pixels along the axis.
        tile_size: Tile side in LR pixels.

    Returns:
        The tile index of each query ``(B, N)`` (the tile of the LR pixel
        containing it), the first pixel of each tile and the tile size.
    """
    size = min(tile_size, length)
    count = -(-length // size)
    starts = [min(i * size, length - size) for i in range(count)]
    pixel = ((coord + 1) / 2 * length).floor().long().clamp(0, length - 1)
    return (pixel // size).clamp(max=count - 1), starts, size

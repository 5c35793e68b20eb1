"""Residual Swin Transformer Block (RSTB), the residual group of SwinIR."""
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from pathsr.registry import MODELS


@MODELS.register_module()
class ResidualSwinTransformerBlock(BaseModule):
    """``depth`` transformer blocks, a 3x3 conv and a skip on ``(B, H*W, C)``.

    ``x + tokens(conv3x3(image(blocks(x))))`` where ``image`` reshapes the
    tokens to ``(B, C, H, W)`` (SwinIR's '1conv' residual connection). Block
    ``i`` is built from ``block_cfg`` with ``dim``, ``num_heads``,
    ``window_size``, ``shift_size`` (0 for even ``i``, ``window_size // 2``
    for odd ``i``) and ``drop_path[i]`` filled in, so any block type taking
    these arguments and ``forward(x, x_size)`` can be swapped in.

    Args:
        dim: Token channels ``C``.
        depth: Number of blocks.
        num_heads: Attention heads of every block.
        window_size: Window side of every block.
        drop_path: Stochastic depth rate, one for all blocks or one per block.
        block_cfg: Config of the blocks, other arguments included (e.g.
            ``mlp_ratio``, ``qkv_bias``).
    """

    def __init__(self,
                 dim: int,
                 depth: int,
                 num_heads: int,
                 window_size: int = 8,
                 drop_path: Union[float, Sequence[float]] = 0.,
                 block_cfg: dict = dict(type='SwinTransformerBlock')) -> None:
        super().__init__()
        if isinstance(drop_path, (int, float)):
            drop_path = [float(drop_path)] * depth
        if len(drop_path) != depth:
            raise ValueError(f'{len(drop_path)} drop path rates for '
                             f'{depth} blocks')
        self.blocks = nn.ModuleList([
            MODELS.build(
                dict(
                    block_cfg,
                    dim=dim,
                    num_heads=num_heads,
                    window_size=window_size,
                    shift_size=0 if i % 2 == 0 else window_size // 2,
                    drop_path=drop_path[i])) for i in range(depth)
        ])
        self.conv = nn.Conv2d(dim, dim, 3, 1, 1)

    def forward(self, x: torch.Tensor,
                x_size: Tuple[int, int]) -> torch.Tensor:
        out = x
        for block in self.blocks:
            out = block(out, x_size)
        b, length, c = out.shape
        out = out.transpose(1, 2).reshape(b, c, *x_size)
        return x + self.conv(out).flatten(2).transpose(1, 2)

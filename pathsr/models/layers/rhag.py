"""Residual hybrid attention group (RHAG), the residual group of HAT."""
from typing import Sequence, Tuple, Union

import torch

from pathsr.registry import MODELS
from .overlapping_cross_attention import OCAB
from .rstb import ResidualSwinTransformerBlock


@MODELS.register_module()
class RHAG(ResidualSwinTransformerBlock):
    """``depth`` blocks, an OCAB, a 3x3 conv and a skip on ``(B, H*W, C)``.

    ``x + tokens(conv3x3(image(OCAB(blocks(x)))))``. The blocks are built
    from ``block_cfg`` as in :class:`ResidualSwinTransformerBlock` (shift 0
    for even and ``window_size // 2`` for odd blocks), so HAB or any block
    with the same arguments and ``forward(x, x_size)`` can be used. The OCAB
    takes ``mlp_ratio`` and ``qkv_bias`` from ``block_cfg`` (HAT's defaults
    2 and True when absent).

    Args:
        dim: Token channels ``C``.
        depth: Number of blocks.
        num_heads: Attention heads of the blocks and of the OCAB.
        window_size: Window side of the blocks and query window of the OCAB.
        drop_path: Stochastic depth rate, one for all blocks or one per block.
        block_cfg: Config of the blocks, other arguments included.
        overlap_ratio: Key-window growth of the OCAB.
    """

    def __init__(self,
                 dim: int,
                 depth: int,
                 num_heads: int,
                 window_size: int = 16,
                 drop_path: Union[float, Sequence[float]] = 0.,
                 block_cfg: dict = dict(type='HAB'),
                 overlap_ratio: float = 0.5) -> None:
        super().__init__(
            dim,
            depth,
            num_heads,
            window_size=window_size,
            drop_path=drop_path,
            block_cfg=block_cfg)
        self.overlap_attn = OCAB(
            dim,
            num_heads,
            window_size=window_size,
            overlap_ratio=overlap_ratio,
            qkv_bias=block_cfg.get('qkv_bias', True),
            mlp_ratio=block_cfg.get('mlp_ratio', 2.))

    def forward(self, x: torch.Tensor,
                x_size: Tuple[int, int]) -> torch.Tensor:
        out = x
        for block in self.blocks:
            out = block(out, x_size)
        out = self.overlap_attn(out, x_size)
        b, _, c = out.shape
        out = out.transpose(1, 2).reshape(b, c, *x_size)
        return x + self.conv(out).flatten(2).transpose(1, 2)

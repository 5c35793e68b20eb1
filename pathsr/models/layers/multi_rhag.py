"""Multi-residual hybrid attention group (M-RHAG) of MiHATP (Xu et al.,
MICCAI 2024), the residual group of its generator."""
from typing import Sequence, Union

from pathsr.registry import MODELS
from .rhag import RHAG


@MODELS.register_module()
class MRHAG(RHAG):
    """An :class:`RHAG` whose blocks are M-HABs (the paper's Eq. 4, see
    :class:`MHAB`), on tokens ``(B, H*W, C) -> (B, H*W, C)``:
    ``x + tokens(conv3x3(image(OCAB(M-HAB_depth(... M-HAB_1(x))))))``.

    The parameters and their names are those of an RHAG built with
    ``block_cfg=dict(type='MHAB')``; :class:`HAT` builds its groups as
    M-RHAGs whenever its blocks are M-HABs, so MiHATP's generator is made of
    M-RHAGs.

    Args:
        dim: Token channels ``C``.
        depth: Number of M-HABs.
        num_heads: Attention heads of the blocks and of the OCAB.
        window_size: Window side of the blocks and query window of the OCAB.
        drop_path: Stochastic depth rate, one for all blocks or one per block.
        block_cfg: Config of the M-HABs; its ``type`` must be ``'MHAB'``.
        overlap_ratio: Key-window growth of the OCAB.
    """

    def __init__(self,
                 dim: int,
                 depth: int,
                 num_heads: int,
                 window_size: int = 16,
                 drop_path: Union[float, Sequence[float]] = 0.,
                 block_cfg: dict = dict(type='MHAB'),
                 overlap_ratio: float = 0.5) -> None:
        if block_cfg.get('type') != 'MHAB':
            raise ValueError("MRHAG is built of M-HABs: block_cfg['type'] "
                             f"must be 'MHAB', got {block_cfg.get('type')!r}")
        super().__init__(
            dim,
            depth,
            num_heads,
            window_size=window_size,
            drop_path=drop_path,
            block_cfg=block_cfg,
            overlap_ratio=overlap_ratio)

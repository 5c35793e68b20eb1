"""Multi-residual hybrid attention group (M-RHAG) of MiHATP (Xu et al.,
MICCAI 2024), the residual group of its generator."""
from typing import Any

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
        *args: ``dim``, ``depth``, ``num_heads``, ... as for :class:`RHAG`.
        block_cfg: Config of the M-HABs; its ``type`` must be ``'MHAB'``.
        **kwargs: The other arguments of :class:`RHAG`.
    """

    def __init__(self,
                 *args: Any,
                 block_cfg: dict = dict(type='MHAB'),
                 **kwargs: Any) -> None:
        if block_cfg.get('type') != 'MHAB':
            raise ValueError("MRHAG is built of M-HABs: block_cfg['type'] "
                             f"must be 'MHAB', got {block_cfg.get('type')!r}")
        super().__init__(*args, block_cfg=block_cfg, **kwargs)

"""HAT (Chen et al., CVPR 2023): hybrid attention transformer for SR."""
from typing import Optional, Sequence

from pathsr.registry import MODELS
from .arch_settings import resolve_arch
from .swinir import SwinIR


@MODELS.register_module()
class HAT(SwinIR):
    """HAT: ``(B, 3, h, w) -> (B, 3, s*h, s*w)``.

    The SwinIR pipeline (see :class:`SwinIR`: reflect padding to a multiple
    of ``window_size`` = HAT's pad to 16 at test, conv -> tokens + LayerNorm
    -> residual groups -> LayerNorm -> conv + long skip -> conv to 64 +
    LeakyReLU -> pixel-shuffle upsampler -> conv to RGB, cropped) with
    residual hybrid attention groups (:class:`RHAG`: HABs, then an OCAB;
    :class:`MRHAG` when the blocks are M-HABs) instead of RSTBs. HAT has
    only the pixel-shuffle upsampler, so ``upscale_factor`` may not be
    None. The mean shift of the original code
    is done by the data preprocessor. A variant differs from HAT only by
    ``block_cfg`` (its ``type`` and arguments); ``compress_ratio``,
    ``squeeze_factor`` and ``conv_scale`` are given to every block.

    Args:
        arch: ``'paper'`` (embed 180, 6 groups of 6 blocks, 6 heads, window
            16, CAB 180 -> 60 -> 180 squeezed to 6), ``'demo'`` (embed 32,
            2 groups of 2 blocks, 2 heads, window 8, CAB compress 2 and
            squeeze 8, for CPU tests and demos) or ``None``; explicit
            ``embed_dim``, ``depths``, ``num_heads``, ``window_size``,
            ``compress_ratio`` or ``squeeze_factor`` override the table.
        upscale_factor: 2, 3, 4 or 8.
        in_channels: Input channels.
        out_channels: Output channels.
        mid_channels: Channels before the upsampler.
        compress_ratio: Channel reduction inside the CAB.
        squeeze_factor: Channel-attention squeeze of the CAB.
        conv_scale: Weight of the CAB branch.
        overlap_ratio: Key-window growth of the OCAB (window ``w`` ->
            ``int(w * overlap_ratio) + w``).
        mlp_ratio: MLP hidden width over ``embed_dim`` (blocks and OCAB).
        qkv_bias: Whether the qkv projections have a bias.
        drop_rate: Dropout in the blocks.
        attn_drop_rate: Dropout on the window attention weights.
        drop_path_rate: Stochastic depth rate of the last block, increased
            linearly from 0 over all blocks.
        patch_norm: LayerNorm after the patch embedding.
        block_cfg: Config of the blocks (default :class:`HAB`).
        with_cp: Activation checkpointing of the residual groups while
            training (see :class:`SwinIR`).
        init_cfg: mmengine initialisation config.
    """

    arch_settings = {
        'paper':
        dict(embed_dim=180, depths=(6, ) * 6, num_heads=(6, ) * 6,
             window_size=16, compress_ratio=3, squeeze_factor=30),
        'demo':
        dict(embed_dim=32, depths=(2, 2), num_heads=(2, 2), window_size=8,
             compress_ratio=2, squeeze_factor=8),
    }

    def __init__(self,
                 arch: Optional[str] = 'paper',
                 upscale_factor: int = 4,
                 in_channels: int = 3,
                 out_channels: int = 3,
                 embed_dim: Optional[int] = None,
                 depths: Optional[Sequence[int]] = None,
                 num_heads: Optional[Sequence[int]] = None,
                 window_size: Optional[int] = None,
                 mid_channels: int = 64,
                 compress_ratio: Optional[int] = None,
                 squeeze_factor: Optional[int] = None,
                 conv_scale: float = 0.01,
                 overlap_ratio: float = 0.5,
                 mlp_ratio: float = 2.,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1,
                 patch_norm: bool = True,
                 block_cfg: dict = dict(type='HAB'),
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        if upscale_factor is None:
            raise ValueError('HAT has only the pixel-shuffle upsampler; '
                             'upscale_factor may not be None')
        settings = resolve_arch(
            'HAT',
            self.arch_settings,
            arch,
            embed_dim=embed_dim,
            depths=depths,
            num_heads=num_heads,
            window_size=window_size,
            compress_ratio=compress_ratio,
            squeeze_factor=squeeze_factor)
        super().__init__(
            arch=None,
            upscale_factor=upscale_factor,
            in_channels=in_channels,
            out_channels=out_channels,
            embed_dim=settings['embed_dim'],
            depths=settings['depths'],
            num_heads=settings['num_heads'],
            window_size=settings['window_size'],
            mid_channels=mid_channels,
            mlp_ratio=mlp_ratio,
            qkv_bias=qkv_bias,
            drop_rate=drop_rate,
            attn_drop_rate=attn_drop_rate,
            drop_path_rate=drop_path_rate,
            patch_norm=patch_norm,
            block_cfg=dict(
                block_cfg,
                compress_ratio=settings['compress_ratio'],
                squeeze_factor=settings['squeeze_factor'],
                conv_scale=conv_scale),
            # MiHATP: a group of M-HABs is an M-RHAG
            group_cfg=dict(
                type='MRHAG' if block_cfg.get('type') == 'MHAB' else 'RHAG',
                overlap_ratio=overlap_ratio),
            with_cp=with_cp,
            init_cfg=init_cfg)

"""Multi-hybrid attention block (M-HAB) of MiHATP, the paper's Eq. 4."""
from typing import Optional, Tuple

import torch

from pathsr.registry import MODELS
from .deformable_attention import DeformableAttention
from .hybrid_attention_block import HAB


@MODELS.register_module()
class MHAB(HAB):
    """HAB with a third, deformable-attention branch (Xu et al., MICCAI 2024).

    Tokens ``(B, H*W, C) -> (B, H*W, C)``. Eq. 4 of MiHATP, with
    ``image`` reshaping tokens to ``(B, C, H, W)``::

        X_Norm = LN(X)
        X_Med  = (S)W-MSA(X_Norm) + alpha * CAB(X_Norm) + beta * DAT(X_Norm)
        out    = X_Norm + MLP(LN(X_Med + X)) + X_Med + X

    ``(S)W-MSA``, its shift mask, ``CAB`` and the MLP are those of
    :class:`HAB` (alpha = ``conv_scale``); ``DAT`` is
    :class:`DeformableAttention` over the whole ``H x W`` map with
    ``num_heads`` heads. Drop path wraps the window attention and the MLP,
    as in HAT. The ``X_Norm`` term is printed in Eq. 4 but absent from HAT's
    HAB; ``norm_residual=False`` drops it (then, with ``dat_scale=0``, the
    block computes exactly a HAB).

    Args:
        dim: Token channels ``C``.
        num_heads: Heads of the window and the deformable attention.
        window_size: Window side ``w``; ``H`` and ``W`` must be multiples.
        shift_size: Cyclic shift, 0 or ``w // 2``.
        compress_ratio: Channel reduction inside the CAB.
        squeeze_factor: Channel-attention squeeze of the CAB.
        conv_scale: alpha, the weight of the CAB branch (0.01).
        dat_scale: beta, the weight of the deformable-attention branch (0.01).
        dat_cfg: Extra arguments of :class:`DeformableAttention`
            (``offset_groups``, ``kv_stride``, ``offset_kernel``,
            ``offset_range_factor``, ``use_rpe``, ``rpe_table_size``);
            ``None`` keeps its defaults (3 groups, stride 4, kernel 5,
            range 2, DAT++ position bias).
        norm_residual: Add ``X_Norm`` to the output as Eq. 4 prints.
        mlp_ratio: MLP hidden width over ``dim``.
        qkv_bias: Whether the q/k/v projections have a bias.
        drop: Dropout after the attention projections and in the MLP.
        attn_drop: Dropout on the attention weights.
        drop_path: Stochastic depth rate of the attention and MLP branches.
        act_cfg: Activation of the MLP.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 window_size: int = 16,
                 shift_size: int = 0,
                 compress_ratio: int = 3,
                 squeeze_factor: int = 30,
                 conv_scale: float = 0.01,
                 dat_scale: float = 0.01,
                 dat_cfg: Optional[dict] = None,
                 norm_residual: bool = True,
                 mlp_ratio: float = 2.,
                 qkv_bias: bool = True,
                 drop: float = 0.,
                 attn_drop: float = 0.,
                 drop_path: float = 0.,
                 act_cfg: dict = dict(type='GELU')) -> None:
        super().__init__(
            dim,
            num_heads,
            window_size=window_size,
            shift_size=shift_size,
            compress_ratio=compress_ratio,
            squeeze_factor=squeeze_factor,
            conv_scale=conv_scale,
            mlp_ratio=mlp_ratio,
            qkv_bias=qkv_bias,
            drop=drop,
            attn_drop=attn_drop,
            drop_path=drop_path,
            act_cfg=act_cfg)
        self.dat_scale = dat_scale
        self.norm_residual = norm_residual
        self.deformable_attn = DeformableAttention(
            dim,
            num_heads,
            qkv_bias=qkv_bias,
            attn_drop=attn_drop,
            proj_drop=drop,
            **(dat_cfg or {}))

    def forward(self, x: torch.Tensor,
                x_size: Tuple[int, int]) -> torch.Tensor:
        self.check_size(x, x_size)
        h, w = x_size
        b, length, c = x.shape
        x_norm = self.norm1(x)
        image = x_norm.transpose(1, 2).reshape(b, c, h, w)
        attn_x = self.shifted_window_attention(x_norm.view(b, h, w, c))
        branches = self.conv_scale * self.conv_block(image) + \
            self.dat_scale * self.deformable_attn(image)
        x_med = self.drop_path(attn_x.reshape(b, length, c)) + \
            branches.flatten(2).transpose(1, 2)
        out = x + x_med + self.drop_path(self.mlp(self.norm2(x + x_med)))
        return out + x_norm if self.norm_residual else out

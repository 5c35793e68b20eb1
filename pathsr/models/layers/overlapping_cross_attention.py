"""Overlapping cross-attention block (OCAB) of HAT."""
from functools import partial
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer
from mmengine.model import BaseModule
from timm.layers import Mlp, trunc_normal_

from pathsr.registry import MODELS
from .window_attention import window_partition, window_reverse


@MODELS.register_module()
class OCAB(BaseModule):
    """Window queries attending to overlapping, larger key/value windows.

    Tokens ``(B, H*W, C) -> (B, H*W, C)``:
    ``x = x + proj(OCA(LN(x)))`` then ``x = x + MLP(LN(x))``.

    One Linear makes q, k and v from ``LN(x)``. Queries are taken in
    non-overlapping ``w x w`` windows; keys and values in windows of side
    ``ow = int(w * overlap_ratio) + w`` centred on them, cut by
    :func:`torch.nn.functional.unfold` (kernel ``ow``, stride ``w``, zero
    padding ``(ow - w) // 2``), so border windows also see zero keys/values
    (not masked, as in HAT). The logits
    ``q k^T / sqrt(C / heads) + bias`` are given to
    ``scaled_dot_product_attention``; ``bias`` is read from a learned
    ``((w + ow - 1)^2, heads)`` table by the offset of the key from the
    query in the image (each component in ``[-(w-1) - p, (w-1) + p]``,
    ``p = (ow - w) // 2``). There is no shift and no mask. ``H`` and ``W``
    must be multiples of ``w``.

    Args:
        dim: Token channels ``C``.
        num_heads: Attention heads.
        window_size: Query window side ``w``.
        overlap_ratio: Key windows grow by ``int(w * overlap_ratio)``.
        qkv_bias: Whether the qkv projection has a bias.
        mlp_ratio: MLP hidden width over ``dim``.
        act_cfg: Activation of the MLP.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 window_size: int = 16,
                 overlap_ratio: float = 0.5,
                 qkv_bias: bool = True,
                 mlp_ratio: float = 2.,
                 act_cfg: dict = dict(type='GELU')) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim {dim} is not divisible by '
                             f'num_heads {num_heads}')
        self.num_heads = num_heads
        self.window_size = window_size
        self.overlap_win_size = int(window_size * overlap_ratio) + window_size
        if (self.overlap_win_size - window_size) % 2:
            raise ValueError(f'overlap_ratio {overlap_ratio} gives an odd '
                             f'overlap for window {window_size}')
        self.padding = (self.overlap_win_size - window_size) // 2
        span = window_size + self.overlap_win_size - 1
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros(span * span, num_heads))
        # offsets of key positions (in the image) from query positions
        q_coords = torch.stack(
            torch.meshgrid(torch.arange(window_size),
                           torch.arange(window_size),
                           indexing='ij')).flatten(1)
        k_coords = torch.stack(
            torch.meshgrid(torch.arange(self.overlap_win_size),
                           torch.arange(self.overlap_win_size),
                           indexing='ij')).flatten(1) - self.padding
        offsets = k_coords[:, None, :] - q_coords[:, :, None] + \
            window_size - 1 + self.padding
        index = offsets[0] * span + offsets[1]
        # derived from the sizes, so kept out of the state dict
        self.register_buffer('relative_position_index', index,
                             persistent=False)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(
            in_features=dim,
            hidden_features=int(dim * mlp_ratio),
            act_layer=partial(build_activation_layer, act_cfg))
        trunc_normal_(self.relative_position_bias_table, std=.02)

    def relative_position_bias(self) -> torch.Tensor:
        """The bias ``(heads, w*w, ow*ow)`` added to the attention logits."""
        bias = self.relative_position_bias_table[
            self.relative_position_index.view(-1)]
        return bias.view(*self.relative_position_index.shape,
                         -1).permute(2, 0, 1)

    def forward(self, x: torch.Tensor,
                x_size: Tuple[int, int]) -> torch.Tensor:
        h, w = x_size
        b, length, c = x.shape
        ws, ows = self.window_size, self.overlap_win_size
        if length != h * w or h % ws or w % ws:
            raise ValueError(f'{length} tokens do not form a {h}x{w} map of '
                             f'whole {ws}-windows')
        heads = self.num_heads
        qkv = self.qkv(self.norm1(x)).view(b, h, w, 3 * c)
        # (B*nW, heads, w*w, d)
        q = window_partition(qkv[..., :c], ws)
        q = q.view(q.shape[0], ws * ws, heads, -1).transpose(1, 2)
        # unfold: (B, 2C*ow*ow, nW), channels major, windows row-major
        kv = F.unfold(
            qkv[..., c:].permute(0, 3, 1, 2),
            ows,
            stride=ws,
            padding=self.padding)
        kv = kv.view(b, 2, heads, c // heads, ows * ows, -1)
        k, v = kv.permute(1, 0, 5, 2, 4, 3).reshape(2, -1, heads, ows * ows,
                                                    c // heads).unbind(0)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=self.relative_position_bias().to(q.dtype))
        out = out.transpose(1, 2).reshape(-1, ws * ws, c)
        out = window_reverse(out, ws, h, w).reshape(b, length, c)
        x = x + self.proj(out)
        return x + self.mlp(self.norm2(x))

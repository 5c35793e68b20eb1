"""Window multi-head self-attention of Swin/SwinIR, and window helpers."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from timm.layers import to_2tuple, trunc_normal_

from pathsr.registry import MODELS


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """Split ``(B, H, W, C)`` into windows ``(B*nW, w*w, C)``.

    Windows are ordered row-major over the ``(H/w, W/w)`` window grid, image
    by image; tokens inside a window are row-major too. ``H`` and ``W`` must
    be multiples of ``w``.
    """
    b, h, w, c = x.shape
    ws = window_size
    x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, c)


def window_reverse(windows: torch.Tensor, window_size: int, h: int,
                   w: int) -> torch.Tensor:
    """Undo :func:`window_partition`: ``(B*nW, w*w, C) -> (B, H, W, C)``."""
    ws = window_size
    c = windows.shape[-1]
    x = windows.view(-1, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, h, w, c)


def shift_window_mask(h: int, w: int, window_size: int, shift_size: int,
                      device: Optional[torch.device] = None) -> torch.Tensor:
    """Additive attention mask ``(nW, w*w, w*w)`` of shifted windows.

    After rolling an ``H x W`` map by ``-shift_size`` the image splits into
    3 x 3 regions (bands ``[0, H-w)``, ``[H-w, H-s)``, ``[H-s, H)`` in each
    direction); two tokens of one window may attend to each other only if they
    come from the same region. Entries are 0 (same region) or -100 (Swin's
    convention, added to the logits).
    """
    rows = torch.arange(h, device=device)
    cols = torch.arange(w, device=device)
    row_region = (rows >= h - window_size).long() + (rows >= h - shift_size)
    col_region = (cols >= w - window_size).long() + (cols >= w - shift_size)
    labels = row_region[:, None] * 3 + col_region[None, :]
    labels = window_partition(labels[None, :, :, None], window_size)[..., 0]
    different = labels[:, :, None] != labels[:, None, :]
    return different.float() * -100.0


@MODELS.register_module()
class WindowAttention(BaseModule):
    """Multi-head self-attention inside windows with a relative position bias.

    ``(B*nW, w*w, C) -> (B*nW, w*w, C)``. The logits are
    ``q k^T / sqrt(C / heads) + bias (+ mask)``, where ``bias`` is read from a
    learned ``((2w-1)^2, heads)`` table by the relative offset of the two
    tokens; the sum is given to ``scaled_dot_product_attention`` as its
    additive ``attn_mask``.

    Args:
        dim: Token channels ``C``.
        window_size: Window side ``w`` (an int or a pair).
        num_heads: Number of attention heads.
        qkv_bias: Whether the qkv projection has a bias.
        attn_drop: Dropout on the attention weights (training only).
        proj_drop: Dropout after the output projection.
    """

    def __init__(self,
                 dim: int,
                 window_size: int,
                 num_heads: int,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim {dim} is not divisible by '
                             f'num_heads {num_heads}')
        self.dim = dim
        self.window_size = to_2tuple(window_size)
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * wh - 1) * (2 * ww - 1), num_heads))
        coords = torch.stack(
            torch.meshgrid(torch.arange(wh), torch.arange(ww),
                           indexing='ij')).flatten(1)
        offsets = coords[:, :, None] - coords[:, None, :]
        index = (offsets[0] + wh - 1) * (2 * ww - 1) + offsets[1] + ww - 1
        # derived from window_size, so kept out of the state dict
        self.register_buffer('relative_position_index', index,
                             persistent=False)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        trunc_normal_(self.relative_position_bias_table, std=.02)

    def relative_position_bias(self) -> torch.Tensor:
        """The bias ``(heads, w*w, w*w)`` added to the attention logits."""
        n = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[
            self.relative_position_index.view(-1)]
        return bias.view(n, n, -1).permute(2, 0, 1)

    def forward(self,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Attend within each window.

        Args:
            x: Windows ``(B*nW, w*w, C)``, as made by :func:`window_partition`.
            mask: Optional additive mask ``(nW, w*w, w*w)`` (0 / -100), the
                same for every image of the batch.

        Returns:
            ``(B*nW, w*w, C)``.
        """
        num_windows, n, c = x.shape
        qkv = self.qkv(x).view(num_windows, n, 3, self.num_heads,
                               c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn_mask = self.relative_position_bias()
        if mask is not None:
            # (B, nW, heads, N, d) against a (nW, heads, N, N) mask
            nw = mask.shape[0]
            q, k, v = (t.view(-1, nw, *t.shape[1:]) for t in (q, k, v))
            attn_mask = attn_mask + mask[:, None]
        out = F.scaled_dot_product_attention(
            q, k, v,
            attn_mask=attn_mask.to(q.dtype),
            dropout_p=self.attn_drop if self.training else 0.)
        out = out.reshape(num_windows, self.num_heads, n, -1)
        out = out.transpose(1, 2).reshape(num_windows, n, c)
        return self.proj_drop(self.proj(out))

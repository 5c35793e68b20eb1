"""Deformable multi-head attention of DAT (Xia et al., CVPR 2022)."""
from typing import Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from timm.layers import LayerNorm2d, to_2tuple, trunc_normal_

from pathsr.registry import MODELS


@MODELS.register_module()
class DeformableAttention(BaseModule):
    """Deformable attention on a whole feature map, ``(B, C, H, W) -> same``.

    Every one of the ``H*W`` queries attends to ``Ns = Hk*Wk`` keys/values
    read from ``x`` at learned positions, ``Hk = ceil(H / r)``,
    ``Wk = ceil(W / r)`` for the kv stride ``r``:

    1. ``q = proj_q(x)`` (1x1 conv), split into ``G`` offset groups of
       ``C/G`` channels, ``(B*G, C/G, H, W)``.
    2. Offset network, shared by the groups: depth-wise ``k x k`` conv with
       stride ``r`` and padding ``k // 2`` -> LayerNorm over channels -> GELU
       -> 1x1 conv to 2 channels (no bias), giving ``(B*G, 2, Hk, Wk)``.
       With ``offset_range_factor = s > 0`` an offset is bounded as in DAT v1,
       ``tanh(offset) * (s / Wk, s / Hk)``; with ``s <= 0`` it is unbounded
       and the sampling positions are clamped to ``[-1, 1]`` (DAT++).
    3. Reference points are the ``Hk x Wk`` cell centres
       ``(i + 0.5) / Hk * 2 - 1`` (DAT v1); ``pos = ref + offset``.
    4. ``x`` (not ``q``) is sampled per group at ``pos`` with bilinear
       ``grid_sample(align_corners=True)``, as DAT does, so ``-1`` and ``1``
       are the centres of the first and last pixels. The cell-centre grid is
       therefore not the pixel grid even for ``r = 1``: point ``i`` reads the
       fractional pixel ``(i + 0.5) * (H - 1) / H``.
    5. ``k, v`` are 1x1 convs of the sampled map; multi-head attention
       ``softmax(q k^T * head_dim^-0.5 + bias) v`` runs through
       ``scaled_dot_product_attention`` with the bias as its additive mask;
       then ``proj_out`` (1x1 conv) and dropout.

    The relative position bias is the DAT++ (v2) one, usable at any input
    size: a learnable ``(heads, 2*Th - 1, 2*Tw - 1)`` table, with
    ``(Th, Tw) = rpe_table_size``, read by bilinear ``grid_sample``
    (``align_corners=True``) at the displacement ``(q_grid - pos) * 0.5``,
    where ``q_grid`` puts the query pixels on ``linspace(-1, 1, H)`` (the
    ``align_corners=True`` frame of ``pos``). One table cell is one pixel of
    displacement for a ``Th x Tw`` input; at other sizes the same table is
    interpolated. Head ``h`` reads the bias of offset group
    ``h // (heads / G)``.

    At initialisation the last conv of the offset network is zero, so
    ``pos == ref`` exactly and the keys come from the reference grid; its
    weight still receives gradients, so the offsets can move off zero.

    Memory: the logits and the bias are ``(B, heads, H*W, Hk*Wk)``, i.e.
    ``1 / r^2`` of full-resolution attention.

    Args:
        dim: Channels ``C``; divisible by ``num_heads``.
        num_heads: Number of heads; divisible by ``offset_groups``.
        offset_groups: Number of offset groups ``G``.
        kv_stride: Stride ``r`` of the offset network (key grid ``Hk x Wk``).
        offset_kernel: Kernel ``k`` of the depth-wise offset conv.
        offset_range_factor: Bound ``s`` of the offsets in key cells;
            ``<= 0`` leaves them unbounded.
        use_rpe: Whether to add the relative position bias.
        rpe_table_size: Input size ``(Th, Tw)`` (an int or a pair) at which
            one table cell is one pixel of displacement.
        qkv_bias: Whether the q, k and v convs have a bias.
        attn_drop: Dropout on the attention weights (training only).
        proj_drop: Dropout after ``proj_out``.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int = 6,
                 offset_groups: int = 3,
                 kv_stride: int = 4,
                 offset_kernel: int = 5,
                 offset_range_factor: float = 2.0,
                 use_rpe: bool = True,
                 rpe_table_size: Union[int, Tuple[int, int]] = 64,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim {dim} is not divisible by '
                             f'num_heads {num_heads}')
        if num_heads % offset_groups:
            raise ValueError(f'num_heads {num_heads} is not divisible by '
                             f'offset_groups {offset_groups}')
        self.dim = dim
        self.num_heads = num_heads
        self.offset_groups = offset_groups
        self.kv_stride = kv_stride
        self.offset_range_factor = offset_range_factor
        self.use_rpe = use_rpe
        self.attn_drop = attn_drop
        group_dim = dim // offset_groups
        self.proj_q = nn.Conv2d(dim, dim, 1, bias=qkv_bias)
        self.proj_k = nn.Conv2d(dim, dim, 1, bias=qkv_bias)
        self.proj_v = nn.Conv2d(dim, dim, 1, bias=qkv_bias)
        self.conv_offset = nn.Sequential(
            nn.Conv2d(group_dim, group_dim, offset_kernel, kv_stride,
                      offset_kernel // 2, groups=group_dim),
            LayerNorm2d(group_dim),
            nn.GELU(),
            nn.Conv2d(group_dim, 2, 1, bias=False))
        nn.init.zeros_(self.conv_offset[-1].weight)
        if use_rpe:
            th, tw = to_2tuple(rpe_table_size)
            self.rpe_table = nn.Parameter(
                torch.zeros(num_heads, 2 * th - 1, 2 * tw - 1))
            trunc_normal_(self.rpe_table, std=.01)
        self.proj_out = nn.Conv2d(dim, dim, 1)
        self.proj_drop = nn.Dropout(proj_drop)

    def _sampling_points(
            self, q: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Sampling positions from the queries ``(B, C, H, W)``.

        Returns:
            ``(pos, ref)``, each ``(B*G, Hk, Wk, 2)`` in ``grid_sample``
            order ``(x, y)`` and normalised to ``[-1, 1]``.
        """
        b, c, h, w = q.shape
        g = self.offset_groups
        offset = self.conv_offset(q.reshape(b * g, c // g, h, w))
        offset = offset.permute(0, 2, 3, 1)
        hk, wk = offset.shape[1:3]
        ys = ((torch.arange(hk, dtype=q.dtype, device=q.device) + 0.5) / hk *
              2 - 1)
        xs = ((torch.arange(wk, dtype=q.dtype, device=q.device) + 0.5) / wk *
              2 - 1)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
        ref = torch.stack((grid_x, grid_y), -1).expand(b * g, -1, -1, -1)
        if self.offset_range_factor > 0:
            offset_range = offset.new_tensor([1.0 / wk, 1.0 / hk])
            offset = offset.tanh() * offset_range * self.offset_range_factor
            return ref + offset, ref
        return (ref + offset).clamp(-1, 1), ref

    def sampling_points(
            self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Sampling positions ``pos`` and reference points ``ref`` for ``x``.

        Args:
            x: Features ``(B, C, H, W)``.

        Returns:
            ``(pos, ref)``, each ``(B*G, Hk, Wk, 2)``, last dim ``(x, y)`` in
            ``[-1, 1]`` (``pos`` may leave it by the offset bound).
        """
        return self._sampling_points(self.proj_q(x))

    def sample(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Read ``x`` at ``pos``, each offset group at its own positions.

        Args:
            x: Features ``(B, C, H, W)``.
            pos: Positions ``(B*G, Hk, Wk, 2)`` from :meth:`sampling_points`.

        Returns:
            The sampled map ``(B, C, Hk, Wk)`` (bilinear,
            ``align_corners=True``, zeros outside).
        """
        b, c, h, w = x.shape
        g = self.offset_groups
        sampled = F.grid_sample(
            x.reshape(b * g, c // g, h, w),
            pos,
            mode='bilinear',
            padding_mode='zeros',
            align_corners=True)
        return sampled.reshape(b, c, *pos.shape[1:3])

    def relative_position_bias(self, pos: torch.Tensor, h: int,
                               w: int) -> torch.Tensor:
        """Bias ``(B, heads, H*W, Hk*Wk)`` of ``H x W`` queries to ``pos``.

        Args:
            pos: Positions ``(B*G, Hk, Wk, 2)`` from :meth:`sampling_points`.
            h: Query height ``H``.
            w: Query width ``W``.
        """
        bg = pos.shape[0]
        g = self.offset_groups
        ys = torch.linspace(-1, 1, h, dtype=pos.dtype, device=pos.device)
        xs = torch.linspace(-1, 1, w, dtype=pos.dtype, device=pos.device)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
        q_grid = torch.stack((grid_x, grid_y), -1).reshape(1, h * w, 1, 2)
        displacement = (q_grid - pos.reshape(bg, 1, -1, 2)) * 0.5
        table = self.rpe_table.expand(bg // g, -1, -1, -1).reshape(
            bg, self.num_heads // g, *self.rpe_table.shape[1:])
        bias = F.grid_sample(
            table, displacement, mode='bilinear', align_corners=True)
        return bias.reshape(bg // g, self.num_heads, h * w, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Deformable attention over the whole map.

        Args:
            x: Features ``(B, C, H, W)``; token sequences ``(B, H*W, C)``
                must be reshaped to this layout by the caller.

        Returns:
            ``(B, C, H, W)``.
        """
        b, c, h, w = x.shape
        heads = self.num_heads
        q = self.proj_q(x)
        pos, _ = self._sampling_points(q)
        sampled = self.sample(x, pos)
        q = q.reshape(b, heads, c // heads, h * w).transpose(-2, -1)
        k = self.proj_k(sampled).reshape(b, heads, c // heads,
                                         -1).transpose(-2, -1)
        v = self.proj_v(sampled).reshape(b, heads, c // heads,
                                         -1).transpose(-2, -1)
        attn_mask = None
        if self.use_rpe:
            attn_mask = self.relative_position_bias(pos, h, w).to(q.dtype)
        out = F.scaled_dot_product_attention(
            q, k, v,
            attn_mask=attn_mask,
            dropout_p=self.attn_drop if self.training else 0.)
        out = out.transpose(-2, -1).reshape(b, c, h, w)
        return self.proj_drop(self.proj_out(out))

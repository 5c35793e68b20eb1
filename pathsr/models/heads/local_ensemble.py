"""Query geometry shared by the implicit heads (LIIF, LTE, ISTE).

For each HR query coordinate the "local ensemble" of LIIF looks at the four
LR latent codes around it: the query is shifted by half an LR pixel in each
diagonal direction (plus ``eps``), clamped inside the image, and the nearest
LR pixel of each shifted point is taken. Each code's prediction is weighted
by the area of the rectangle spanned by the query and the *diagonally
opposite* code, normalised to sum to 1 — which is bilinear interpolation
when the decoder returns its code.
"""
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F


class EnsembleQuery(NamedTuple):
    """Where the ``S`` (4, or 1 without ensemble) codes of each query are.

    Shapes for ``B`` images and ``N`` queries: ``row``, ``col`` (LR pixel
    indices) and ``weight`` are ``(B, S, N)``; ``rel_coord`` is
    ``(B, S, N, 2)``, the query minus the code's centre (y, x), multiplied
    by ``(h, w)`` as LIIF does — so in half LR pixels, within ``[-2, 2]``
    (``[-1, 1]`` for the nearest code alone).
    """
    row: torch.Tensor
    col: torch.Tensor
    rel_coord: torch.Tensor
    weight: torch.Tensor


def ensemble_query(coord: torch.Tensor,
                   lr_shape: Sequence[int],
                   local_ensemble: bool = True,
                   eps: float = 1e-6) -> EnsembleQuery:
    """Locate the latent codes of the queries ``coord`` ``(B, N, 2)``.

    Args:
        coord: HR query coordinates (y, x) in ``[-1, 1]``.
        lr_shape: ``(h, w)`` of the LR feature map.
        local_ensemble: Use the four surrounding codes (True) or only the
            nearest one (False, weight 1).
        eps: Shift added to every shifted coordinate (LIIF: 1e-6), so that
            a query on a code boundary falls on a definite side.
    """
    h, w = lr_shape
    size = coord.new_tensor([h, w])
    if local_ensemble:
        shifts = coord.new_tensor([[-1, -1], [-1, 1], [1, -1], [1, 1]])
        shifted = coord[:, None] + shifts[None, :, None] / size + eps
    else:
        shifted = coord[:, None]
    shifted = shifted.clamp(-1 + 1e-6, 1 - 1e-6)
    # nearest LR pixel of a coordinate c: floor((c + 1) / 2 * n)
    index = ((shifted + 1) / 2 * size).floor().long()
    row = index[..., 0].clamp_(0, h - 1)
    col = index[..., 1].clamp_(0, w - 1)
    # LR pixel centres, in the queries' dtype (float64 stays exact)
    centre = (2 * torch.stack([row, col], -1) + 1).to(coord.dtype) / size - 1
    rel_coord = (coord[:, None] - centre) * size
    if local_ensemble:
        area = (rel_coord[..., 0] * rel_coord[..., 1]).abs() + 1e-9
        # the code of shift k takes the area of its diagonal opposite 3 - k
        weight = area.flip(1) / area.sum(1, keepdim=True)
    else:
        weight = torch.ones_like(rel_coord[..., 0])
    return EnsembleQuery(row, col, rel_coord, weight)


def gather_codes(feat: torch.Tensor,
                 row: torch.Tensor,
                 col: torch.Tensor,
                 unfold: bool = False) -> torch.Tensor:
    """The latent codes of ``feat`` ``(B, C, h, w)`` at LR pixels
    ``(row, col)`` ``(B, ...)``: ``(B, ..., C)``, or ``(B, ..., 9 C)`` with
    ``unfold`` — the 3x3 neighbourhood with zero padding, channel-major like
    ``F.unfold`` (channel ``c * 9 + k``), gathered per query so the 9-fold
    unfolded map is never stored."""
    batch, channels, h, w = feat.shape
    batch_index = torch.arange(batch, device=feat.device).view(
        batch, *([1] * (row.dim() - 1)))
    if not unfold:
        return feat.permute(0, 2, 3, 1)[batch_index, row, col]
    padded = F.pad(feat, (1, 1, 1, 1)).permute(0, 2, 3, 1)
    offsets = torch.arange(3, device=feat.device)
    grid = (*row.shape, 3, 3)  # neighbour k = 3 * di + dj, as F.unfold
    rows = (row[..., None, None] + offsets[:, None]).expand(grid).flatten(-2)
    cols = (col[..., None, None] + offsets[None, :]).expand(grid).flatten(-2)
    codes = padded[batch_index[..., None], rows, cols]  # (B, ..., 9, C)
    return codes.transpose(-1, -2).flatten(-2)


def bilinear_skip(inputs: torch.Tensor, coord: torch.Tensor) -> torch.Tensor:
    """The LR image ``inputs`` ``(B, 3, h, w)`` bilinearly interpolated at
    the HR coordinates ``coord`` ``(B, N, 2)`` (y, x; border padding): the
    ``(B, N, 3)`` image skip that LTE adds to its prediction."""
    skip = F.grid_sample(
        inputs,
        coord.flip(-1)[:, :, None],
        mode='bilinear',
        padding_mode='border',
        align_corners=False)
    return skip[..., 0].transpose(1, 2)

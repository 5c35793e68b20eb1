import pytest
import torch
import torch.nn.functional as F

from pathsr.models.layers import DeformableAttention
from pathsr.registry import MODELS


def interpolation_matrix(n: int) -> torch.Tensor:
    """``(n, n)`` linear weights reading ``n`` pixels at the cell centres
    ``(i + 0.5) / n * 2 - 1`` with ``align_corners=True``: fractional pixel
    ``(i + 0.5) * (n - 1) / n``."""
    a = torch.zeros(n, n)
    for i in range(n):
        p = (i + 0.5) * (n - 1) / n
        lo = int(p)
        frac = p - lo
        a[i, lo] += 1 - frac
        if frac:
            a[i, lo + 1] += frac
    return a


def test_zero_offsets_sample_the_reference_grid():
    torch.manual_seed(0)
    attn = DeformableAttention(
        dim=12, num_heads=6, offset_groups=3, kv_stride=1)
    assert torch.count_nonzero(attn.conv_offset[-1].weight) == 0
    h, w = 4, 6
    x = torch.randn(2, 12, h, w)
    pos, ref = attn.sampling_points(x)
    assert pos.shape == ref.shape == (2 * 3, h, w, 2)
    assert torch.equal(pos, ref)
    # (x, y) order, cell centres
    assert torch.allclose(ref[0, 0, :, 0], (torch.arange(w) + 0.5) / w * 2 - 1)
    assert torch.allclose(ref[0, :, 0, 1], (torch.arange(h) + 0.5) / h * 2 - 1)
    sampled = attn.sample(x, pos)
    expected = torch.einsum('ih,bchw,jw->bcij', interpolation_matrix(h), x,
                            interpolation_matrix(w))
    torch.testing.assert_close(sampled, expected, atol=1e-5, rtol=0)
    # the cell-centre grid is not the pixel grid under align_corners=True
    assert not torch.allclose(sampled, x, atol=1e-3)


@pytest.mark.parametrize('factor', [2.0, 0.5])
def test_offsets_are_bounded(factor):
    torch.manual_seed(0)
    attn = DeformableAttention(
        dim=12, offset_groups=3, kv_stride=4, offset_range_factor=factor)
    for p in attn.conv_offset.parameters():
        torch.nn.init.normal_(p, std=10.)
    pos, ref = attn.sampling_points(torch.randn(1, 12, 16, 32))
    hk, wk = 4, 8
    assert pos.shape == (3, hk, wk, 2)
    delta = (pos - ref).abs()
    assert (delta[..., 0] <= factor / wk + 1e-6).all()
    assert (delta[..., 1] <= factor / hk + 1e-6).all()
    # the bound is nearly reached, so the check is not vacuous
    assert delta[..., 1].max() > 0.9 * factor / hk


def test_unbounded_offsets_are_clamped():
    torch.manual_seed(0)
    attn = DeformableAttention(dim=12, offset_range_factor=-1)
    for p in attn.conv_offset.parameters():
        torch.nn.init.normal_(p, std=10.)
    pos, ref = attn.sampling_points(torch.randn(1, 12, 16, 16))
    assert pos.abs().max() <= 1
    assert (pos - ref).abs().max() > 1 / 4


def reference_deformable_attention(attn: DeformableAttention,
                                   x: torch.Tensor) -> torch.Tensor:
    """Plain attention: softmax(q k^T * scale + bias) @ v, bias looked up
    here from the table on the linspace(-1, 1) query grid."""
    b, c, h, w = x.shape
    heads, g = attn.num_heads, attn.offset_groups
    pos, _ = attn.sampling_points(x)
    sampled = F.grid_sample(
        x.reshape(b * g, c // g, h, w), pos, align_corners=True).reshape(
            b, c, -1)
    q = attn.proj_q(x).reshape(b, heads, c // heads, h * w)
    k = attn.proj_k(sampled.reshape(b, c, *pos.shape[1:3])).reshape(
        b, heads, c // heads, -1)
    v = attn.proj_v(sampled.reshape(b, c, *pos.shape[1:3])).reshape(
        b, heads, c // heads, -1)
    logits = q.transpose(-2, -1) @ k * (c // heads)**-0.5
    gy, gx = torch.meshgrid(
        torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing='ij')
    q_grid = torch.stack((gx, gy), -1).reshape(h * w, 1, 2)
    for i in range(b):
        for head in range(heads):
            group = head // (heads // g)
            disp = (q_grid - pos[i * g + group].reshape(1, -1, 2)) * 0.5
            bias = F.grid_sample(
                attn.rpe_table[None, head:head + 1], disp[None],
                align_corners=True)[0, 0]
            logits[i, head] += bias
    out = logits.softmax(-1) @ v.transpose(-2, -1)
    return attn.proj_out(out.transpose(-2, -1).reshape(b, c, h, w))


def test_sdpa_matches_softmax_reference():
    torch.manual_seed(0)
    attn = DeformableAttention(
        dim=12, num_heads=6, offset_groups=3, kv_stride=2, rpe_table_size=5)
    torch.nn.init.normal_(attn.rpe_table)
    torch.nn.init.normal_(attn.conv_offset[-1].weight)
    x = torch.randn(2, 12, 6, 5)
    out = attn(x)
    assert out.shape == x.shape
    torch.testing.assert_close(
        out, reference_deformable_attention(attn, x), atol=1e-5, rtol=0)


def test_any_input_size_and_registry():
    attn = MODELS.build(
        dict(type='DeformableAttention', dim=12, rpe_table_size=8))
    assert attn.rpe_table.shape == (6, 15, 15)
    for size in [(16, 16), (13, 21)]:
        x = torch.randn(1, 12, *size)
        assert attn(x).shape == x.shape
    pos, _ = attn.sampling_points(torch.randn(1, 12, 13, 21))
    assert pos.shape == (3, 4, 6, 2)


def test_without_rpe():
    attn = DeformableAttention(dim=12, use_rpe=False)
    assert not hasattr(attn, 'rpe_table')
    x = torch.randn(1, 12, 8, 8)
    assert attn(x).shape == x.shape


def test_heads_not_divisible_by_groups():
    with pytest.raises(ValueError, match='num_heads 6.*offset_groups 4'):
        DeformableAttention(dim=24, num_heads=6, offset_groups=4)
    with pytest.raises(ValueError, match='dim 10.*num_heads 6'):
        DeformableAttention(dim=10, num_heads=6)


def test_gradient_reaches_offset_network():
    torch.manual_seed(0)
    attn = DeformableAttention(dim=12, kv_stride=2)
    # at init only the last (zero) conv of the offset net gets a gradient
    attn(torch.randn(1, 12, 8, 8)).sum().backward()
    assert attn.conv_offset[-1].weight.grad.abs().sum() > 0
    attn.zero_grad()
    torch.nn.init.normal_(attn.conv_offset[-1].weight, std=0.1)
    attn(torch.randn(1, 12, 8, 8)).square().sum().backward()
    for p in attn.conv_offset.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0

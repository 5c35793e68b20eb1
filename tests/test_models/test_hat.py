import pytest
import torch
import torch.nn.functional as F

from pathsr.models.backbones import HAT, SwinIR
from pathsr.models.layers import (CAB, HAB, OCAB, RHAG, window_partition,
                                  window_reverse)
from pathsr.registry import MODELS


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_cab_matches_manual_composition():
    torch.manual_seed(0)
    cab = CAB(180)
    conv1, _, conv2 = cab.body
    _, squeeze, _, excite, _ = cab.attention
    assert (conv1.out_channels, squeeze.out_channels) == (60, 6)
    x = torch.randn(2, 180, 5, 7)
    y = conv2(F.gelu(conv1(x)))
    pooled = y.mean((2, 3), keepdim=True)
    weight = torch.sigmoid(excite(torch.relu(squeeze(pooled))))
    torch.testing.assert_close(cab(x), y * weight)
    # with a constant conv output b the attention is sigmoid of a function
    # of b, broadcast over the pixels
    torch.nn.init.zeros_(conv2.weight)
    out = cab(x)
    assert torch.allclose(out, out[..., :1, :1].expand_as(out))


def reference_ocab_attention(ocab: OCAB, x: torch.Tensor, h: int,
                             w: int) -> torch.Tensor:
    """Window-by-window softmax attention with the bias read by offset."""
    b, _, c = x.shape
    heads, ws, ows = ocab.num_heads, ocab.window_size, ocab.overlap_win_size
    pad = (ows - ws) // 2
    span = ws + ows - 1
    q, k, v = ocab.qkv(ocab.norm1(x)).view(b, h, w, 3, heads,
                                           c // heads).unbind(3)
    k = F.pad(k, (0, 0, 0, 0, pad, pad, pad, pad))
    v = F.pad(v, (0, 0, 0, 0, pad, pad, pad, pad))
    qy, qx = torch.meshgrid(torch.arange(ws), torch.arange(ws),
                            indexing='ij')
    ky, kx = torch.meshgrid(torch.arange(ows), torch.arange(ows),
                            indexing='ij')
    dy = (ky.flatten() - pad)[None] - qy.flatten()[:, None]
    dx = (kx.flatten() - pad)[None] - qx.flatten()[:, None]
    table = ocab.relative_position_bias_table
    bias = table[(dy + ws - 1 + pad) * span + dx + ws - 1 + pad]
    bias = bias.permute(2, 0, 1)
    out = torch.zeros(b, h, w, heads, c // heads)
    for i in range(0, h, ws):
        for j in range(0, w, ws):
            qw = q[:, i:i + ws, j:j + ws].flatten(1, 2).transpose(1, 2)
            kw = k[:, i:i + ows, j:j + ows].flatten(1, 2).transpose(1, 2)
            vw = v[:, i:i + ows, j:j + ows].flatten(1, 2).transpose(1, 2)
            logits = qw @ kw.transpose(-2, -1) * (c // heads)**-0.5 + bias
            window_out = (logits.softmax(-1) @ vw).transpose(1, 2)
            out[:, i:i + ws, j:j + ws] = window_out.view(b, ws, ws, heads, -1)
    return ocab.proj(out.view(b, h * w, c))


def test_ocab_matches_softmax_reference():
    torch.manual_seed(0)
    ocab = OCAB(8, num_heads=2, window_size=4, overlap_ratio=0.5)
    torch.nn.init.normal_(ocab.relative_position_bias_table)
    assert ocab.overlap_win_size == 6
    assert ocab.relative_position_bias_table.shape == (9 * 9, 2)
    # every table entry is reachable, and the index is not saved
    assert ocab.relative_position_index.unique().numel() == 81
    assert 'relative_position_index' not in ocab.state_dict()
    h, w = 8, 12
    x = torch.randn(2, h * w, 8)
    attn = x + reference_ocab_attention(ocab, x, h, w)
    expected = attn + ocab.mlp(ocab.norm2(attn))
    torch.testing.assert_close(ocab(x, (h, w)), expected, atol=1e-5, rtol=0)
    with pytest.raises(ValueError):
        ocab(torch.randn(1, 6 * 8, 8), (6, 8))


@pytest.mark.parametrize('shift', [0, 4])
def test_hab_is_window_attention_plus_scaled_cab(shift):
    torch.manual_seed(0)
    hab = HAB(16, 2, window_size=8, shift_size=shift, compress_ratio=2,
              squeeze_factor=4, conv_scale=0.).eval()
    torch.nn.init.zeros_(hab.mlp.fc2.weight)
    torch.nn.init.zeros_(hab.mlp.fc2.bias)
    h, w = 16, 8
    x = torch.randn(2, h * w, 16)
    x_n = hab.norm1(x).view(2, h, w, 16)
    mask = hab.attn_mask(h, w, x.device) if shift else None
    rolled = torch.roll(x_n, (-shift, -shift), (1, 2))
    attn = window_reverse(hab.attn(window_partition(rolled, 8), mask), 8, h,
                          w)
    attn = torch.roll(attn, (shift, shift), (1, 2)).reshape(2, h * w, 16)
    torch.testing.assert_close(hab(x, (h, w)), x + attn, atol=1e-5, rtol=0)
    # the CAB branch adds conv_scale * CAB(LN(x))
    conv = hab.conv_block(x_n.permute(0, 3, 1, 2)).flatten(2).transpose(1, 2)
    hab.conv_scale = 0.5
    torch.testing.assert_close(
        hab(x, (h, w)), x + attn + 0.5 * conv, atol=1e-5, rtol=0)


def test_rhag_builds_hab_blocks_and_an_ocab():
    rhag = MODELS.build(
        dict(
            type='RHAG',
            dim=16,
            depth=4,
            num_heads=2,
            window_size=8,
            drop_path=[0., .1, .2, .3],
            overlap_ratio=0.5,
            block_cfg=dict(
                type='HAB', compress_ratio=2, squeeze_factor=4,
                mlp_ratio=4.)))
    assert isinstance(rhag, RHAG)
    assert all(isinstance(b, HAB) for b in rhag.blocks)
    assert [b.shift_size for b in rhag.blocks] == [0, 4, 0, 4]
    assert rhag.blocks[3].drop_path.drop_prob == pytest.approx(.3)
    assert rhag.overlap_attn.overlap_win_size == 12
    assert rhag.overlap_attn.mlp.fc1.out_features == 64
    assert rhag(torch.randn(2, 64, 16), (8, 8)).shape == (2, 64, 16)


def test_paper_parameter_counts():
    x4 = count(HAT('paper', upscale_factor=4))
    x2 = count(HAT('paper', upscale_factor=2))
    print(f'HAT x4: {x4} parameters, x2: {x2}')
    # 20.8 M (x4) in the HAT paper
    assert abs(x4 - 20.8e6) / 20.8e6 < 0.02
    # one more conv 64 -> 256 of the x4 upsampler
    assert x4 - x2 == 64 * 256 * 9 + 256


def test_hat_differs_from_swinir_by_cab_and_ocab():
    hat = HAT('demo', upscale_factor=2)
    swinir = SwinIR(None, upscale_factor=2, embed_dim=32, depths=(2, 2),
                    num_heads=(2, 2), window_size=8)
    extra = sum(
        count(layer.overlap_attn) +
        sum(count(block.conv_block) for block in layer.blocks)
        for layer in hat.layers)
    assert count(hat) - count(swinir) == extra
    assert hat.layers[0].blocks[0].conv_scale == 0.01
    with pytest.raises(ValueError):
        HAT('demo', upscale_factor=None)


def test_demo_output_shape_padding_and_gradients():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='HAT', arch='demo', upscale_factor=4))
    assert model.window_size == 8
    x = torch.rand(1, 3, 13, 10, requires_grad=True)
    out = model(x)
    assert out.shape == (1, 3, 52, 40)
    out.mean().backward()
    assert x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        padded = F.pad(x, (0, 6, 0, 3), mode='reflect')
        torch.testing.assert_close(
            model(x), model(padded)[..., :52, :40])

import pytest
import torch
import torch.nn.functional as F

from pathsr.models.backbones import SwinIR
from pathsr.models.layers import (ResidualSwinTransformerBlock,
                                  SwinTransformerBlock, WindowAttention,
                                  shift_window_mask, window_partition,
                                  window_reverse)
from pathsr.registry import MODELS


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def reference_window_attention(attn: WindowAttention, x: torch.Tensor,
                               mask=None) -> torch.Tensor:
    """Plain attention: softmax(q k^T * scale + bias + mask) @ v."""
    bw, n, c = x.shape
    heads = attn.num_heads
    q, k, v = attn.qkv(x).view(bw, n, 3, heads, c // heads).permute(
        2, 0, 3, 1, 4)
    logits = q @ k.transpose(-2, -1) * (c // heads)**-0.5
    index = attn.relative_position_index.view(-1)
    bias = attn.relative_position_bias_table[index].view(n, n, heads)
    logits = logits + bias.permute(2, 0, 1)[None]
    if mask is not None:
        nw = mask.shape[0]
        logits = logits.view(bw // nw, nw, heads, n, n) + mask[None, :, None]
        logits = logits.view(bw, heads, n, n)
    out = (logits.softmax(-1) @ v).transpose(1, 2).reshape(bw, n, c)
    return attn.proj(out)


@pytest.mark.parametrize('with_mask', [False, True])
def test_window_attention_matches_softmax_reference(with_mask):
    torch.manual_seed(0)
    attn = WindowAttention(dim=16, window_size=4, num_heads=2)
    # a bias large enough to matter
    torch.nn.init.normal_(attn.relative_position_bias_table)
    assert attn.relative_position_bias_table.shape == (7 * 7, 2)
    h, w = 8, 12
    x = window_partition(torch.randn(2, h, w, 16), 4)
    mask = shift_window_mask(h, w, 4, 2) if with_mask else None
    assert x.shape == (2 * 6, 16, 16)
    out = attn(x, mask)
    assert out.shape == x.shape
    torch.testing.assert_close(
        out, reference_window_attention(attn, x, mask), atol=1e-5, rtol=0)


def test_relative_position_index_is_the_offset():
    attn = WindowAttention(dim=8, window_size=3, num_heads=1)
    index = attn.relative_position_index
    # token 0 = (0, 0), token 8 = (2, 2): offsets (-2, -2) and (2, 2)
    assert index[0, 8] == 0
    assert index[8, 0] == 5 * 5 - 1
    assert (index.diagonal() == 2 * 5 + 2).all()
    assert 'relative_position_index' not in attn.state_dict()


def test_window_partition_reverse_round_trip_and_layout():
    b, h, w, c = 2, 8, 12, 3
    x = torch.arange(b * h * w * c, dtype=torch.float32).view(b, h, w, c)
    windows = window_partition(x, 4)
    assert windows.shape == (b * 6, 16, c)
    assert torch.equal(window_reverse(windows, 4, h, w), x)
    # image 1, window row 1, window column 2, token (2, 3) of that window
    assert torch.equal(windows[6 + 1 * 3 + 2, 2 * 4 + 3], x[1, 4 + 2, 8 + 3])


def test_shift_window_mask_regions():
    mask = shift_window_mask(16, 16, window_size=8, shift_size=4)
    assert mask.shape == (4, 64, 64)
    assert set(mask.unique().tolist()) == {0., -100.}
    assert torch.equal(mask, mask.transpose(1, 2))

    def tok(r, c):
        return r * 8 + c

    # top-left window: one region
    assert (mask[0] == 0).all()
    # top-right window: columns 8-11 and 12-15 of the rolled map
    assert mask[1, tok(0, 0), tok(5, 3)] == 0
    assert mask[1, tok(0, 0), tok(0, 4)] == -100
    # bottom-right window: four 4x4 regions
    m = mask[3]
    assert m[tok(0, 0), tok(3, 3)] == 0
    assert m[tok(0, 0), tok(0, 4)] == -100
    assert m[tok(0, 0), tok(4, 0)] == -100
    assert m[tok(7, 7), tok(4, 4)] == 0
    assert m[tok(7, 7), tok(3, 7)] == -100
    assert (m == 0).sum() == 4 * 16 * 16


def _block_pair():
    torch.manual_seed(0)
    shifted = SwinTransformerBlock(16, 2, window_size=8, shift_size=4)
    torch.nn.init.normal_(shifted.attn.relative_position_bias_table)
    plain = SwinTransformerBlock(16, 2, window_size=8, shift_size=0)
    plain.load_state_dict(shifted.state_dict())
    return shifted.eval(), plain.eval()


def test_shifted_block_attends_to_offset_windows():
    shifted, plain = _block_pair()
    x = torch.randn(1, 16, 16, 16)
    out = shifted(x.flatten(1, 2), (16, 16)).view(1, 16, 16, 16)
    # the shifted window covering rows/cols 4..11 needs no mask: it is an
    # ordinary window of the 8x8 crop there
    crop = x[:, 4:12, 4:12]
    expected = plain(crop.flatten(1, 2), (8, 8)).view(1, 8, 8, 16)
    torch.testing.assert_close(out[:, 4:12, 4:12], expected, atol=1e-5,
                               rtol=0)
    # the window wrapping around the corner is masked: the bottom-right
    # corner does not see the top-left corner rolled next to it
    x2 = x.clone()
    x2[:, :4, :4] = torch.randn(1, 4, 4, 16)
    out2 = shifted(x2.flatten(1, 2), (16, 16)).view(1, 16, 16, 16)
    torch.testing.assert_close(out2[:, 12:, 12:], out[:, 12:, 12:])
    assert not torch.allclose(out2[:, :4, :4], out[:, :4, :4])


def test_block_needs_whole_windows_and_runs_under_bf16_autocast():
    block = SwinTransformerBlock(16, 2, window_size=8, shift_size=4)
    with pytest.raises(ValueError):
        block(torch.randn(1, 12 * 16, 16), (12, 16))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = block(torch.randn(1, 16 * 16, 16), (16, 16))
    assert out.shape == (1, 256, 16)


def test_rstb_builds_blocks_from_config():
    rstb = MODELS.build(
        dict(
            type='ResidualSwinTransformerBlock',
            dim=16,
            depth=4,
            num_heads=2,
            window_size=8,
            drop_path=[0., .1, .2, .3],
            block_cfg=dict(type='SwinTransformerBlock', mlp_ratio=4.)))
    assert isinstance(rstb, ResidualSwinTransformerBlock)
    assert [b.shift_size for b in rstb.blocks] == [0, 4, 0, 4]
    assert rstb.blocks[0].mlp.fc1.out_features == 64
    assert rstb.blocks[3].drop_path.drop_prob == pytest.approx(.3)
    assert rstb(torch.randn(2, 64, 16), (8, 8)).shape == (2, 64, 16)


def test_encoder_crops_features_to_the_input_grid():
    torch.manual_seed(0)
    model = SwinIR('demo', upscale_factor=None).eval()
    assert model.out_channels == 64
    x = torch.randn(2, 3, 13, 10)
    out = model(x)
    assert out.shape == (2, 64, 13, 10)
    # bottom/right reflect padding to 16x16, then a crop of the top-left
    padded = F.pad(x, (0, 6, 0, 3), mode='reflect')
    torch.testing.assert_close(out, model(padded)[..., :13, :10])


def test_demo_x3_output_shape_and_gradients():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='SwinIR', arch='demo', upscale_factor=3))
    assert model.out_channels == 3
    x = torch.rand(1, 3, 13, 10, requires_grad=True)
    out = model(x)
    assert out.shape == (1, 3, 39, 30)
    out.mean().backward()
    assert x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters())
    rates = [b.drop_path.drop_prob for layer in model.layers
             for b in layer.blocks[1:]]
    assert rates == pytest.approx([0.1 / 3, 0.1])


def test_arch_table_and_overrides():
    model = SwinIR('demo', upscale_factor=2, embed_dim=16, depths=(2, ),
                   num_heads=(4, ))
    assert model.conv_first.out_channels == 16
    assert len(model.layers) == 1
    assert model.layers[0].blocks[0].attn.num_heads == 4
    with pytest.raises(ValueError):
        SwinIR('light')
    with pytest.raises(ValueError):
        SwinIR(None, embed_dim=16)


def test_classical_parameter_counts():
    x2 = SwinIR('classical', upscale_factor=2)
    n = count(x2)
    print(f'classical SwinIR x2: {n} parameters')
    # 11.75 M in the SwinIR paper
    assert abs(n - 11.75e6) / 11.75e6 < 0.01
    encoder = SwinIR('classical', upscale_factor=None)
    upsampler = 64 * 256 * 9 + 256
    conv_last = 64 * 3 * 9 + 3
    assert count(encoder) == n - upsampler - conv_last
    assert encoder.out_channels == 64
    assert len(encoder.layers) == 6
    assert sum(len(layer.blocks) for layer in encoder.layers) == 36


@pytest.mark.parametrize('arch', ['SwinIR', 'HAT'])
def test_activation_checkpointing_keeps_outputs_and_gradients(arch):
    """``with_cp`` recomputes each residual group in the backward pass (it
    is entered twice) and changes nothing else: same output and the same
    gradients, stochastic depth included (the RNG state is replayed)."""
    results = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        model = MODELS.build(dict(type=arch, arch='demo', upscale_factor=2,
                                  drop_path_rate=0.5, with_cp=with_cp))
        calls = []
        model.layers[0].register_forward_pre_hook(
            lambda *args: calls.append(1))
        torch.manual_seed(1)
        x = torch.rand(2, 3, 16, 12, requires_grad=True)
        out = model(x)
        (out * torch.linspace(0, 1, out.numel()).view_as(out)).sum().backward()
        results.append((out.detach(), x.grad,
                        [p.grad for p in model.parameters()], len(calls)))
    (out, x_grad, grads, calls), (out_cp, x_grad_cp, grads_cp, calls_cp) = \
        results
    assert (calls, calls_cp) == (1, 2)
    torch.testing.assert_close(out_cp, out)
    torch.testing.assert_close(x_grad_cp, x_grad)
    for grad_cp, grad in zip(grads_cp, grads):
        torch.testing.assert_close(grad_cp, grad)

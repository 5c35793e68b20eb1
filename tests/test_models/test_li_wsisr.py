import pytest
import torch
import torch.nn.functional as F

from pathsr.models.backbones import LiWSISR
from pathsr.models.backbones.li_wsisr import reflect_pad_bottom_right
from pathsr.registry import MODELS


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def conv_block(cin: int, cout: int, k: int) -> int:
    # conv kxk with bias, one PReLU slope, conv 1x1 without bias
    return cin * cout * k * k + cout + 1 + cout * cout


def down_block(cin: int, cout: int) -> int:
    # ConvBlock 4x4 + 1x1 stride-2 skip without bias + one PReLU slope
    return conv_block(cin, cout, 4) + cin * cout + 1


def up_block(cin: int, cout: int) -> int:
    # ConvBlock 3x3 + 1x1 skip without bias
    return conv_block(cin, cout, 3) + cin * cout


def expected_params(b: int, c: int = 3) -> int:
    return (down_block(c, 2 * b) + down_block(2 * b, 4 * b) +
            down_block(4 * b, 8 * b) + down_block(8 * b, 16 * b) +
            conv_block(2 * b, 4 * b, 3) + conv_block(4 * b, 8 * b, 3) +
            conv_block(8 * b, 16 * b, 3) + up_block(16 * b, 8 * b) +
            up_block(16 * b, 4 * b) + up_block(8 * b, 2 * b) +
            4 * b * 4 * c + 4 * c)


@pytest.fixture(scope='module')
def small():
    torch.manual_seed(0)
    return {s: LiWSISR(upscale_factor=s, base_channels=4).eval()
            for s in (2, 4, 8)}


@pytest.mark.parametrize('scale', [2, 4, 8])
def test_output_shape_for_sizes_not_multiple_of_16(small, scale):
    out = small[scale](torch.rand(2, 3, 13, 10))
    assert out.shape == (2, 3, 13 * scale, 10 * scale)


@pytest.mark.parametrize('scale', [2, 4, 8])
def test_network_only_sees_the_bilinear_upsampled_input(small, scale):
    model = small[scale]
    lr = torch.rand(1, 3, 7, 5)
    up = F.interpolate(lr, scale_factor=scale, mode='bilinear',
                       align_corners=False)
    assert torch.equal(model.upsample_input(lr), up)
    with torch.no_grad():
        assert torch.allclose(model(lr), model.forward_hr(up), atol=1e-6)


def test_forward_is_pad_unet_crop_of_its_submodules(small):
    model = small[4]
    lr = torch.rand(1, 3, 13, 10)
    with torch.no_grad():
        out = model(lr)
        x = F.interpolate(lr, size=(52, 40), mode='bilinear',
                          align_corners=False)
        x = F.pad(x, (0, 8, 0, 12), mode='reflect')  # 52 -> 64, 40 -> 48
        assert model.pad_sizes(52, 40) == (12, 8)
        # the U-Net written out from the documented layer list
        d0 = model.down0(x)
        d1 = model.down1(d0)
        d2 = model.down2(d1)
        d3 = model.down3(d2)
        assert d3.shape[-2:] == (4, 3)
        u0 = model.up0(d3)
        u1 = model.up1(torch.cat((u0, d2), 1) + model.skip2(d2))
        u2 = model.up2(torch.cat((u1, d1), 1) + model.skip1(d1))
        y = model.pix.shuffle(
            model.pix.conv(torch.cat((u2, d0), 1) + model.skip0(d0)))
    assert y.shape[-2:] == (64, 48)
    assert torch.allclose(out, y[..., :52, :40], atol=1e-6)


def test_crop_is_exact_and_multiples_of_16_are_not_padded(small):
    model = small[4]
    seen = []
    handle = model.down0.register_forward_pre_hook(
        lambda module, args: seen.append(tuple(args[0].shape[-2:])))
    try:
        with torch.no_grad():
            # LR 8x12 at x4 -> 32x48: already a multiple of 16, not padded
            lr = torch.rand(1, 3, 8, 12)
            out = model(lr)
            assert seen[-1] == (32, 48)
            assert model.pad_sizes(32, 48) == (0, 0)
            assert torch.equal(out, model.forward_unet(
                model.upsample_input(lr)))
            # LR 9x13 at x4 -> 36x52: padded to 48x64, cropped back
            out = model(torch.rand(1, 3, 9, 13))
            assert seen[-1] == (48, 64)
            assert out.shape == (1, 3, 36, 52)
    finally:
        handle.remove()


def test_forward_unet_rejects_sizes_not_multiple_of_16(small):
    with pytest.raises(ValueError, match='multiples of 16'):
        small[2].forward_unet(torch.rand(1, 3, 24, 32))


def test_reflect_padding_of_tiny_images():
    x = torch.arange(6.).view(1, 1, 2, 3)
    y = reflect_pad_bottom_right(x, 14, 13)
    assert y.shape == (1, 1, 16, 16)
    assert torch.equal(y[..., :2, :3], x)
    assert torch.equal(y[..., 2, :3], x[..., 0, :])  # reflected, not repeated
    # an LR of 1x1 at x2 still gives a 2x2 output
    model = LiWSISR(2, base_channels=2)
    assert model(torch.rand(1, 3, 1, 1)).shape == (1, 3, 2, 2)


@pytest.mark.parametrize('b', [4, 32])
def test_parameter_count_matches_the_documented_layer_list(b):
    assert count(LiWSISR(upscale_factor=4, base_channels=b)) == \
        expected_params(b)


def test_paper_size_parameter_count_and_channels():
    model = LiWSISR(upscale_factor=4)
    assert model.upscale_factor == 4
    assert count(model) == expected_params(32) == 7_388_122
    # the scale does not change the weights
    assert count(LiWSISR(upscale_factor=8)) == 7_388_122
    assert [m.conv.conv0.out_channels for m in
            (model.down0, model.down1, model.down2, model.down3)] == \
        [64, 128, 256, 512]
    assert [m.conv.conv0.in_channels for m in
            (model.up0, model.up1, model.up2)] == [512, 512, 256]
    assert model.pix.conv.in_channels == 128
    assert model.pix.conv.out_channels == 12
    # the 4x4 stride-2 conv with padding 1, single-slope PReLU
    conv = model.down0.conv.conv0
    assert (conv.kernel_size, conv.stride, conv.padding) == \
        ((4, 4), (2, 2), (1, 1))
    assert model.down0.act.weight.numel() == 1


def test_gradients_reach_the_first_conv():
    model = LiWSISR(upscale_factor=2, base_channels=4)
    out = model(torch.rand(2, 3, 9, 11))
    out.abs().mean().backward()
    grad = model.down0.conv.conv0.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    assert model.down0.skip.weight.grad.abs().sum() > 0


def test_built_from_the_registry_and_rejects_bad_scales():
    model = MODELS.build(dict(type='LiWSISR', upscale_factor=8,
                              base_channels=2))
    assert isinstance(model, LiWSISR) and model.upscale_factor == 8
    with pytest.raises(ValueError, match='integer'):
        LiWSISR(upscale_factor=2.5)

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from pathsr.models.backbones import EDSR, SRCNN, Bicubic
from pathsr.models.layers import PixelShuffleUpsampler


def conv_params(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k + cout


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('scale', [2, 3, 4])
def test_edsr_baseline_parameter_count_matches_paper_layout(scale):
    c = 64
    ups = {2: conv_params(c, 4 * c, 3), 3: conv_params(c, 9 * c, 3),
           4: 2 * conv_params(c, 4 * c, 3)}[scale]
    expected = (conv_params(3, c, 3) + 16 * 2 * conv_params(c, c, 3) +
                conv_params(c, c, 3) + ups + conv_params(c, 3, 3))
    assert count(EDSR('baseline', upscale_factor=scale)) == expected
    # about 1.5 M at x4, the figure quoted for EDSR-baseline
    if scale == 4:
        assert expected == 1_517_571


def test_edsr_paper_size_and_res_scale():
    model = EDSR('paper', upscale_factor=2)
    assert len(model.body) == 32
    assert model.body[0].res_scale == 0.1
    assert model.conv_first.out_channels == 256


def test_edsr_without_upsampler_returns_features():
    model = EDSR('baseline', upscale_factor=None)
    out = model(torch.rand(1, 3, 10, 12))
    assert out.shape == (1, 64, 10, 12)
    assert model.out_channels == 64


def test_edsr_output_scale_and_residual_identity():
    model = EDSR(None, upscale_factor=2, num_blocks=2, mid_channels=8,
                 res_scale=1.0)
    x = torch.rand(2, 3, 7, 9)
    # zero the residual branches: the body becomes the identity, so the
    # network is conv_last(up(f + conv_after_body(f))) with f = conv_first(x)
    for block in model.body:
        torch.nn.init.zeros_(block.conv2.weight)
        torch.nn.init.zeros_(block.conv2.bias)
    f = model.conv_first(x)
    expected = model.conv_last(model.upsample(f + model.conv_after_body(f)))
    assert torch.allclose(model(x), expected)
    assert model(x).shape == (2, 3, 14, 18)


def test_edsr_rejects_unknown_arch():
    with pytest.raises(ValueError, match='tiny'):
        EDSR('tiny')


@pytest.mark.parametrize('scale', [2, 3, 4, 8])
def test_pixel_shuffle_upsampler_can_express_nearest_upsampling(scale):
    channels = 2
    up = PixelShuffleUpsampler(scale, channels)
    for layer in up:
        if isinstance(layer, torch.nn.Conv2d):
            factor = layer.out_channels // channels
            weight = torch.zeros_like(layer.weight)
            for c in range(channels):
                weight[c * factor:(c + 1) * factor, c, 1, 1] = 1
            layer.weight.data.copy_(weight)
            layer.bias.data.zero_()
    x = torch.rand(1, channels, 5, 6)
    nearest = F.interpolate(x, scale_factor=scale, mode='nearest')
    assert torch.allclose(up(x), nearest)


def test_pixel_shuffle_upsampler_rejects_scale_5():
    with pytest.raises(ValueError, match='5'):
        PixelShuffleUpsampler(5, 8)


def test_srcnn_is_three_convolutions_on_bicubic_upsampled_input():
    model = SRCNN(upscale_factor=3)
    assert count(model) == (conv_params(3, 64, 9) + conv_params(64, 32, 5) +
                            conv_params(32, 3, 5))
    x = torch.rand(1, 3, 8, 10)
    up = F.interpolate(x, scale_factor=3, mode='bicubic', antialias=True,
                       align_corners=False)
    h = F.relu(F.conv2d(up, model.conv1.weight, model.conv1.bias, padding=4))
    h = F.relu(F.conv2d(h, model.conv2.weight, model.conv2.bias, padding=2))
    expected = F.conv2d(h, model.conv3.weight, model.conv3.bias, padding=2)
    assert torch.allclose(model(x), expected, atol=1e-6)


def test_bicubic_has_no_parameters_and_matches_pil():
    model = Bicubic(upscale_factor=4)
    assert count(model) == 0
    yy, xx = np.mgrid[0:16, 0:20]
    smooth = (127 + 60 * np.sin(xx / 3.0) * np.cos(yy / 4.0))
    img = np.repeat(smooth[..., None], 3, axis=2).astype(np.uint8)
    pil = np.asarray(Image.fromarray(img).resize((80, 64), Image.BICUBIC),
                     dtype=np.float64)
    x = torch.from_numpy(img).permute(2, 0, 1)[None].double()
    ours = model(x)[0].permute(1, 2, 0).round().clamp(0, 255).numpy()
    assert np.abs(ours - pil).mean() < 0.5
    constant = torch.full((1, 3, 5, 5), 0.3)
    assert torch.allclose(model(constant), torch.full((1, 3, 20, 20), 0.3))

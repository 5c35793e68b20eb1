import pytest
import torch
import torch.nn.functional as F

from pathsr.models.pools import (IrreversibleTransformPool,
                                 ReversibleTransformPool)


@pytest.mark.parametrize('shape', [(2, 3, 5, 5), (2, 3, 4, 7)])
def test_rtp_inverse_restores_input(shape):
    pool = ReversibleTransformPool()
    x = torch.randn(shape)
    for k in range(len(pool)):
        y = pool(x, k)
        if k in (3, 5, 6, 7):
            assert y.shape[-2:] == x.shape[-2:][::-1]
        assert torch.equal(pool.inverse(y, k), x)


def test_rtp_transforms_are_distinct_and_named():
    pool = ReversibleTransformPool()
    x = torch.randn(1, 1, 4, 4)
    outputs = [pool(x, k) for k in range(8)]
    for i in range(8):
        for j in range(i + 1, 8):
            assert not torch.equal(outputs[i], outputs[j]), (i, j)
    assert torch.equal(outputs[3], x.rot90(1, (-2, -1)))
    assert pool.names[7] == 'anti_transpose'


def test_rtp_sample_and_errors():
    pool = ReversibleTransformPool(num_samples=8)
    drawn = pool.sample(torch.Generator().manual_seed(0))
    assert sorted(drawn) == list(range(8))
    assert len(ReversibleTransformPool(3).sample()) == 3
    with pytest.raises(ValueError, match='num_samples'):
        ReversibleTransformPool(9)
    with pytest.raises(ValueError, match='index'):
        pool(torch.zeros(1, 1, 2, 2), 8)


def _image(size=24):
    g = torch.Generator().manual_seed(0)
    return torch.rand(2, 3, size, size, generator=g) * 0.8 + 0.1


def test_itp_shape_range_and_difference():
    hr = _image()
    out = IrreversibleTransformPool(num_samples=4)(
        hr, torch.Generator().manual_seed(1))
    assert out.shape == (2, 4, 3, 24, 24)
    assert out.min() >= 0 and out.max() <= 1
    diff = (out - hr.unsqueeze(1)).abs().flatten(2).amax(-1)
    assert (diff > 1e-3).all()


def _high_freq_energy(x):
    return (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() + (
        x[..., 1:] - x[..., :-1]).pow(2).mean()


def test_itp_blur_lowers_high_frequencies():
    hr = _image()
    out = IrreversibleTransformPool(num_samples=3,
                                    blur_sigma=(1.0, 2.0),
                                    ops=('blur', ))(hr)
    for k in range(3):
        assert _high_freq_energy(out[:, k]) < 0.5 * _high_freq_energy(hr)


def test_itp_blur_matches_explicit_kernel():
    hr = _image(16)[:1]
    pool = IrreversibleTransformPool(num_samples=1,
                                     blur_kernel=(5, 5),
                                     blur_sigma=(1.5, 1.5),
                                     ops=('blur', ))
    g = torch.exp(-torch.arange(-2., 3.)**2 / (2 * 1.5**2))
    kernel = (g[:, None] * g[None]) / (g.sum()**2)
    ref = F.conv2d(F.pad(hr, (2, ) * 4, mode='reflect'),
                   kernel.expand(3, 1, 5, 5),
                   groups=3)
    assert torch.allclose(pool(hr)[:, 0], ref, atol=1e-6)


def test_itp_noise_std():
    hr = torch.full((1, 3, 32, 32), 0.5)
    out = IrreversibleTransformPool(num_samples=2,
                                    noise_sigma=(10., 10.),
                                    ops=('noise', ))(hr)
    assert (out - 0.5).std().item() == pytest.approx(10 / 255, rel=0.1)


def test_itp_jpeg_bounded_change():
    hr = _image()
    out = IrreversibleTransformPool(num_samples=2,
                                    jpeg_quality=(80, 80),
                                    ops=('jpeg', ))(hr)
    err = (out - hr.unsqueeze(1)).abs()
    assert err.mean() > 1e-3 and err.mean() < 0.25


def test_itp_resample_equals_explicit_down_up():
    hr = _image()[:1]
    out = IrreversibleTransformPool(num_samples=1,
                                    resample_scale=(3., 3.),
                                    ops=('resample', ))(hr)
    small = F.interpolate(hr,
                          size=(8, 8),
                          mode='bicubic',
                          align_corners=False,
                          antialias=True)
    ref = F.interpolate(small,
                        size=(24, 24),
                        mode='bicubic',
                        align_corners=False,
                        antialias=True).clamp(0, 1)
    assert torch.allclose(out[:, 0], ref, atol=1e-6)


def test_itp_errors():
    with pytest.raises(ValueError, match='ops'):
        IrreversibleTransformPool(ops=('sharpen', ))
    with pytest.raises(ValueError, match='odd'):
        IrreversibleTransformPool(blur_kernel=(3, 10))
    with pytest.raises(ValueError, match='jpeg_quality'):
        IrreversibleTransformPool(jpeg_quality=(90, 70))
    pool = IrreversibleTransformPool()
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        pool(torch.zeros(1, 1, 16, 16))
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        pool(torch.full((1, 3, 16, 16), 2.))

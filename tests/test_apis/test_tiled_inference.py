"""Tiled inference equals whole-image inference (no seams) at any scale.

Tiny randomly initialised models on a 40x52 image; tiles of 13 and 16 LR
pixels divide neither side. With the default halo (>= the receptive field)
tiled and whole-image outputs agree to float rounding: the largest
difference measured is 1.2e-7 for LIIF, 1.8e-6 for LTE, 3.0e-7 for EDSR, 0
for SRCNN and 1.7e-6 for bicubic/bilinear interpolation, so the tolerance
is ``TOL = 1e-5`` (of the [0, 1] range, 1/400 of an 8-bit level). Without
a halo the same tiles differ by more than 1e-2 (seams).
"""
import math
import warnings

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from pathsr.apis import (default_halo, hr_span, iter_sr_tiles, plan_tiles,
                         resolve_out_shape, tile_alignment, tile_geometry,
                         tiled_sr)
from pathsr.registry import MODELS
from pathsr.structures import SRDataSample

TOL = 1e-5
SEAM = 1e-2
EDSR_TINY = dict(
    type='EDSR', arch=None, num_blocks=2, mid_channels=16, res_scale=1.0)


def build(cfg: dict) -> torch.nn.Module:
    init_default_scope('pathsr')
    torch.manual_seed(0)
    return MODELS.build(cfg).eval()


def liif() -> torch.nn.Module:
    return build(
        dict(
            type='ImplicitSRModel',
            encoder=dict(EDSR_TINY, upscale_factor=None),
            head=dict(
                type='LIIFHead',
                imnet=dict(type='MLP', out_dim=3, hidden_list=[32, 32]))))


def lte() -> torch.nn.Module:
    return build(
        dict(
            type='ImplicitSRModel',
            encoder=dict(EDSR_TINY, upscale_factor=None),
            head=dict(
                type='LTEHead',
                hidden_dim=16,
                imnet=dict(type='MLP', out_dim=3, hidden_list=[32, 32])),
            eval_chunk=1000,
            cell_clip_scale=4.0))


def edsr(scale: int) -> torch.nn.Module:
    return build(
        dict(
            type='FixedScaleSRModel',
            generator=dict(EDSR_TINY, upscale_factor=scale),
            data_preprocessor=dict(
                type='SRDataPreprocessor', mean=(0.45, 0.44, 0.40))))


def srcnn() -> torch.nn.Module:
    return build(
        dict(
            type='FixedScaleSRModel',
            generator=dict(
                type='SRCNN', upscale_factor=2, channels=(3, 16, 8, 3))))


def interpolation(mode: str) -> torch.nn.Module:
    return build(dict(type='InterpolationSRModel', mode=mode))


@pytest.fixture(scope='module')
def image() -> np.ndarray:
    """A 40x52 uint8 RGB image: smooth stripes plus noise."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:52]
    img = np.stack(
        [127 + 90 * np.sin(xx / 3 + c) * np.cos(yy / 4)
         for c in range(3)], -1) + rng.normal(0, 20, (40, 52, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def whole(model: torch.nn.Module, img: np.ndarray, out_shape) -> np.ndarray:
    """``model.predict`` on the whole image, float (H, W, 3) in [0, 1]."""
    sample = SRDataSample(
        metainfo=dict(lr_shape=img.shape[:2], out_shape=tuple(out_shape)))
    data = model.data_preprocessor(
        dict(
            inputs=[torch.from_numpy(img).permute(2, 0, 1)],
            data_samples=[sample]))
    with torch.no_grad():
        pred = model.predict(data['inputs'], data['data_samples'])[0]
    return pred.pred_img.permute(1, 2, 0).numpy()


def tiled(model, img, scale=None, out_shape=None, **kwargs) -> np.ndarray:
    return tiled_sr(
        model,
        img,
        scale=scale,
        out_shape=out_shape,
        out_dtype=np.float32,
        **kwargs)


@pytest.mark.parametrize('lr_len,hr_len,tile', [(40, 108, 13), (52, 140, 16),
                                                (40, 120, 7), (7, 50, 3),
                                                (52, 53, 5)])
def test_output_spans_partition_the_output(lr_len, hr_len, tile):
    spans = [
        hr_span(start, min(start + tile, lr_len), lr_len, hr_len)
        for start in range(0, lr_len, tile)
    ]
    assert spans[0][0] == 0 and spans[-1][1] == hr_len
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    for k, (i0, i1) in enumerate(spans):
        start, stop = k * tile, min((k + 1) * tile, lr_len)
        centres = (np.arange(i0, i1) + 0.5) * lr_len / hr_len
        assert np.all((centres >= start) & (centres < stop))


def test_fixed_scale_spans_are_scaled_cores():
    assert [hr_span(r0, r0 + 13, 40, 120) for r0 in (0, 13, 26)] \
        == [(0, 39), (39, 78), (78, 117)]
    assert hr_span(39, 40, 40, 120) == (117, 120)


def test_windows_are_cores_plus_halo_inside_the_image():
    tiles = plan_tiles((40, 52), (108, 140), 16, 5)
    assert len(tiles) == 3 * 4
    assert tiles[0].core == (0, 16, 0, 16)
    assert tiles[0].window == (0, 21, 0, 21)
    assert tiles[5].core == (16, 32, 16, 32)
    assert tiles[5].window == (11, 37, 11, 37)
    assert tiles[-1].core == (32, 40, 48, 52)
    assert tiles[-1].window == (27, 40, 43, 52)
    covered = np.zeros((108, 140), int)
    for t in tiles:
        covered[t.out[0]:t.out[1], t.out[2]:t.out[3]] += 1
    assert np.all(covered == 1)


@pytest.mark.parametrize('scale', [2.7, 3])
@pytest.mark.parametrize('tile', [13, 16])
def test_liif_tiles_equal_whole_image(image, scale, tile):
    model = liif()
    shape = resolve_out_shape(model, image.shape[:2], scale)
    assert shape == (round(40 * scale), round(52 * scale))
    diff = np.abs(
        tiled(model, image, scale, tile=tile) - whole(model, image, shape))
    assert diff.max() < TOL


@pytest.mark.parametrize('scale', [2.7, 5.3])
def test_lte_tiles_equal_whole_image_with_cell_clipping(image, scale):
    model = lte()  # cell_clip_scale=4: the cell is clipped at x5.3
    shape = resolve_out_shape(model, image.shape[:2], scale)
    diff = np.abs(
        tiled(model, image, scale, tile=13) - whole(model, image, shape))
    assert diff.max() < TOL


@pytest.mark.parametrize('scale', [2, 3])
@pytest.mark.parametrize('tile', [13, 16])
def test_edsr_tiles_equal_whole_image(image, scale, tile):
    model = edsr(scale)
    out = tiled(model, image, tile=tile)
    assert out.shape == (40 * scale, 52 * scale, 3)
    diff = np.abs(out - whole(model, image, out.shape[:2]))
    assert diff.max() < TOL


def test_srcnn_tiles_equal_whole_image(image):
    model = srcnn()
    out = tiled(model, image, 2, tile=13)
    assert np.abs(out - whole(model, image, (80, 104))).max() < TOL


@pytest.mark.parametrize('mode', ['bicubic', 'bilinear'])
@pytest.mark.parametrize(
    'target',
    [dict(scale=2.7),
     dict(scale=3), dict(out_shape=(97, 131))])
def test_interpolation_tiles_equal_whole_image(image, mode, target):
    model = interpolation(mode)
    shape = resolve_out_shape(model, image.shape[:2], **target)
    diff = np.abs(
        tiled(model, image, tile=13, **target) - whole(model, image, shape))
    assert diff.max() < TOL


@pytest.mark.parametrize('build_model,scale', [(liif, 2.7), (liif, 3),
                                               (lambda: edsr(2), 2)])
def test_zero_halo_leaves_seams(image, build_model, scale):
    """The test would catch a tiling that ignores the receptive field: the
    same tiles without a halo differ along the tile borders."""
    model = build_model()
    shape = resolve_out_shape(model, image.shape[:2], scale)
    diff = np.abs(
        tiled(model, image, scale, tile=13, halo=0) -
        whole(model, image, shape)).max(-1)
    assert diff.max() > SEAM
    # the error is largest next to the core borders (LR 13, 26, 39)
    near, far = [], []
    for axis, lr_len in enumerate(image.shape[:2]):
        centres = (np.arange(shape[axis]) + 0.5) * lr_len / shape[axis]
        gap = np.abs(centres[:, None] - np.arange(13, lr_len, 13)).min(1)
        near.append(gap < 0.5)
        far.append(gap > 5)
    at_border = diff[near[0][:, None] | near[1][None]].mean()
    inside = diff[far[0][:, None] & far[1][None]].mean()
    assert at_border > 20 * inside


def test_halo_below_the_receptive_field_is_not_exact(image):
    model = liif()  # EDSR with 2 blocks: radius 6, + 2 for the head
    assert default_halo(model) == 8
    whole_img = whole(model, image, (108, 140))
    assert np.abs(tiled(model, image, 2.7, tile=13, halo=8) -
                  whole_img).max() < TOL
    assert np.abs(tiled(model, image, 2.7, tile=13, halo=6) -
                  whole_img).max() > TOL


def test_batched_tiles_equal_single_tiles(image):
    model = liif()
    single = tiled(model, image, 2.7, tile=8)
    batched = tiled(model, image, 2.7, tile=8, batch_size=4)
    assert np.abs(single - batched).max() < 1e-6


def test_uint8_output_is_the_rounded_float_output(image):
    model = liif()
    floats = tiled(model, image, 2.7, tile=16)
    out = tiled_sr(model, image, scale=2.7, tile=16)
    assert out.dtype == np.uint8 and out.shape == (108, 140, 3)
    assert np.array_equal(out, np.round(floats * 255).astype(np.uint8))


def test_default_halos_and_alignment():
    # EDSR 2 blocks: 1 + 2 * 2 + 1 convs (+ 1 upsampler conv at x2) + 2
    assert default_halo(liif()) == 8
    assert default_halo(edsr(2)) == 10
    assert default_halo(lte()) == 10  # + LTE's two 3x3 maps
    assert default_halo(srcnn()) == 4 + 2 + 2 + 2
    assert default_halo(interpolation('bicubic')) == 2
    swin = build(
        dict(
            type='ImplicitSRModel',
            encoder=dict(type='SwinIR', arch='demo', upscale_factor=None),
            head=dict(type='LIIFHead')))
    assert default_halo(swin) == 32  # attention: the whole image
    assert tile_alignment(swin) == 8  # the SwinIR window
    assert tile_geometry(swin, tile=13, halo=5) == (16, 8)
    assert tile_alignment(liif()) == 1


def test_iste_tiles_align_with_its_texture_key_tiles():
    iste = build(
        dict(
            type='ImplicitSRModel',
            encoder=dict(
                type='SwinIR',
                arch='demo',
                upscale_factor=None,
                mid_channels=16),
            head=dict(
                type='ISTEHead',
                hidden_dim=16,
                lfi_heads=2,
                stf_mode='tiled',
                stf_tile_size=12)))
    assert tile_alignment(iste) == 24  # lcm(window 8, STF tile 12)
    assert tile_geometry(iste, tile=30, halo=None) == (48, 48)


def test_tile_from_the_pixel_budget():
    model = liif()  # halo 8
    assert tile_geometry(model, tile_pixels=40 * 40) == (24, 8)
    assert tile_geometry(
        model, tile_pixels=4 * 40 * 40, batch_size=4) == (24, 8)
    assert tile_geometry(model, tile=5, halo=0) == (5, 0)
    with pytest.raises(ValueError, match='tile_pixels=256 leaves no tile'):
        tile_geometry(model, tile_pixels=256)
    with pytest.raises(ValueError, match='halo must be >= 0'):
        tile_geometry(model, tile=8, halo=-1)
    with pytest.raises(ValueError, match='tile must be >= 1'):
        tile_geometry(model, tile=0)


def test_tiles_stream_in_raster_order_with_a_progress_bar(image, capsys):
    model = liif()
    seen = [
        t.core for t, _ in iter_sr_tiles(
            model, image, (108, 140), 16, 8, progress=True)
    ]
    assert seen == [t.core for t in plan_tiles((40, 52), (108, 140), 16, 8)]
    assert 'SR tiles' in capsys.readouterr().err


def test_amp_runs_bf16_autocast_close_to_float32(image):
    model = liif()
    amp = tiled(model, image, 2.7, tile=16, amp=True)
    ref = tiled(model, image, 2.7, tile=16)
    assert 0 < np.abs(amp - ref).max() < 0.02


def test_training_mode_and_other_models_are_refused(image):
    model = liif().train()
    with pytest.raises(ValueError, match='eval mode'):
        tiled(model, image, 2.7, tile=16)
    with pytest.raises(TypeError, match='tiled inference supports'):
        tiled(torch.nn.Identity(), image, 2.7, tile=16)


def test_bad_image_arrays_are_refused():
    with pytest.raises(
            ValueError,
            match=r'uint8 RGB array \(h, w, 3\), got '
            r'float32 \(8, 8, 3\)'):
        tiled(liif(), np.zeros((8, 8, 3), np.float32), 2.7, tile=16)


def test_requests_are_checked_before_tiling(image):
    with pytest.raises(ValueError, match='scale must be a finite number > 1'):
        tiled(liif(), image, math.nan, tile=16)
    with pytest.raises(ValueError, match='fixed-scale x2 model'):
        tiled(edsr(2), image, 3, tile=16)
    with pytest.raises(ValueError, match='not both'):
        tiled(liif(), image, 2, (80, 104), tile=16)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert tiled(edsr(2), image, tile=16).shape == (80, 104, 3)

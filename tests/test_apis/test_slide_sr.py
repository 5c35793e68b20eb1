"""super_resolve_slide and ``pathsr-infer --whole-slide`` on a tiny slide.

The slide is 256x192 px at 0.25 um/px, 3 levels (make_demo_slide.py); the
model is Bicubic (no parameters): arbitrary-scale, and fixed x4.
"""

import hashlib

import numpy as np
import pytest
import tifffile

import pathsr

from pathsr.apis import (SlideRegion, init_model, read_slide_region,
                         super_resolve_slide, tiled_sr)
from pathsr.apis import slide_sr
from pathsr.apis.cli import main
from pathsr.slides import read_provenance

ANY_SCALE = 'configs/bicubic/bicubic_demo_x1-4.py'
X4 = 'configs/bicubic/bicubic_histo_x4.py'
TILE = 64


@pytest.fixture(scope='module')
def slide(demo_slide):
    return demo_slide


@pytest.fixture(scope='module')
def model(repo):
    return init_model(repo / ANY_SCALE)


def _reference(model, slide, region, scale):
    x, y, w, h = region
    lr = read_slide_region(SlideRegion(str(slide), (x, y), (w, h),
                                       mpp=0.25)).img
    return tiled_sr(model, lr, scale=scale, halo=2)


def _level_tiles(img):
    for top in range(0, img.shape[0], TILE):
        for left in range(0, img.shape[1], TILE):
            yield (slice(top, top + TILE), slice(left, left + TILE))


def test_pixels_levels_and_mpp(slide, model, tmp_path):
    region = (32, 16, 192, 160)
    ref = _reference(model, slide, region, 2.5)
    out = tmp_path / 'sr.tiff'
    result = super_resolve_slide(model, slide, out, scale=2.5, region=region,
                                 tile=TILE, compression='zlib')
    assert result.lr_shape == (160, 192) and result.out_shape == (400, 480)
    assert result.mpp == pytest.approx((0.1, 0.1))
    assert 0 < result.tissue_tiles < result.tiles == 7 * 8
    assert result.computed_tiles == result.tissue_tiles
    assert not out.with_name('sr.tiff.parts').exists()
    assert not out.with_name('sr.tiff.tmp').exists()
    with tifffile.TiffFile(out) as tif:
        levels = [lv.shape[:2] for lv in tif.series[0].levels]
        sr = tif.series[0].levels[0].asarray()
        res = tif.pages[0].tags['XResolution'].value
    assert levels == [(400, 480), (200, 240), (100, 120), (50, 60)]
    assert res[0] / res[1] == pytest.approx(1e4 / 0.1)
    # every tile is the in-memory tiled SR (tissue, bit-exact) or the LR
    # upsampled by cv2's bicubic (skipped): a few grey levels off the
    # model's antialiased torch bicubic, white only where the input is
    exact = 0
    for box in _level_tiles(sr):
        if (sr[box] == ref[box]).all():
            exact += 1
        else:
            diff = np.abs(sr[box].astype(int) - ref[box])
            assert diff.max() <= 8 and diff.mean() < 1
    assert exact >= result.tissue_tiles
    assert ((sr == 255).all(axis=2) <= (ref >= 247).all(axis=2)).all()
    # without the mask every tile is computed and equals the reference
    full = super_resolve_slide(model, slide, tmp_path / 'all.tif',
                               scale=2.5, region=region, tile=TILE,
                               compression='zlib', tissue=False)
    assert full.computed_tiles == full.tiles
    np.testing.assert_array_equal(tifffile.imread(tmp_path / 'all.tif'), ref)


def test_readers_see_levels_mpp_and_power(slide, tmp_path, repo):
    """Whole slide, fixed-scale x4, JPEG, Aperio layout: OpenSlide,
    tiffslide and tifffile see the same levels, mpp and objective power
    (the 0.25 um/px source counts as 40x, so the output is 160x)."""
    out = tmp_path / 'x4.tiff'
    result = super_resolve_slide(
        init_model(repo / X4), slide, out, tile=TILE, levels=3)
    assert result.out_shape == (768, 1024)
    dims = ((1024, 768), (512, 384), (256, 192))
    for name in ('openslide', 'tiffslide'):
        module = pytest.importorskip(name)
        opener = getattr(module, 'OpenSlide' if name == 'openslide' else
                         'TiffSlide')
        with opener(str(out)) as reader:
            assert reader.level_dimensions == dims
            for axis in 'xy':
                assert float(reader.properties[f'{name}.mpp-{axis}']) == \
                    pytest.approx(0.0625)
            assert float(
                reader.properties[f'{name}.objective-power']) == 160
            assert 'thumbnail' in reader.associated_images
    with tifffile.TiffFile(out) as tif:
        assert tif.is_svs
        assert [lv.shape[:2] for lv in tif.series[0].levels] == [
            (h, w) for w, h in dims]
        meta = tifffile.tifffile.svs_description_metadata(
            tif.pages[0].description)
        assert meta['MPP'] == pytest.approx(0.0625) and meta['AppMag'] == 160


def _aperio_source(path):
    """A 256x192 Aperio-style slide at 0.5 um/px (20x), written with
    tifffile alone: level 0 (tiled), thumbnail, label and macro."""
    rng = np.random.default_rng(3)
    level0 = rng.integers(100, 200, (192, 256, 3), np.uint8)
    label = np.zeros((30, 40, 3), np.uint8)
    label[:, :20] = (250, 250, 0)
    macro = np.full((40, 90, 3), (180, 60, 120), np.uint8)
    head = 'Aperio Image Library v12.0.16\r\n'
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(level0, tile=(64, 64), photometric='rgb',
                  compression='zlib', metadata=None,
                  description=head + '256x192 [0,0 256x192] (64x64) '
                  '|AppMag = 20|MPP = 0.5')
        tif.write(level0[::4, ::4], photometric='rgb', metadata=None,
                  description=head + '256x192 -> 64x48 - ')
        tif.write(label, photometric='rgb', subfiletype=1, metadata=None,
                  description=head + 'label 40x30')
        tif.write(macro, photometric='rgb', subfiletype=9, metadata=None,
                  description=head + 'macro 90x40')
    return label, macro


@pytest.mark.parametrize('backend', ['openslide', 'tiffslide'])
def test_provenance_and_associated_images(model, tmp_path, monkeypatch,
                                          backend):
    """The source is read with ``backend``; the output with OpenSlide."""
    pytest.importorskip(backend)
    openslide = pytest.importorskip('openslide')
    source = tmp_path / 'source.svs'
    label, macro = _aperio_source(source)
    checkpoint = tmp_path / 'weights.pth'
    checkpoint.write_bytes(b'not really weights')
    monkeypatch.setenv('SOURCE_DATE_EPOCH', '1700000000')
    super_resolve_slide(model, source, tmp_path / 'sr.tiff', scale=2,
                        region=(64, 0, 128, 96), tile=TILE,
                        config='configs/x.py', checkpoint=checkpoint,
                        backend=backend)
    record = read_provenance(tmp_path / 'sr.tiff')
    assert record == {
        'MPP': '0.25', 'AppMag': '40',
        'pathsr': 'super-resolved by pathsr (computer-generated, not a scan)',
        'pathsr.version': pathsr.__version__,
        'pathsr.date': '2023-11-14T22:13:20Z',
        'pathsr.source': 'source.svs',
        'pathsr.region': '64,0,128,96',
        'pathsr.read_downsample': '1',
        'pathsr.scale': '2x2',
        'pathsr.model': type(model).__name__,
        'pathsr.source_mpp': '0.5',
        'pathsr.config': 'configs/x.py',
        'pathsr.checkpoint': str(checkpoint),
        'pathsr.checkpoint_sha256': hashlib.sha256(
            b'not really weights').hexdigest(),
    }
    with openslide.OpenSlide(str(tmp_path / 'sr.tiff')) as out:
        assert out.properties['openslide.vendor'] == 'aperio'
        assert out.properties['aperio.pathsr.version'] == \
            pathsr.__version__
        images = out.associated_images
        assert sorted(images) == ['label', 'macro', 'thumbnail']
        # the label is copied losslessly, the macro as JPEG
        np.testing.assert_array_equal(
            np.asarray(images['label'].convert('RGB')), label)
        assert np.abs(np.asarray(images['macro'].convert('RGB')).astype(
            int) - macro).max() <= 4
        # the thumbnail is the output's (the 256x192 region at x2)
        assert images['thumbnail'].size == (256, 192)


def test_interrupted_run_resumes_to_the_same_file(slide, model, tmp_path,
                                                  monkeypatch):
    kwargs = dict(scale=3.0, tile=TILE, compression='jpeg')
    whole = tmp_path / 'whole.tiff'
    # the provenance records the date: pin it, as reproducible builds do
    monkeypatch.setenv('SOURCE_DATE_EPOCH', '1700000000')
    super_resolve_slide(model, slide, whole, **kwargs)

    out = tmp_path / 'resumed.tiff'
    save = slide_sr._save_part
    calls = []

    def crash_after_five(path, tile):
        if len(calls) == 5:
            raise KeyboardInterrupt('simulated interruption')
        calls.append(path)
        save(path, tile)

    monkeypatch.setattr(slide_sr, '_save_part', crash_after_five)
    with pytest.raises(KeyboardInterrupt):
        super_resolve_slide(model, slide, out, **kwargs)
    monkeypatch.setattr(slide_sr, '_save_part', save)
    parts = tmp_path / 'resumed.tiff.parts'
    assert len(list(parts.glob('r*_c*.npy'))) == 5
    assert not out.exists() and not (tmp_path / 'resumed.tiff.tmp').exists()

    result = super_resolve_slide(model, slide, out, **kwargs)
    assert result.reused_tiles == 5
    assert result.computed_tiles == result.tissue_tiles - 5
    assert out.read_bytes() == whole.read_bytes()
    assert not parts.exists()


def test_stale_parts_are_discarded(slide, model, tmp_path):
    out = tmp_path / 'sr.tiff'
    parts = tmp_path / 'sr.tiff.parts'
    parts.mkdir()
    (parts / 'settings.json').write_text('{"fingerprint": "other"}')
    np.save(parts / 'r0_c0.npy', np.zeros((TILE, TILE, 3), np.uint8))
    with pytest.warns(UserWarning, match='other settings'):
        result = super_resolve_slide(model, slide, out, scale=2.0,
                                     tile=TILE, tissue=False)
    assert result.reused_tiles == 0


def test_bad_requests(slide, model, tmp_path, repo):
    out = tmp_path / 'sr.tiff'
    with pytest.raises(FileNotFoundError, match='missing.tiff'):
        super_resolve_slide(model, tmp_path / 'missing.tiff', out, scale=2)
    with pytest.raises(ValueError, match=r'inside the 256x192 level 0'):
        super_resolve_slide(model, slide, out, scale=2,
                            region=(200, 0, 100, 50))
    with pytest.raises(ValueError, match=r'\.tif or \.tiff'):
        super_resolve_slide(model, slide, tmp_path / 'sr.png', scale=2)
    with pytest.raises(ValueError, match='multiple of 16'):
        super_resolve_slide(model, slide, out, scale=2, tile=100)
    with pytest.raises(ValueError, match='not finer'):
        super_resolve_slide(model, slide, out, mpp=0.5)
    with pytest.raises(ValueError, match='one of scale, mpp'):
        super_resolve_slide(model, slide, out, scale=2, mpp=0.1)
    with pytest.raises(ValueError, match='x4 model'):
        super_resolve_slide(init_model(repo / X4), slide, out, scale=3)
    with pytest.raises(ValueError, match='at most'):
        super_resolve_slide(model, slide, out, scale=2, levels=12)
    out.write_bytes(b'')
    with pytest.raises(FileExistsError, match='--overwrite'):
        super_resolve_slide(model, slide, out, scale=2)
    assert not (tmp_path / 'sr.tiff.parts').exists()


def test_cli_whole_slide(slide, tmp_path, repo, capsys):
    out = tmp_path / 'cli.tiff'
    args = [str(repo / ANY_SCALE), str(slide), '--whole-slide', '--out',
            str(out), '--in-mpp', '0.5', '--mpp', '0.125', '--out-tile',
            '64', '--no-progress']
    main(args)
    assert 'x4 -> ' not in capsys.readouterr().out  # not the image mode
    assert read_provenance(out)['pathsr.config'] == str(repo / ANY_SCALE)
    with tifffile.TiffFile(out) as tif:
        assert tif.series[0].levels[0].shape == (384, 512, 3)
    with pytest.raises(SystemExit) as error:
        main(args)
    assert error.value.code == 1
    assert 'pass overwrite=True (--overwrite)' in capsys.readouterr().err
    main(args + ['--overwrite'])
    with pytest.raises(SystemExit):
        main(args[:-1] + ['--size', '10x10'])


GLASS = (242, 241, 239)


def _pale_slide(path):
    """A 160x192 slide at 0.5 um/px: glass, a dark tissue blob on the left
    and pale tissue (at most 20 grey levels under the glass) on the right,
    smooth so that a seam would stand out."""
    yy, xx = np.mgrid[0:160, 0:192].astype(np.float64)
    img = np.empty((160, 192, 3))
    img[:] = GLASS
    dark = np.exp(-((yy - 80)**2 + (xx - 40)**2) / (2 * 18.0**2))
    pale = np.exp(-((yy - 70)**2 + (xx - 140)**2) / (2 * 25.0**2))
    img -= dark[..., None] * np.array([90, 140, 60])
    img -= pale[..., None] * np.array([8, 20, 6])
    img = np.round(img).astype(np.uint8)
    from pathsr.slides import write_pyramid
    write_pyramid(path, (img[t:t + 32, c:c + 32] for t in range(0, 160, 32)
                         for c in range(0, 192, 32)), img.shape[:2],
                  mpp=0.5, tile=32, levels=2, compression='zlib')
    return img


def test_masked_out_tissue_is_upsampled_not_white(model, tmp_path,
                                                  monkeypatch):
    """Tiles the mask skips carry the LR upsampled: the pale tissue the mask
    misses is kept, and skipped/computed tiles join without a seam."""
    img = _pale_slide(tmp_path / 'pale.tiff')
    # a mask that sees the dark blob only (left third of the slide)
    monkeypatch.setattr(
        slide_sr, 'segment_tissue',
        lambda thumb: np.arange(thumb.shape[1])[None].repeat(
            thumb.shape[0], 0) < thumb.shape[1] // 3)
    result = super_resolve_slide(model, tmp_path / 'pale.tiff',
                                 tmp_path / 'sr.tiff', scale=2, tile=TILE,
                                 compression='zlib')
    assert 0 < result.tissue_tiles < result.tiles
    sr = tifffile.imread(tmp_path / 'sr.tiff').astype(int)
    tissue = np.abs(img.astype(int) - GLASS).max(axis=2) > 2
    skipped = np.zeros(img.shape[:2], bool)
    skipped[:, 64:] = True  # output tiles from column 128 on (LR col 64)
    assert (tissue & skipped).sum() > 1000  # pale tissue in skipped tiles
    # no pixel is white: the input has none, and nothing is filled
    assert not (sr == 255).all(axis=2).any()
    # every input tissue pixel's 2x2 output block stays close to it
    blocks = sr.reshape(160, 2, 192, 2, 3).mean(axis=(1, 3))
    assert np.abs(blocks - img)[tissue].max() < 12
    # no seam: the jump across tile columns is no larger than inside tiles
    jumps = np.abs(np.diff(sr, axis=1)).max(axis=(0, 2))
    across = jumps[TILE - 1::TILE]
    inside = np.delete(jumps, np.arange(TILE - 1, jumps.size, TILE))
    assert across.max() <= inside.max()


def test_real_tissue_is_never_white(model, repo, tmp_path):
    """A slide built from two real H&E crops (demo/histo_demo/val) on
    glass, one of them faded to a quarter of its contrast to the glass (pale
    tissue): with the default tissue mask, whatever it finds, no input
    tissue pixel has a white pixel in its output block."""
    import cv2
    crops = [
        cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB).astype(float)
        for path in sorted((repo / 'demo/histo_demo/val').glob('*.png'))
    ]
    img = np.empty((320, 576, 3))
    img[:] = GLASS
    img[32:288, 32:288] = crops[0]
    img[32:288, 288:544] = np.array(GLASS) + 0.25 * (crops[1] -
                                                     np.array(GLASS))
    img = np.round(img).astype(np.uint8)
    from pathsr.slides import write_pyramid
    write_pyramid(tmp_path / 'real.tiff',
                  (img[t:t + 64, c:c + 64] for t in range(0, 320, 64)
                   for c in range(0, 576, 64)), img.shape[:2], mpp=0.5,
                  tile=64, levels=2, compression='zlib')
    # (white fill with the former default mask lost tissue here)
    super_resolve_slide(model, tmp_path / 'real.tiff', tmp_path / 'sr.tiff',
                        scale=2, tile=TILE, compression='zlib')
    sr = tifffile.imread(tmp_path / 'sr.tiff')
    tissue = np.abs(img.astype(int) - GLASS).max(axis=2) > 4
    white = (sr == 255).all(axis=2).reshape(320, 2, 576, 2).any(axis=(1, 3))
    assert tissue.sum() > 100000
    assert not (tissue & white).any()


def test_real_slide_keeps_every_tissue_pixel(model, repo, tmp_path):
    """The real CMU-1 region (demo/real_slide, 10x, glass on the left and
    pale connective tissue): in a 500x500 px box of the tissue edge read
    at level 0 and super-resolved x2 under the default mask, no pixel
    more than 12 grey levels darker than the glass has a white pixel in
    its 2x2 output block (bicubic may overshoot to white beside a white
    JPEG-ringing pixel for paler ones)."""
    slide = repo / 'demo/real_slide/cmu1_region_10x.tiff'
    x, y, w, h = 0, 700, 500, 500
    result = super_resolve_slide(model, slide, tmp_path / 'sr.tiff',
                                 scale=2, region=(x, y, w, h), tile=TILE,
                                 compression='zlib')
    assert 0 < result.tissue_tiles < result.tiles  # some tiles skipped
    lr = tifffile.imread(slide)[y:y + h, x:x + w].astype(int)
    glass = np.median(lr[:, :40].reshape(-1, 3), axis=0)  # bare glass
    tissue = (glass - lr).max(axis=2) > 12
    sr = tifffile.imread(tmp_path / 'sr.tiff')
    white = (sr == 255).all(axis=2).reshape(h, 2, w, 2).any(axis=(1, 3))
    assert tissue.sum() > 40000
    assert not (tissue & white).any()

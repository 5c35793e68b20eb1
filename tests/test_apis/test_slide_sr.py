"""super_resolve_slide and ``pathsr-infer --whole-slide`` on a tiny slide.

The slide is 256x192 px at 0.25 um/px, 3 levels (make_demo_slide.py); the
model is Bicubic (no parameters): arbitrary-scale, and fixed x4.
"""

import numpy as np
import pytest
import tifffile

from pathsr.apis import (SlideRegion, init_model, read_slide_region,
                         super_resolve_slide, tiled_sr)
from pathsr.apis import slide_sr
from pathsr.apis.cli import main

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
    # every tile is the in-memory tiled SR (tissue) or white (background)
    white = 0
    for box in _level_tiles(sr):
        if (sr[box] == 255).all():
            white += 1
        else:
            np.testing.assert_array_equal(sr[box], ref[box])
    assert white >= result.tiles - result.tissue_tiles > 0
    # without the mask every tile is computed and equals the reference
    full = super_resolve_slide(model, slide, tmp_path / 'all.tif',
                               scale=2.5, region=region, tile=TILE,
                               compression='zlib', tissue=False)
    assert full.computed_tiles == full.tiles
    np.testing.assert_array_equal(tifffile.imread(tmp_path / 'all.tif'), ref)


def test_readers_see_levels_and_mpp(slide, tmp_path, repo):
    """Whole slide, fixed-scale x4, JPEG: OpenSlide and tiffslide."""
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
            assert float(reader.properties[f'{name}.mpp-x']) == \
                pytest.approx(0.0625)


def test_interrupted_run_resumes_to_the_same_file(slide, model, tmp_path,
                                                  monkeypatch):
    kwargs = dict(scale=3.0, tile=TILE, compression='jpeg')
    whole = tmp_path / 'whole.tiff'
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
    monkeypatch.undo()
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
    with pytest.raises(ValueError, match='background'):
        super_resolve_slide(model, slide, out, scale=2, background=(0, 300))
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
    with tifffile.TiffFile(out) as tif:
        assert tif.series[0].levels[0].shape == (384, 512, 3)
    with pytest.raises(SystemExit) as error:
        main(args)
    assert error.value.code == 1
    assert 'pass overwrite=True (--overwrite)' in capsys.readouterr().err
    main(args + ['--overwrite'])
    with pytest.raises(SystemExit):
        main(args[:-1] + ['--size', '10x10'])

"""write_pyramid: Aperio and OME layouts, levels, pixels, resolution tags,
associated images, description fields, readers, bad input."""
import cv2
import numpy as np
import pytest
import tifffile

from pathsr.slides import pyramid_shapes, read_provenance, write_pyramid
from pathsr.slides.pyramid_writer import _thumbnail_factor

SHAPE = (200, 300)
TILE = 64


@pytest.fixture(scope='module')
def image():
    return np.random.default_rng(0).integers(0, 256, (*SHAPE, 3), np.uint8)


def _tiles(img, side=TILE):
    for top in range(0, img.shape[0], side):
        for left in range(0, img.shape[1], side):
            yield img[top:top + side, left:left + side]


def test_pyramid_shapes():
    # halved until one tile holds the level
    assert pyramid_shapes((200, 300), 64) == [(200, 300), (100, 150),
                                              (50, 75), (25, 37)]
    assert pyramid_shapes((200, 300), 64, levels=2) == [(200, 300),
                                                        (100, 150)]
    with pytest.raises(ValueError, match='at most 2 levels'):
        pyramid_shapes((3, 300), 64, levels=3)
    with pytest.raises(ValueError, match='levels must be'):
        pyramid_shapes((200, 300), 64, levels=0)


def test_aperio_pyramid(tmp_path, image):
    path = tmp_path / 'pyr.tif'
    label = np.full((30, 40, 3), (200, 10, 30), np.uint8)
    macro = np.zeros((24, 64, 3), np.uint8)
    macro[...] = np.arange(64, dtype=np.uint8)[None, :, None] * 4  # smooth
    shapes = write_pyramid(path, _tiles(image), SHAPE, mpp=0.1, tile=TILE,
                           levels=3, compression='zlib', magnification=100,
                           description={'pathsr.config': 'a|b%c.py é'},
                           associated=dict(macro=macro, label=label))
    assert shapes == [(200, 300), (100, 150), (50, 75)]
    assert not list(tmp_path.glob('.pyramid_*'))  # scratch removed
    with tifffile.TiffFile(path) as tif:
        assert tif.is_bigtiff and tif.is_svs and not tif.is_ome
        levels = tif.series[0].levels
        assert [lv.shape[:2] for lv in levels] == shapes
        np.testing.assert_array_equal(levels[0].asarray(), image)
        # 2 x 2 means: cv2.INTER_AREA at exactly 2x
        half = cv2.resize(image, (150, 100), interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(levels[1].asarray(), half)
        # Aperio order: level 0, thumbnail (stripped), levels, label, macro
        pages = tif.pages
        assert [p.is_tiled for p in pages] == [True, False, True, True,
                                               False, False]
        assert [p.subfiletype for p in pages] == [0, 0, 0, 0, 1, 9]
        assert pages[0].tags['ResolutionUnit'].value == 3  # CENTIMETER
        x_res = pages[3].tags['XResolution'].value
        assert x_res[0] / x_res[1] == pytest.approx(1e4 / 0.4, rel=1e-6)
        assert pages[0].description.startswith(
            'Aperio Image Library pathsr\r\n300x200 [0,0 300x200] (64x64)')
        # '\n' alone, as Aperio: OpenSlide 3.4 then names the label
        assert pages[4].description == \
            'Aperio Image Library pathsr\nlabel 40x30'
        series = {s.name: s for s in tif.series}
        np.testing.assert_array_equal(series['Label'].asarray(), label)
        macro_read = series['Macro'].asarray().astype(int)  # JPEG
        assert np.abs(macro_read - macro).max() <= 8
        # the thumbnail is the 1 x 1 mean (no shrinking below 1024 px)
        assert series['Thumbnail'].shape == (200, 300, 3)
        thumb = series['Thumbnail'].asarray().astype(int)  # JPEG of noise
        assert abs(thumb.mean() - image.mean()) < 2
    # the fields read back, with '|', '%' and non-ASCII quoted
    assert read_provenance(path) == {'MPP': '0.1', 'AppMag': '100',
                                     'pathsr.config': 'a|b%c.py é'}


@pytest.mark.parametrize('reader', ['openslide', 'tiffslide'])
def test_readers_see_aperio_levels_mpp_power_and_images(
        tmp_path, image, reader):
    module = pytest.importorskip(reader)
    path = tmp_path / 'pyr.tif'
    label = np.full((30, 40, 3), (200, 10, 30), np.uint8)
    write_pyramid(path, _tiles(image), SHAPE, mpp=0.1, tile=TILE, levels=3,
                  magnification=100, associated=dict(label=label))
    opener = module.OpenSlide if reader == 'openslide' else module.TiffSlide
    with opener(str(path)) as slide:
        assert slide.level_dimensions == ((300, 200), (150, 100), (75, 50))
        assert float(slide.properties[f'{reader}.mpp-x']) == \
            pytest.approx(0.1)
        assert float(slide.properties[f'{reader}.mpp-y']) == \
            pytest.approx(0.1)
        assert float(slide.properties[f'{reader}.objective-power']) == 100
        assert sorted(slide.associated_images) == ['label', 'thumbnail']
        got = np.asarray(slide.associated_images['label'])[..., :3]
        np.testing.assert_array_equal(got, label)  # LZW: lossless
        region = np.asarray(slide.read_region((0, 0), 1, (150, 100)))
    # the reader decodes the JPEG tiles as tifffile does (up to the decoder)
    decoded = tifffile.imread(path, series=0, level=1)
    assert np.abs(region[..., :3].astype(int) - decoded).max() <= 2


def test_thumbnail_is_the_shrunk_level0(tmp_path):
    # 96 x 2600: 2 x 2 block means (1300 px) then INTER_AREA to 1024 px
    yy, xx = np.mgrid[0:96, 0:2600]
    smooth = np.stack([xx * 255 // 2599, yy * 2, 128 + 0 * xx],
                      axis=2).astype(np.uint8)
    path = tmp_path / 'long.tif'
    write_pyramid(path, _tiles(smooth), smooth.shape[:2], tile=TILE,
                  levels=1)
    with tifffile.TiffFile(path) as tif:
        thumb = tif.series[1].asarray().astype(int)
    expected = cv2.resize(cv2.resize(smooth, (1300, 48),
                                     interpolation=cv2.INTER_AREA),
                          (1024, 38), interpolation=cv2.INTER_AREA)
    assert thumb.shape == expected.shape
    assert np.abs(thumb - expected).max() <= 6  # JPEG q90


def test_thumbnail_factor_of_a_large_level():
    # a power of two dividing the tile, keeping >= 1024 px on the long side
    assert _thumbnail_factor((5000, 9000), 512) == 8
    assert _thumbnail_factor((5000, 9000), 48) == 8  # 48 = 3 * 16
    assert _thumbnail_factor((5000, 9000), 80) == 8  # 80 = 5 * 16
    assert _thumbnail_factor((4, 100000), 512) == 4  # >= 1 px per axis
    assert _thumbnail_factor((200, 300), 64) == 1


def test_ome_subifds(tmp_path, image):
    path = tmp_path / 'pyr.ome.tif'
    write_pyramid(path, _tiles(image), SHAPE, mpp=0.1, tile=TILE,
                  levels=3, compression='zlib', ome=True)
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome
        assert len(tif.pages) == 1  # the reduced levels are SubIFDs
        levels = tif.series[0].levels
        assert [lv.shape[:2] for lv in levels] == [(200, 300), (100, 150),
                                                   (50, 75)]
        np.testing.assert_array_equal(levels[0].asarray(), image)
        assert 'PhysicalSizeX="0.1"' in tif.ome_metadata


def test_bad_input(tmp_path, image):
    path = tmp_path / 'bad.tif'
    with pytest.raises(ValueError, match='multiple of 16'):
        write_pyramid(path, _tiles(image), SHAPE, tile=60)
    with pytest.raises(ValueError, match='compression'):
        write_pyramid(path, _tiles(image), SHAPE, tile=TILE,
                      compression='lzw')
    with pytest.raises(ValueError, match='tiles ended'):
        write_pyramid(path, list(_tiles(image))[:-1], SHAPE, tile=TILE)
    with pytest.raises(ValueError, match=r'tile \(row 0, col 1\)'):
        tiles = list(_tiles(image))
        tiles[1] = tiles[1][:10]
        write_pyramid(path, tiles, SHAPE, tile=TILE)
    with pytest.raises(ValueError, match='mpp'):
        write_pyramid(path, _tiles(image), SHAPE, mpp=-1, tile=TILE)
    with pytest.raises(ValueError, match='magnification'):
        write_pyramid(path, _tiles(image), SHAPE, tile=TILE,
                      magnification=0)
    with pytest.raises(ValueError, match="associated images are"):
        write_pyramid(path, _tiles(image), SHAPE, tile=TILE,
                      associated=dict(slide=image))
    with pytest.raises(ValueError, match='associated label'):
        write_pyramid(path, _tiles(image), SHAPE, tile=TILE,
                      associated=dict(label=image[..., 0]))
    with pytest.raises(ValueError, match='description key'):
        write_pyramid(path, _tiles(image), SHAPE, tile=TILE,
                      description={'a|b': 1})
    with pytest.raises(ValueError, match='no Aperio'):
        write_pyramid(path, _tiles(image), SHAPE, tile=TILE, ome=True)
        read_provenance(path)

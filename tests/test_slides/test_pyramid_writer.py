"""write_pyramid: levels, pixels, resolution tags, readers, OME, bad input."""
import cv2
import numpy as np
import pytest
import tifffile

from pathsr.slides import pyramid_shapes, write_pyramid

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


def test_generic_pyramid(tmp_path, image):
    path = tmp_path / 'pyr.tif'
    shapes = write_pyramid(path, _tiles(image), SHAPE, mpp=0.1, tile=TILE,
                           levels=3, compression='zlib',
                           description={'mpp': 0.1})
    assert shapes == [(200, 300), (100, 150), (50, 75)]
    assert not list(tmp_path.glob('.pyramid_*'))  # scratch removed
    with tifffile.TiffFile(path) as tif:
        assert tif.is_bigtiff and not tif.is_ome
        levels = tif.series[0].levels
        assert [lv.shape[:2] for lv in levels] == shapes
        np.testing.assert_array_equal(levels[0].asarray(), image)
        # 2 x 2 means: cv2.INTER_AREA at exactly 2x
        half = cv2.resize(image, (150, 100), interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(levels[1].asarray(), half)
        pages = tif.pages
        assert [p.subfiletype for p in pages] == [0, 1, 1]
        assert pages[0].tags['ResolutionUnit'].value == 3  # CENTIMETER
        x_res = pages[2].tags['XResolution'].value
        assert x_res[0] / x_res[1] == pytest.approx(1e4 / 0.4, rel=1e-6)
        assert '"mpp": 0.1' in pages[0].description
    tiffslide = pytest.importorskip('tiffslide')
    with tiffslide.TiffSlide(path) as slide:
        assert slide.level_dimensions == ((300, 200), (150, 100), (75, 50))
        assert float(slide.properties['tiffslide.mpp-x']) == \
            pytest.approx(0.1)


def test_openslide_reads_every_level(tmp_path, image):
    openslide = pytest.importorskip('openslide')
    path = tmp_path / 'pyr.tif'
    write_pyramid(path, _tiles(image), SHAPE, mpp=0.1, tile=TILE, levels=3)
    with openslide.OpenSlide(str(path)) as slide:
        assert slide.level_dimensions == ((300, 200), (150, 100), (75, 50))
        assert float(slide.properties['openslide.mpp-x']) == \
            pytest.approx(0.1)
        region = np.asarray(slide.read_region((0, 0), 1, (150, 100)))
    # OpenSlide decodes the JPEG tiles as tifffile does (up to the decoder)
    decoded = tifffile.imread(path, series=0, level=1)
    assert np.abs(region[..., :3].astype(int) - decoded).max() <= 2


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

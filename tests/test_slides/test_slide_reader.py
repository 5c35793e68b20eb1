"""SlideReader backends on real pyramidal tiled TIFFs written with tifffile."""

import cv2
import numpy as np
import pytest
import tifffile

from pathsr.slides import (OpenSlideReader, TiffSlideReader,
                           composite_on_white, open_slide, slide_reader)


@pytest.fixture(scope='module')
def demo(demo_slide_tool):
    return demo_slide_tool


@pytest.fixture(scope='module')
def slide(tmp_path_factory, demo):
    """A 1024x768 H&E slide, 3 levels, lossless, 0.25 um/px."""
    image = demo.make_demo_image((1024, 768), seed=1)
    path = tmp_path_factory.mktemp('slide') / 'slide.tiff'
    demo.write_pyramid(str(path), image, mpp=0.25, levels=3)
    return path, image


@pytest.mark.parametrize('backend', ['openslide', 'tiffslide'])
def test_levels_mpp_and_power(slide, backend):
    with open_slide(slide[0], backend) as reader:
        assert reader.backend == backend
        assert reader.path == str(slide[0])
        assert reader.dimensions == (1024, 768)
        assert reader.level_dimensions == ((1024, 768), (512, 384),
                                           (256, 192))
        assert reader.level_downsamples == (1.0, 2.0, 4.0)
        assert reader.mpp == pytest.approx(0.25)
        assert reader.objective_power == 40  # derived as 10 / mpp
        assert [reader.best_level(d) for d in (0.5, 1, 1.9, 2, 3.9, 16)] \
            == [0, 0, 0, 1, 1, 2]


def test_auto_prefers_openslide(slide):
    with open_slide(slide[0]) as reader:
        assert isinstance(reader, OpenSlideReader)


@pytest.mark.parametrize('kwargs,level0', [
    (dict(magnification=40), 1), (dict(magnification=20), 2),
    (dict(magnification=10), 4), (dict(magnification=5), 8),
    (dict(mpp=0.5), 2), (dict(mpp=0.75), 3)
])
def test_backends_agree_and_match_the_image(slide, kwargs, level0):
    path, image = slide
    x, y, w, h = 128, 64, 48, 40
    regions = []
    for backend in ('openslide', 'tiffslide'):
        with open_slide(path, backend) as reader:
            regions.append(reader.read_region((x, y), (w, h), **kwargs))
    assert regions[0].shape == (h, w, 3) and regions[0].dtype == np.uint8
    np.testing.assert_array_equal(regions[0], regions[1])
    # the same level-0 region downscaled with INTER_AREA: levels are
    # INTER_AREA halvings, so for powers of two only rounding differs; x3 is
    # read from level 1 and resized by 1.5, a slightly different filter
    crop = image[y:y + h * level0, x:x + w * level0]
    expected = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
    diff = np.abs(regions[0].astype(int) - expected)
    if level0 == 3:
        assert diff.mean() < 3
    else:
        assert diff.max() <= (0 if level0 == 1 else 2)
        assert diff.mean() < 0.6


def test_jpeg_slide_backends_agree(tmp_path, demo):
    image = demo.make_demo_image((512, 512), seed=2)
    path = tmp_path / 'jpeg.tiff'
    demo.write_pyramid(str(path), image, levels=2, compression='jpeg')
    regions = []
    for backend in ('openslide', 'tiffslide'):
        with open_slide(path, backend) as reader:
            assert reader.level_dimensions == ((512, 512), (256, 256))
            regions.append(reader.read_region((0, 0), (256, 256),
                                              magnification=20))
    assert np.abs(regions[0].astype(int) - regions[1]).max() <= 2
    assert np.abs(regions[0].astype(int) - cv2.resize(
        image, (256, 256), interpolation=cv2.INTER_AREA)).mean() < 4


@pytest.mark.parametrize('backend', ['openslide', 'tiffslide'])
def test_region_outside_the_slide_is_refused(slide, backend):
    path, image = slide
    with open_slide(path, backend) as reader:
        for location, size, kwargs in [
                ((1000, 740), (64, 64), dict(magnification=40)),  # partly
                ((5000, 0), (8, 8), dict(magnification=40)),  # wholly
                ((-1, 0), (8, 8), dict(magnification=40)),
                ((1000, 0), (9, 4), dict(mpp=0.75))]:  # 9th px at x=1024
            with pytest.raises(ValueError, match=(
                    rf'region at level-0 \(x={location[0]}, '
                    rf'y={location[1]}\) of {size[0]}x{size[1]} px .* not '
                    f'inside the 1024x768 px slide {path}')):
                reader.read_region(location, size, **kwargs)
        # the last output pixel may pass the edge (by 1 of its 3 level-0 px,
        # which are white): the rounding of a size to whole output pixels
        region = reader.read_region((1001, 0), (8, 4), mpp=0.75)
        crop = np.full((12, 24, 3), 255, np.uint8)
        crop[:, :23] = image[:12, 1001:]
        expected = cv2.resize(crop, (8, 4), interpolation=cv2.INTER_AREA)
        assert np.abs(region.astype(int) - expected).max() <= 2


@pytest.mark.parametrize('backend', ['openslide', 'tiffslide'])
def test_reading_finer_than_level0_is_refused(slide, backend):
    path, image = slide
    with open_slide(path, backend) as reader:
        with pytest.raises(ValueError, match=(
                f'cannot read slide {path} 1.25x finer than its level 0 '
                r'\(0.2 um/px asked, level 0 is 0.25 um/px\)')):
            reader.read_region((0, 0), (8, 8), mpp=0.2)
        with pytest.raises(ValueError, match='2x finer'):
            reader.read_region((0, 0), (8, 8), magnification=80)
        # within UPSAMPLE_TOLERANCE (a scan of 0.2525 um/px read at 0.25)
        assert reader.read_region((0, 0), (42, 42), magnification=42).shape \
            == (42, 42, 3)


@pytest.mark.parametrize('backend', ['openslide', 'tiffslide'])
@pytest.mark.parametrize('kwargs', [dict(mpp=0.75), dict(mpp=0.675),
                                    dict(magnification=40)])
def test_block_reads_match_whole_reads(slide, backend, kwargs, monkeypatch):
    """Reads made of many blocks (READ_BLOCK patched to 48) equal the reads
    of one block: exactly at a level's own resolution, to rounding (1) for
    the area-weighted sums against cv2.INTER_AREA."""
    path, _ = slide
    with open_slide(path, backend) as reader:
        whole = reader.read_region((64, 32), (280, 200), **kwargs)
        thumb = reader.thumbnail(300)
        monkeypatch.setattr(slide_reader, 'READ_BLOCK', 48)
        monkeypatch.setattr(slide_reader, 'MAX_WHOLE_BOX', 192**2)
        blocks = reader.read_region((64, 32), (280, 200), **kwargs)
        thumb_blocks = reader.thumbnail(300)
    assert blocks.shape == whole.shape and blocks.dtype == np.uint8
    tolerance = 0 if 'magnification' in kwargs else 1
    assert np.abs(blocks.astype(int) - whole).max() <= tolerance
    assert np.abs(thumb_blocks.astype(int) - thumb).max() <= 1


def test_thumbnail_fits_and_keeps_aspect(slide):
    path, image = slide
    with open_slide(path, 'tiffslide') as reader:
        thumb = reader.thumbnail(256)
        assert thumb.shape == (192, 256, 3)
        expected = cv2.resize(image, (256, 192), interpolation=cv2.INTER_AREA)
        assert np.abs(thumb.astype(int) - expected).max() <= 3
        assert reader.thumbnail((4096, 4096)).shape == (768, 1024, 3)


def test_rgba_is_composited_on_white(slide, monkeypatch):
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., :3] = (200, 100, 0)
    rgba[..., 3] = [[255, 0, 128], [255, 255, 0]]
    expected = np.empty((2, 3, 3), np.uint8)
    expected[rgba[..., 3] == 255] = (200, 100, 0)
    expected[rgba[..., 3] == 0] = 255
    expected[0, 2] = np.rint(np.array([200, 100, 0]) * 128 / 255
                             + 255 * (1 - 128 / 255))
    np.testing.assert_array_equal(composite_on_white(rgba), expected)
    with open_slide(slide[0], 'openslide') as reader:
        monkeypatch.setattr(reader, '_read_level',
                            lambda location, level, size: rgba)
        region = reader.read_region((0, 0), (3, 2), magnification=40)
    np.testing.assert_array_equal(region, expected)


def test_openslide_returns_rgba_transparent_outside(slide):
    # OpenSlide itself gives RGBA; the reader composites it
    with open_slide(slide[0], 'openslide') as reader:
        raw = reader._read_level((1016, 0), 0, (16, 4))
        assert raw.shape == (4, 16, 4)
        assert (raw[:, 8:, 3] == 0).all()


@pytest.mark.parametrize('backend', ['openslide', 'tiffslide'])
def test_missing_mpp_is_named_and_can_be_given(tmp_path, backend):
    path = tmp_path / 'nompp.tif'
    image = np.full((512, 512, 3), 230, np.uint8)
    tifffile.imwrite(path, image, tile=(256, 256), photometric='rgb',
                     metadata=None)
    with open_slide(path, backend) as reader:
        with pytest.raises(ValueError, match=f'{path}.*mpp='):
            reader.mpp
        with pytest.raises(ValueError, match='mpp='):
            reader.read_region((0, 0), (8, 8), magnification=20)
    with open_slide(path, backend, mpp=0.5) as reader:
        assert reader.mpp == 0.5 and reader.objective_power == 20
        assert reader.read_region((0, 0), (8, 8), magnification=10).shape \
            == (8, 8, 3)


def test_objective_power_property_wins(slide, monkeypatch):
    with open_slide(slide[0], 'tiffslide') as reader:
        monkeypatch.setattr(
            reader, '_property',
            lambda name: 20.0 if name == 'objective-power' else 0.25)
        assert reader.objective_power == 20
        assert reader.target_downsample(magnification=10) == 2


def test_exactly_one_resolution(slide):
    with open_slide(slide[0], 'tiffslide') as reader:
        with pytest.raises(ValueError, match='exactly one'):
            reader.read_region((0, 0), (8, 8))
        with pytest.raises(ValueError, match='exactly one'):
            reader.read_region((0, 0), (8, 8), mpp=0.5, magnification=20)
        with pytest.raises(ValueError, match='magnification .* positive'):
            reader.read_region((0, 0), (8, 8), magnification=0)
        with pytest.raises(ValueError, match='size'):
            reader.read_region((0, 0), (0, 8), magnification=20)


def test_fsspec_url_with_tiffslide(slide):
    url = f'file://{slide[0]}'
    with open_slide(url) as reader:
        assert isinstance(reader, TiffSlideReader)
        assert reader.read_region((0, 0), (16, 16), mpp=0.5).shape == \
            (16, 16, 3)
    with pytest.raises(ValueError, match='local files only'):
        OpenSlideReader(url)


@pytest.mark.parametrize('backend', ['auto', 'openslide', 'tiffslide'])
def test_bad_files_are_named(tmp_path, slide, backend):
    missing = tmp_path / 'missing.svs'
    with pytest.raises(FileNotFoundError, match=str(missing)):
        open_slide(missing, backend)
    junk = tmp_path / 'junk.tif'
    junk.write_text('not a slide')
    with pytest.raises(ValueError, match=f'cannot open slide {junk}'):
        open_slide(junk, backend)
    truncated = tmp_path / 'truncated.tiff'
    data = slide[0].read_bytes()
    truncated.write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError,
                       match=f'cannot (open|read) slide {truncated}'):
        with open_slide(truncated, backend) as reader:
            reader.thumbnail(512)


def test_unknown_backend():
    with pytest.raises(ValueError, match="'bioformats'"):
        open_slide('x.svs', 'bioformats')

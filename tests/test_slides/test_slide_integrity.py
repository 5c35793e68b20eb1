"""Truncated slides are refused; a flat TIFF is read in bounded memory."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tifffile

from pathsr.slides import SlideFileError, check_slide_file, open_slide

MAKE_SLIDE = 'tools/dataset_converters/make_demo_slide.py'

# peak RSS growth (MB) of a thumbnail, after a warm-up read
MEMORY_PROBE = '''
import sys
from pathsr.slides import open_slide


def status(key):
    with open('/proc/self/status') as file:
        for line in file:
            if line.startswith(key):
                return int(line.split()[1]) / 1024


with open_slide(sys.argv[1], sys.argv[2]) as reader:
    reader.read_region((0, 0), (8, 8), magnification=40)
    with open('/proc/self/clear_refs', 'w') as file:
        file.write('5')  # reset the peak (VmHWM) to the current RSS
    base = status('VmRSS')
    reader.thumbnail(512)
    print(status('VmHWM') - base)
'''


@pytest.fixture(scope='module')
def slide_bytes(tmp_path_factory, run_tool):
    """A 1024x768 demo slide (3 levels, JPEG) made by the tool, as bytes."""
    path = tmp_path_factory.mktemp('slide') / 'slide.tiff'
    run_tool([MAKE_SLIDE, str(path), '--size', '1024', '768', '--levels',
              '3'])
    return path.read_bytes()


@pytest.mark.parametrize('backend,url', [('auto', False),
                                         ('openslide', False),
                                         ('tiffslide', False),
                                         ('tiffslide', True)])
def test_slide_cut_to_90_percent_is_refused(slide_bytes, tmp_path, backend,
                                            url):
    cut = tmp_path / 'cut.tiff'
    cut.write_bytes(slide_bytes[:int(len(slide_bytes) * 0.9)])
    path = f'file://{cut}' if url else str(cut)
    # before the check, tiffslide opened it with fewer levels and decoded
    # the cut tiles as garbage; every backend now refuses it, auto does not
    # fall back
    with pytest.raises(SlideFileError, match=(
            f'cannot open slide {path}: truncated or corrupt file: its TIFF '
            r'directory chain is cut after \d directories')):
        open_slide(path, backend)


def test_cut_tile_is_named(slide_bytes, tmp_path):
    intact = tmp_path / 'intact.tiff'
    intact.write_bytes(slide_bytes)
    check_slide_file(str(intact))  # no error
    with tifffile.TiffFile(intact) as tif:
        page = tif.pages[2]
        start = page.dataoffsets[0]
        end = start + page.databytecounts[0]
    assert end == len(slide_bytes)  # the last tile is last in the file
    cut = tmp_path / 'cut.tiff'
    cut.write_bytes(slide_bytes[:end - 1])
    with pytest.raises(SlideFileError, match=(
            f'slide {cut}: truncated or corrupt file: directory 2 '
            rf'\(256x192 px\) has 1 of 1 tiles/strips past the end of the '
            rf'file, the first #0 at bytes {start}-{end} \(the file has '
            rf'{end - 1} bytes\)')):
        open_slide(cut, 'tiffslide')


@pytest.mark.parametrize('backend', ['openslide', 'tiffslide'])
def test_corrupt_tile_fails_when_read(slide_bytes, tmp_path, backend):
    """Bytes zeroed inside tile #5 of level 0 (4 tiles a row: at (256, 256);
    the structure is intact, so the file opens): reading it fails and names
    the slide, level and box."""
    path = tmp_path / 'corrupt.tiff'
    path.write_bytes(slide_bytes)
    with tifffile.TiffFile(path) as tif:
        start = tif.pages[0].dataoffsets[5]
        count = tif.pages[0].databytecounts[5]
    data = bytearray(slide_bytes)
    data[start + 100:start + count] = bytes(count - 100)
    path.write_bytes(bytes(data))
    with open_slide(path, backend) as reader:
        reader.read_region((0, 0), (256, 256), magnification=40)  # tile #0
        with pytest.raises(ValueError, match=(
                f'cannot read slide {path}: level 0, 256x256 px at level '
                r'pixel \(256, 256\): ')):
            reader.read_region((256, 256), (256, 256), magnification=40)


def test_non_tiff_files_are_left_to_their_reader(tmp_path):
    junk = tmp_path / 'slide.mrxs'
    junk.write_text('not a TIFF')
    check_slide_file(str(junk))
    with pytest.raises(ValueError, match='cannot open slide') as error:
        open_slide(junk)
    assert not isinstance(error.value, SlideFileError)


@pytest.fixture(scope='module')
def flat_slides(tmp_path_factory, demo_slide_tool):
    """Flat (one level) TIFFs of 2100^2 and 4200^2 px at 0.25 um/px (both
    above MAX_WHOLE_BOX: read block by block), tiled (256 px) and in strips
    (21 rows): ``{(side, layout): (path, image)}``."""
    folder = tmp_path_factory.mktemp('flat')
    slides = {}
    for side in (2100, 4200):
        image = demo_slide_tool.make_demo_image((side, side), seed=side)
        for layout, tile in (('tiled', (256, 256)), ('strips', None)):
            path = folder / f'{layout}{side}.tif'
            tifffile.imwrite(
                path, image, tile=tile, rowsperstrip=None if tile else 21,
                photometric='rgb', compression='zlib',
                compressionargs=dict(level=1), resolution=(4e4, 4e4),
                resolutionunit='CENTIMETER', metadata=None)
            slides[side, layout] = path, image
    return slides


# OpenSlide reads tiled TIFFs only
LAYOUTS = [('openslide', 'tiled'), ('tiffslide', 'tiled'),
           ('tiffslide', 'strips')]


@pytest.mark.parametrize('backend,layout', LAYOUTS)
def test_flat_tiff_thumbnail_equals_whole_image_resize(flat_slides, backend,
                                                       layout):
    path, image = flat_slides[2100, layout]
    with open_slide(path, backend) as reader:
        assert len(reader.level_dimensions) == 1
        thumb = reader.thumbnail(512)
        region = reader.read_region((300, 200), (600, 500), mpp=0.7)
    expected = cv2.resize(image, (512, 512), interpolation=cv2.INTER_AREA)
    assert np.abs(thumb.astype(int) - expected).max() <= 1
    expected = cv2.resize(image[200:1600, 300:1980], (600, 500),
                          interpolation=cv2.INTER_AREA)
    assert np.abs(region.astype(int) - expected).max() <= 1


@pytest.mark.skipif(not os.access('/proc/self/clear_refs', os.W_OK),
                    reason='needs Linux /proc/self/clear_refs to reset the '
                    'peak RSS')
@pytest.mark.parametrize('backend,layout', LAYOUTS)
def test_flat_tiff_thumbnail_memory_is_bounded(flat_slides, backend, layout):
    """Doubling the side of a flat TIFF (4x the pixels) must not double the
    peak memory of its thumbnail (reading it whole took ~17x the slide's
    raw size: 750 MB for 4000^2 with OpenSlide)."""
    growth = {}
    for side in (2100, 4200):
        proc = subprocess.run(
            [sys.executable, '-c', MEMORY_PROBE,
             str(flat_slides[side, layout][0]), backend],
            capture_output=True, text=True, check=True)
        growth[side] = float(proc.stdout)
    raw = 4200 * 4200 * 3 / 2**20  # 50 MB
    assert growth[4200] < 2 * growth[2100], growth
    assert growth[4200] < 1.5 * raw, growth

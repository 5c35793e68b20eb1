"""Bad input and faults in inference (issue 18): outputs that would replace
an input or an existing file, interrupted writes, image files that are not
one RGB image, unknown devices, inputs smaller than a windowed model takes,
a full disk and damaged parts in whole-slide SR.

Models: Bicubic (no parameters) and the tiny LIIF of ``conftest.py``.
"""
import errno
import os
import shutil
from collections import namedtuple

import cv2
import numpy as np
import pytest
import tifffile
from mmengine.config import Config
from PIL import Image, ImageOps

from pathsr.apis import SRInferencer, init_model, super_resolve_slide
from pathsr.apis import inferencer as inferencer_module
from pathsr.apis import slide_sr
from pathsr.apis.inferencer import _read_image, select_device
from pathsr.apis.tiled_inference import min_input_side, resolve_out_shape
from pathsr.slides import pyramid_writer

ANY_SCALE = 'configs/bicubic/bicubic_demo_x1-4.py'
ISTE = 'configs/iste/iste-swinir-tiny-wo-lfi_demo_x1-4.py'


@pytest.fixture(scope='module')
def bicubic(repo):
    return SRInferencer(repo / ANY_SCALE, device='cpu', tile=16)


@pytest.fixture
def image_file(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (12, 16, 3), np.uint8)
    path = tmp_path / 'in' / 'lr.png'
    path.parent.mkdir()
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return path


# item 2: --out


def test_output_that_is_an_input_is_refused(bicubic, image_file):
    before = image_file.read_bytes()
    with pytest.raises(ValueError, match='would overwrite or join the input'):
        bicubic(str(image_file), scale=2, out=image_file, overwrite=True)
    with pytest.raises(ValueError, match='would overwrite or join the input'):
        bicubic(str(image_file.parent), scale=2, out=image_file.parent)
    assert image_file.read_bytes() == before
    assert os.listdir(image_file.parent) == ['lr.png']


def test_existing_output_is_replaced_only_with_overwrite(
        bicubic, image_file, tmp_path):
    out = tmp_path / 'sr.png'
    out.write_bytes(b'precious')
    with pytest.raises(FileExistsError, match='pass --overwrite'):
        bicubic(str(image_file), scale=2, out=out)
    assert out.read_bytes() == b'precious'
    sr = bicubic(str(image_file), scale=2, out=out, overwrite=True)[0]
    saved = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(saved, sr)


def test_out_with_a_jpeg_suffix_is_one_file(bicubic, image_file, tmp_path):
    out = tmp_path / 'x.jpg'
    sr = bicubic(str(image_file), scale=2, out=out)[0]
    assert out.is_file()
    assert out.read_bytes()[:3] == b'\xff\xd8\xff'  # a JPEG, not a folder
    assert sr.shape == (24, 32, 3)
    # the returned array encoded at quality 95 by the same encoder
    encoded = cv2.imencode('.jpg', cv2.cvtColor(sr, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    assert out.read_bytes() == encoded
    with pytest.raises(ValueError, match='is a file but there are 2'):
        bicubic([str(image_file)] * 2, scale=2, out=tmp_path / 'y.jpg')
    with pytest.raises(ValueError, match='cannot save'):
        bicubic(str(image_file), scale=2, out=tmp_path / 'x.bmp')
    assert sorted(os.listdir(tmp_path)) == ['in', 'x.jpg']


@pytest.mark.parametrize('name', ['sr.png', 'sr.tiff'])
def test_interrupted_write_leaves_no_partial_output(bicubic, image_file,
                                                    tmp_path, monkeypatch,
                                                    name):
    out = tmp_path / name
    out.write_bytes(b'old')

    def half_written(path, *args, **kwargs):
        with open(path, 'wb') as file:
            file.write(b'half an image')
        raise KeyboardInterrupt

    monkeypatch.setattr(inferencer_module.cv2, 'imwrite', half_written)
    monkeypatch.setattr(inferencer_module.tifffile, 'imwrite', half_written)
    with pytest.raises(KeyboardInterrupt):
        bicubic(str(image_file), scale=2, out=out, overwrite=True)
    assert out.read_bytes() == b'old'
    assert sorted(os.listdir(tmp_path)) == ['in', name]


# item 6: image files that are not one RGB image


def test_two_channel_and_multi_page_tiffs_are_refused(tmp_path):
    two = tmp_path / 'two.tif'
    tifffile.imwrite(two, np.zeros((8, 8, 2), np.uint8),
                     photometric='minisblack', planarconfig='contig')
    with pytest.raises(ValueError, match=r'two\.tif has 2 channels'):
        _read_image(two)
    pages = tmp_path / 'pages.tif'
    with tifffile.TiffWriter(pages) as writer:
        for _ in range(3):
            writer.write(np.zeros((8, 8, 3), np.uint8), photometric='rgb')
    with pytest.raises(ValueError, match=r'pages\.tif has 3 pages'):
        _read_image(pages)
    # a pyramid (level 0 and reduced levels) is one image: level 0 is read
    pyramid = tmp_path / 'pyramid.tif'
    level0 = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    with tifffile.TiffWriter(pyramid) as writer:
        writer.write(level0, photometric='rgb')
        writer.write(level0[::2, ::2], photometric='rgb', subfiletype=1)
    np.testing.assert_array_equal(_read_image(pyramid), level0)


def test_grey_with_alpha_is_converted_with_a_warning(tmp_path):
    grey = np.array([[0, 100, 255], [30, 60, 90]], np.uint8)
    alpha = np.array([[255, 128, 0], [0, 51, 255]], np.uint8)
    path = tmp_path / 'la.png'
    Image.fromarray(np.stack([grey, alpha], -1), 'LA').save(path)
    with pytest.warns(UserWarning, match='la.png is a grey image'):
        img = _read_image(path)
    # composited on white by hand: g a / 255 + 255 (1 - a / 255)
    a = alpha / 255
    expected = np.rint(grey * a + 255 * (1 - a)).astype(np.uint8)
    np.testing.assert_array_equal(img, np.repeat(expected[..., None], 3, 2))


def test_exif_orientation_is_honoured(tmp_path):
    """Every EXIF orientation gives the pixels PIL's exif_transpose (the
    reference) gives; PNG keeps them exact."""
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (5, 7, 3), np.uint8)
    for orientation in range(1, 9):
        path = tmp_path / f'o{orientation}.png'
        pil = Image.fromarray(img)
        exif = pil.getexif()
        exif[0x0112] = orientation
        pil.save(path, exif=exif)
        with Image.open(path) as reference:
            upright = np.asarray(ImageOps.exif_transpose(reference))
        if orientation == 1:
            np.testing.assert_array_equal(_read_image(path), upright)
            continue
        with pytest.warns(UserWarning, match=f'EXIF orientation '
                          f'{orientation}'):
            np.testing.assert_array_equal(_read_image(path), upright)


# "must read clearly": devices, inputs below a model's minimum


def test_unknown_devices_are_refused():
    for device in ('tpu', 'cuda:x', 'gpu0'):
        with pytest.raises(ValueError, match=f'unknown device {device!r}'):
            select_device(device)
    assert select_device('cpu') == 'cpu'


def test_windowed_model_refuses_inputs_below_its_minimum(
        repo, tmp_path, write_model):
    config, checkpoint, model = write_model(
        tmp_path, 'iste', Config.fromfile(repo / ISTE).model.to_dict())
    # SwinIR windows of 8: a side n is reflect-padded by (-n) % 8, which
    # must be < n: n = 4 pads 4 (refused), n = 5 pads 3 (the minimum)
    assert min_input_side(model) == 5
    for shape in [(1, 1), (1, 80), (80, 4)]:
        with pytest.raises(ValueError, match=f'is {shape[0]}x{shape[1]} px '
                           'but .* at least 5 px per side'):
            resolve_out_shape(model, shape, 2.0)
    assert resolve_out_shape(model, (5, 80), 2.0) == (10, 160)
    inferencer = SRInferencer(config, checkpoint, device='cpu')
    with pytest.raises(ValueError, match='is 4x9 px'):
        inferencer(np.full((4, 9, 3), 128, np.uint8), scale=2)
    assert inferencer(np.full((5, 5, 3), 128, np.uint8),
                      scale=2)[0].shape == (10, 10, 3)


# whole-slide: output, max pixels, full disk, damaged parts

TILE = 64


@pytest.fixture(scope='module')
def model(repo):
    return init_model(repo / ANY_SCALE)


def test_whole_slide_output_that_is_the_slide_is_refused(
        model, demo_slide, tmp_path):
    slide = tmp_path / 'slide.tiff'
    shutil.copy(demo_slide, slide)
    before = slide.read_bytes()
    with pytest.raises(ValueError, match='is the slide itself'):
        super_resolve_slide(model, slide, slide, scale=2, overwrite=True)
    assert slide.read_bytes() == before


def test_whole_slide_max_pixels(model, demo_slide, tmp_path):
    # 256x192 at x2: 384x512 = 196608 pixels
    with pytest.raises(ValueError, match=r'384x512 = 196608 pixels, more '
                       r'than max_pixels \(--max-pixels\) 196607'):
        super_resolve_slide(model, demo_slide, tmp_path / 'sr.tiff',
                            scale=2, max_pixels=196607)
    assert not os.listdir(tmp_path)


def test_full_disk_is_refused_before_writing(model, demo_slide, tmp_path,
                                             monkeypatch):
    usage = namedtuple('usage', 'total used free')
    monkeypatch.setattr(slide_sr.shutil, 'disk_usage',
                        lambda path: usage(10**6, 10**6 - 1000, 1000))
    out = tmp_path / 'sr.tiff'
    with pytest.raises(OSError) as error:
        super_resolve_slide(model, demo_slide, out, scale=2, tile=TILE,
                            tissue=False)
    # 6 x 8 tiles of 64 px saved as .npy (128-byte header) + the two
    # largest reduced levels 192x256 and 96x128, raw
    parts = 48 * 128 + 384 * 512 * 3
    scratch = (192 * 256 + 96 * 128) * 3
    assert error.value.errno == errno.ENOSPC
    assert f'needs at least {parts + scratch} bytes' in str(error.value)
    assert f'{parts} for the saved tiles, {scratch} for the reduced' in \
        str(error.value)
    assert 'but 1000 bytes' in str(error.value) and str(out) in \
        str(error.value)
    assert not os.listdir(tmp_path)


def test_full_disk_at_a_level_map_is_an_error_not_sigbus(
        model, demo_slide, tmp_path, monkeypatch):

    def no_space(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pyramid_writer.os, 'posix_fallocate', no_space)
    out = tmp_path / 'sr.tiff'
    with pytest.raises(OSError, match=r'cannot allocate the \d+ bytes of '
                       'the level map .*level1.npy'):
        super_resolve_slide(model, demo_slide, out, scale=2, tile=TILE,
                            tissue=False)
    assert sorted(os.listdir(tmp_path)) == ['sr.tiff.parts']
    # the first map is allocated before the first tile is computed
    assert not list((tmp_path / 'sr.tiff.parts').glob('*.npy'))
    monkeypatch.undo()
    result = super_resolve_slide(model, demo_slide, out, scale=2, tile=TILE,
                                 tissue=False)
    assert result.computed_tiles == result.tiles and out.is_file()


def test_damaged_parts_do_not_block_a_rerun(model, demo_slide, tmp_path):
    kwargs = dict(scale=2, tile=TILE, compression='zlib', tissue=False)
    whole = tmp_path / 'whole.tiff'
    super_resolve_slide(model, demo_slide, whole, **kwargs)
    out = tmp_path / 'sr.tiff'
    parts = tmp_path / 'sr.tiff.parts'
    with pytest.raises(KeyboardInterrupt):
        _interrupt_after(model, demo_slide, out, kwargs, 6)
    names = sorted(p for p in parts.glob('r*_c*.npy'))
    assert len(names) == 6
    names[0].write_bytes(names[0].read_bytes()[:200])  # truncated
    names[1].write_bytes(b'not a numpy file')
    np.save(names[2], np.zeros((3, 3, 3), np.uint8))  # wrong shape
    result = super_resolve_slide(model, demo_slide, out, **kwargs)
    assert result.reused_tiles == 3
    with tifffile.TiffFile(whole) as a, tifffile.TiffFile(out) as b:
        for ref, got in zip(a.series[0].levels, b.series[0].levels):
            np.testing.assert_array_equal(got.asarray(), ref.asarray())
    # a zero-byte settings record: the parts are discarded, not trusted
    out.unlink()
    with pytest.raises(KeyboardInterrupt):
        _interrupt_after(model, demo_slide, out, kwargs, 2)
    (parts / 'settings.json').write_bytes(b'')
    with pytest.warns(UserWarning, match='damaged'):
        result = super_resolve_slide(model, demo_slide, out, **kwargs)
    assert result.reused_tiles == 0


def _interrupt_after(model, slide, out, kwargs, count):
    """Run whole-slide SR and raise KeyboardInterrupt after ``count``
    saved parts."""
    save = slide_sr._save_part
    saved = []

    def save_then_stop(path, tile):
        if len(saved) == count:
            raise KeyboardInterrupt('simulated interruption')
        saved.append(path)
        save(path, tile)

    slide_sr._save_part = save_then_stop
    try:
        super_resolve_slide(model, slide, out, **kwargs)
    finally:
        slide_sr._save_part = save


def test_full_disk_while_saving_a_tile_names_it(tmp_path, monkeypatch):

    def disk_full(file, array):
        file.write(b'\x93NUMPY')
        raise OSError('problem writing element 4096 to file')

    monkeypatch.setattr(slide_sr.np, 'save', disk_full)
    with pytest.raises(OSError, match=r'cannot save the tile .*r0_c1\.npy '
                       r'\(\d+ bytes free\): problem writing'):
        slide_sr._save_part(tmp_path / 'r0_c1.npy',
                            np.zeros((2, 2, 3), np.uint8))
    assert not os.listdir(tmp_path)

import cv2
import numpy as np
import pytest
import tifffile
from mmengine.registry import init_default_scope

from pathsr.datasets.transforms import LoadSRImage
from pathsr.datasets.transforms import loading as loading_module
from pathsr.registry import TRANSFORMS


@pytest.mark.parametrize('ext', ['.png', '.bmp', '.tif'])
def test_rgb_file_is_loaded_as_rgb(tmp_path, write_rgb, ext):
    rgb = np.random.default_rng(0).integers(0, 256, (7, 9, 3), np.uint8)
    path = write_rgb(tmp_path / f'img{ext}', rgb)
    results = LoadSRImage()(dict(gt_path=path))
    assert results['gt'].dtype == np.uint8
    np.testing.assert_array_equal(results['gt'], rgb)
    assert results['gt_ori_shape'] == (7, 9)


def test_pure_red_pixel_stays_in_channel_0(tmp_path):
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 2] = 255  # red in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / 'red.png'), bgr)
    img = LoadSRImage()(dict(gt_path=str(tmp_path / 'red.png')))['gt']
    np.testing.assert_array_equal(img[0, 0], [255, 0, 0])


def test_lr_key_reads_lr_path(tmp_path, write_rgb):
    rgb = np.full((3, 4, 3), 9, np.uint8)
    path = write_rgb(tmp_path / 'lr.png', rgb)
    results = LoadSRImage(key='lr')(dict(lr_path=path))
    np.testing.assert_array_equal(results['lr'], rgb)
    assert results['lr_ori_shape'] == (3, 4)
    assert 'gt' not in results


@pytest.mark.parametrize('ext', ['.png', '.tif'])
def test_gray_is_replicated(tmp_path, ext):
    gray = np.arange(20, dtype=np.uint8).reshape(4, 5) * 12
    cv2.imwrite(str(tmp_path / f'gray{ext}'), gray)
    img = LoadSRImage()(dict(gt_path=str(tmp_path / f'gray{ext}')))['gt']
    assert img.shape == (4, 5, 3)
    for channel in range(3):
        np.testing.assert_array_equal(img[..., channel], gray)


def test_rgba_is_composited_on_white(tmp_path):
    # RGB (200, 100, 0) with alpha 128, 255 and 0; cv2 writes BGRA.
    rgba = np.array(
        [[[200, 100, 0, 128], [200, 100, 0, 255], [200, 100, 0, 0]]], np.uint8)
    cv2.imwrite(
        str(tmp_path / 'rgba.png'), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    img = LoadSRImage()(dict(gt_path=str(tmp_path / 'rgba.png')))['gt']
    # a = 128 / 255: 200 a + 255 (1 - a) = 227.39, 100 a + 127 = 177.20,
    # 0 a + 127 = 127.
    np.testing.assert_array_equal(
        img, [[[227, 177, 127], [200, 100, 0], [255, 255, 255]]])


def test_16bit_is_scaled_by_257(tmp_path):
    # round(x / 257): 128 -> 0.498, 129 -> 0.502, 385 -> 1.498,
    # 25828 -> 100.498, 25829 -> 100.502, 65535 -> 255.
    values = np.array([[0, 128, 129], [385, 25828, 25829], [65535, 514, 771]],
                      np.uint16)
    rgb16 = np.stack([values, values.T, np.full_like(values, 65535)], -1)
    cv2.imwrite(
        str(tmp_path / 'deep.png'), cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    img = LoadSRImage()(dict(gt_path=str(tmp_path / 'deep.png')))['gt']
    expected = np.array([[0, 0, 1], [1, 100, 101], [255, 2, 3]], np.uint8)
    assert img.dtype == np.uint8
    np.testing.assert_array_equal(img[..., 0], expected)
    np.testing.assert_array_equal(img[..., 1], expected.T)
    np.testing.assert_array_equal(img[..., 2], 255)


def test_16bit_rgba_is_composited_then_scaled(tmp_path):
    # a = 13107 / 65535 = 0.2: (40000 * 0.2 + 65535 * 0.8) / 257 = 235.13,
    # (1000 * 0.2 + 52428) / 257 = 204.78, (60000 * 0.2 + 52428) / 257 =
    # 250.69.
    rgba = np.array([[[40000, 1000, 60000, 13107]]], np.uint16)
    tifffile.imwrite(
        tmp_path / 'rgba16.tif',
        rgba,
        photometric='rgb',
        extrasamples=['unassalpha'])
    img = LoadSRImage()(dict(gt_path=str(tmp_path / 'rgba16.tif')))['gt']
    np.testing.assert_array_equal(img, [[[235, 205, 251]]])


def test_missing_file_names_path(tmp_path):
    path = str(tmp_path / 'nope.png')
    with pytest.raises(FileNotFoundError, match='nope.png'):
        LoadSRImage()(dict(gt_path=path))


def test_corrupt_file_names_path(tmp_path):
    (tmp_path / 'bad.png').write_bytes(b'this is not an image' * 10)
    with pytest.raises(ValueError, match=r'cannot decode image .*bad\.png'):
        LoadSRImage()(dict(gt_path=str(tmp_path / 'bad.png')))


def test_empty_file_names_path(tmp_path):
    (tmp_path / 'empty.png').write_bytes(b'')
    with pytest.raises(ValueError, match=r'cannot decode image .*empty\.png'):
        LoadSRImage()(dict(gt_path=str(tmp_path / 'empty.png')))


@pytest.mark.parametrize('ext', ['.png', '.jpg', '.tif'])
def test_truncated_png_names_path(tmp_path, ext):
    rgb = np.random.default_rng(1).integers(0, 256, (32, 32, 3), np.uint8)
    ok, encoded = cv2.imencode(ext, rgb)
    data = encoded.tobytes()
    (tmp_path / f'cut{ext}').write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match=rf'cannot decode image .*cut\{ext}'):
        LoadSRImage()(dict(gt_path=str(tmp_path / f'cut{ext}')))


def test_float_image_names_path_and_dtype(tmp_path):
    tifffile.imwrite(tmp_path / 'float.tif', np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match=r'float\.tif.*float32'):
        LoadSRImage()(dict(gt_path=str(tmp_path / 'float.tif')))


def test_two_channel_image_names_path_and_channels(tmp_path, monkeypatch,
                                                   write_rgb):
    path = write_rgb(tmp_path / 'two.png', np.zeros((4, 4, 3), np.uint8))
    monkeypatch.setattr(loading_module.cv2, 'imdecode',
                        lambda buf, flag: np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match=r'two\.png.*channels 2'):
        LoadSRImage()(dict(gt_path=path))


def test_missing_path_key_names_key():
    with pytest.raises(KeyError, match='lr_path'):
        LoadSRImage(key='lr')(dict(gt_path='x.png'))


def test_build_from_registry(tmp_path, write_rgb):
    init_default_scope('pathsr')
    transform = TRANSFORMS.build(dict(type='LoadSRImage', key='gt'))
    assert isinstance(transform, LoadSRImage)
    assert repr(transform) == "LoadSRImage(key='gt', backend_args=None)"
    rgb = np.full((2, 3, 3), (1, 2, 3), np.uint8)
    path = write_rgb(tmp_path / 'a.png', rgb)
    np.testing.assert_array_equal(transform(dict(gt_path=path))['gt'], rgb)

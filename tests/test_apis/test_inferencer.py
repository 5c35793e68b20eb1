"""SRInferencer: inputs, output sizes and resolutions, saving, bad requests.

The models are tiny and randomly initialised; their checkpoints are written
by the tests (``{'state_dict': ...}``, as mmengine's CheckpointHook does).
"""
import math

import cv2
import numpy as np
import pytest
import tifffile
import torch

from pathsr.apis import SlideRegion, SRInferencer, tiled_sr
from pathsr.engine.runner import CheckpointMismatchError
from pathsr.slides import open_slide

EDSR_X2 = dict(
    type='FixedScaleSRModel',
    generator=dict(
        type='EDSR',
        arch=None,
        upscale_factor=2,
        num_blocks=2,
        mid_channels=16,
        res_scale=1.0))


@pytest.fixture(scope='module')
def edsr(tmp_path_factory, write_model):
    return write_model(tmp_path_factory.mktemp('edsr'), 'edsr', EDSR_X2)


@pytest.fixture(scope='module')
def inferencer(liif):
    return SRInferencer(liif[0], liif[1], device='cpu', tile=16)


@pytest.fixture(scope='module')
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:52]
    img = np.stack(
        [127 + 90 * np.sin(xx / 3 + c) * np.cos(yy / 4)
         for c in range(3)], -1) + rng.normal(0, 20, (40, 52, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope='module')
def image_file(tmp_path_factory, image):
    path = tmp_path_factory.mktemp('images') / 'lr.png'
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope='module')
def slide(tmp_path_factory, demo_slide_tool, image):
    """A 3-level slide at 0.25 um/px (40x) whose level 0 is ``image``
    upsampled x4, so that its 10x level is about ``image``."""
    tool = demo_slide_tool
    level0 = cv2.resize(
        image, (208 * 2, 160 * 2), interpolation=cv2.INTER_CUBIC)
    path = tmp_path_factory.mktemp('slide') / 'slide.tiff'
    tool.write_pyramid(str(path), level0, mpp=0.25, levels=3, tile=64)
    return str(path)


def test_loaded_model_and_tiling_defaults(inferencer, liif):
    assert type(inferencer.model).__name__ == 'ImplicitSRModel'
    assert not inferencer.model.training
    assert (inferencer.tile, inferencer.halo) == (16, 8)
    for key, value in liif[2].state_dict().items():
        assert torch.equal(inferencer.model.state_dict()[key], value)


def test_file_array_and_folder_give_the_same_output(inferencer, liif, image,
                                                    image_file):
    from_array = inferencer(image, scale=2.7)
    assert len(from_array) == 1 and from_array[0].dtype == np.uint8
    assert from_array[0].shape == (108, 140, 3)
    expected = tiled_sr(liif[2], image, scale=2.7, tile=16)
    assert np.array_equal(from_array[0], expected)
    from_file = inferencer(str(image_file), scale=2.7)[0]
    assert np.array_equal(from_file, expected)
    (folder := image_file.parent / 'folder').mkdir()
    for name in ('b.png', 'a.tif'):
        cv2.imwrite(str(folder / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    (folder / 'notes.txt').write_text('not an image')
    images = inferencer.load(folder)
    assert [i.name for i in images] == ['a', 'b']
    outputs = inferencer(folder, scale=2.7)
    assert len(outputs) == 2
    assert all(np.array_equal(out, expected) for out in outputs)


def test_output_size_from_scale_or_size(inferencer, image):
    assert inferencer(image, scale=3)[0].shape == (120, 156, 3)
    assert inferencer(image, size=(97, 131))[0].shape == (97, 131, 3)


def test_outputs_are_saved_as_png_and_tiff(inferencer, image, image_file,
                                           tmp_path):
    [out] = inferencer(image_file, scale=2, out=tmp_path / 'sr')
    saved = cv2.cvtColor(
        cv2.imread(str(tmp_path / 'sr/lr_sr.png')), cv2.COLOR_BGR2RGB)
    assert np.array_equal(saved, out)
    [out] = inferencer(image, scale=2, in_mpp=1.0, out=tmp_path / 'sr.tiff')
    with tifffile.TiffFile(tmp_path / 'sr.tiff') as tif:
        assert np.array_equal(tif.asarray(), out)
        resolution = tif.pages[0].tags['XResolution'].value
        assert resolution[0] / resolution[1] == pytest.approx(1e4 / 0.5)
    [out] = inferencer(
        image, scale=2, out=tmp_path / 'folder', out_format='tif')
    assert (tmp_path / 'folder/array_0_sr.tif').is_file()


def test_target_resolution_of_an_image(inferencer, image):
    assert inferencer(image, mpp=0.25, in_mpp=1.0)[0].shape == (160, 208, 3)
    assert inferencer(image, magnification=25, in_magnification=10)[0].shape \
        == (100, 130, 3)


def test_slide_region_at_a_magnification_to_an_mpp(inferencer, slide,
                                                   tmp_path):
    region = SlideRegion(slide, (64, 32), (160, 208), magnification=10)
    [lr] = inferencer.load(region)
    assert lr.img.shape == (52, 40, 3)  # level-0 160 x 208 read at 4x less
    assert lr.mpp == pytest.approx(1.0)
    assert lr.magnification == pytest.approx(10)
    with open_slide(slide) as reader:
        expected = reader.read_region((64, 32), (40, 52), magnification=10)
    assert np.array_equal(lr.img, expected)
    [out] = inferencer(region, mpp=0.5, out=tmp_path)
    assert out.shape == (104, 80, 3)  # x2
    path = tmp_path / 'slide_x64_y32_w160_h208_sr.tiff'
    with open_slide(str(path)) as reader:
        assert reader.mpp == pytest.approx(0.5, rel=1e-3)
        assert reader.dimensions == (80, 104)
    # a target magnification: output mpp = read mpp / scale
    assert inferencer(region, magnification=40)[0].shape == (208, 160, 3)
    by_mpp = SlideRegion(slide, (64, 32), (160, 208), mpp=1.0)
    assert np.array_equal(inferencer(by_mpp, scale=2)[0], out)


def test_fixed_scale_model_at_its_scale(edsr, image):
    inferencer = SRInferencer(edsr[0], edsr[1], device='cpu', tile=16)
    expected = tiled_sr(edsr[2], image, tile=16)
    assert np.array_equal(inferencer(image)[0], expected)
    assert np.array_equal(inferencer(image, scale=2)[0], expected)
    assert np.array_equal(inferencer(image, size=(80, 104))[0], expected)
    assert np.array_equal(inferencer(image, mpp=0.5, in_mpp=1.0)[0], expected)


def test_checkpoint_of_a_wrapped_model_loads(liif, tmp_path):
    """Keys saved from a DistributedDataParallel model start with
    ``module.``; they load as the runner loads them."""
    weights = {f'module.{k}': v for k, v in liif[2].state_dict().items()}
    checkpoint = tmp_path / 'ddp.pth'
    torch.save(dict(state_dict=weights), checkpoint)
    inferencer = SRInferencer(liif[0], str(checkpoint), device='cpu')
    for key, value in liif[2].state_dict().items():
        assert torch.equal(inferencer.model.state_dict()[key], value)


def test_tile_and_halo_from_the_config(tmp_path, write_model,
                                      tiny_liif_cfg):
    config, checkpoint, _ = write_model(
        tmp_path, 'liif', tiny_liif_cfg, infer_cfg=dict(tile=20, halo=10))
    inferencer = SRInferencer(config, checkpoint, device='cpu')
    assert (inferencer.tile, inferencer.halo) == (20, 10)
    inferencer = SRInferencer(config, checkpoint, device='cpu', halo=3)
    assert (inferencer.tile, inferencer.halo) == (20, 3)


def test_budget_sets_the_tile(liif):
    inferencer = SRInferencer(
        liif[0], liif[1], device='cpu', tile_pixels=40 * 40)
    assert (inferencer.tile, inferencer.halo) == (24, 8)


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU')
def test_cuda_falls_back_to_the_cpu(liif):
    with pytest.warns(UserWarning, match='CUDA is not available'):
        inferencer = SRInferencer(liif[0], liif[1], device='cuda', tile=16)
    assert inferencer.device == 'cpu'
    assert SRInferencer(liif[0], liif[1], tile=16).device == 'cpu'


# bad requests fail before any tile is computed, naming the value


@pytest.mark.parametrize('scale', [1, 0.5, -2, math.nan, math.inf])
def test_scale_not_above_one_is_refused(inferencer, image, scale):
    with pytest.raises(
            ValueError,
            match=f'scale must be a finite number > 1, got '
            f'{scale!r}'):
        inferencer(image, scale=scale)


def test_output_beyond_max_pixels_is_refused(liif, image):
    inferencer = SRInferencer(
        liif[0], liif[1], device='cpu', tile=16, max_pixels=10000)
    with pytest.raises(
            ValueError,
            match='scale 3 on a 40x52 input gives '
            'more than 10000 output pixels'):
        inferencer(image, scale=3)
    with pytest.raises(
            ValueError, match='out_shape 100x101 has more than '
            '10000 pixels'):
        inferencer(image, size=(100, 101))


def test_size_that_does_not_enlarge_is_refused(inferencer, image):
    with pytest.raises(
            ValueError,
            match='output size 40x104 does not '
            'enlarge the 40x52 input'):
        inferencer(image, size=(40, 104))
    with pytest.raises(ValueError, match='two positive integers'):
        inferencer(image, size=(0, 104))


def test_fixed_scale_model_refuses_other_scales(edsr, image):
    inferencer = SRInferencer(edsr[0], edsr[1], device='cpu', tile=16)
    with pytest.raises(
            ValueError,
            match='fixed-scale x2 model: it cannot '
            'super-resolve at x3'):
        inferencer(image, scale=3)
    with pytest.raises(
            ValueError, match='gives 80x104, not the requested '
            '81x104'):
        inferencer(image, size=(81, 104))
    with pytest.raises(ValueError, match='cannot super-resolve at x4'):
        inferencer(image, mpp=0.25, in_mpp=1.0)


def test_missing_checkpoint_is_refused(liif, tmp_path):
    missing = str(tmp_path / 'nowhere.pth')
    with pytest.raises(
            FileNotFoundError, match=f'checkpoint file not found: {missing}'):
        SRInferencer(liif[0], missing)


def test_mismatched_checkpoint_is_refused(liif, edsr):
    with pytest.raises(CheckpointMismatchError) as error:
        SRInferencer(liif[0], edsr[1])
    message = str(error.value)
    assert f'checkpoint {edsr[1]} does not match the model ImplicitSRModel' \
        in message
    assert 'missing keys' in message and 'head.imnet' in message


def test_checkpoint_of_other_shapes_is_refused(liif, tmp_path, write_model,
                                              tiny_liif_cfg):
    wider = dict(tiny_liif_cfg,
                 encoder=dict(tiny_liif_cfg['encoder'], mid_channels=8))
    _, checkpoint, _ = write_model(tmp_path, 'wider', wider)
    with pytest.raises(CheckpointMismatchError, match='size mismatch'):
        SRInferencer(liif[0], checkpoint)


def test_file_that_is_not_a_checkpoint_is_refused(liif, tmp_path):
    path = tmp_path / 'broken.pth'
    path.write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match=f'cannot read checkpoint {path}'):
        SRInferencer(liif[0], str(path))


def test_no_checkpoint_for_a_model_with_parameters_is_refused(liif):
    with pytest.raises(ValueError, match='give the checkpoint'):
        SRInferencer(liif[0])


def test_missing_config_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match='config file not found'):
        SRInferencer(str(tmp_path / 'none.py'))


def test_unreadable_image_is_refused(inferencer, tmp_path):
    path = tmp_path / 'corrupt.png'
    path.write_bytes(b'\x89PNG\r\n\x1a\n truncated')
    with pytest.raises(ValueError, match=f'cannot decode image {path}'):
        inferencer(path, scale=2)


def test_missing_image_or_empty_folder_is_refused(inferencer, tmp_path):
    with pytest.raises(FileNotFoundError, match='image file not found'):
        inferencer(tmp_path / 'none.png', scale=2)
    with pytest.raises(FileNotFoundError, match='no image file'):
        inferencer(tmp_path, scale=2)


def test_bad_arrays_are_refused(inferencer):
    with pytest.raises(
            ValueError,
            match='input array 0 must be a uint8 RGB '
            r'array \(h, w, 3\), got float32'):
        inferencer(np.zeros((8, 8, 3), np.float32), scale=2)
    with pytest.raises(ValueError, match=r'got uint8 \(8, 8\)'):
        inferencer(np.zeros((8, 8), np.uint8), scale=2)
    with pytest.raises(TypeError, match='got int'):
        inferencer(3, scale=2)


def test_target_resolution_of_unknown_input_is_refused(inferencer, image):
    with pytest.raises(
            ValueError,
            match='a target mpp needs the mpp of the '
            'input array_0: give in_mpp'):
        inferencer(image, mpp=0.25)
    with pytest.raises(
            ValueError, match='target mpp 2 is not finer than the '
            "input's 1"):
        inferencer(image, mpp=2, in_mpp=1)


def test_several_targets_are_refused(inferencer, image):
    with pytest.raises(ValueError, match='got scale, mpp'):
        inferencer(image, scale=2, mpp=0.5, in_mpp=1.0)


def test_bad_slide_regions_are_refused(inferencer, slide):
    with pytest.raises(
            ValueError, match='exactly one of mpp and '
            'magnification'):
        inferencer(SlideRegion(slide, (0, 0), (64, 64)), scale=2)
    with pytest.raises(ValueError, match='positive size'):
        inferencer(SlideRegion(slide, (0, 0), (0, 64), mpp=1.0), scale=2)
    with pytest.raises(FileNotFoundError, match='slide file not found'):
        inferencer(
            SlideRegion(slide + '.missing', (0, 0), (64, 64), mpp=1), scale=2)


def test_one_output_file_for_several_inputs_is_refused(inferencer, image,
                                                       tmp_path):
    with pytest.raises(ValueError, match='is a file but there are 2 outputs'):
        inferencer([image, image], scale=2, out=tmp_path / 'sr.png')
    assert not list(tmp_path.iterdir())


def test_requests_are_checked_before_any_output(inferencer, image, tmp_path):
    wide = np.zeros((50, 90, 3), np.uint8)
    with pytest.raises(
            ValueError,
            match='output size 60x80 does not enlarge '
            'the 50x90 input'):
        inferencer([image, wide], size=(60, 80), out=tmp_path)
    assert not list(tmp_path.iterdir())

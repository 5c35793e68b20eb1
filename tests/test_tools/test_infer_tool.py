"""tools/infer.py (the ``pathsr-infer`` console script) end to end.

One run goes through the ``tools/infer.py`` wrapper in a subprocess; the
others call its ``main(argv)`` in this process (the same code, without the
interpreter start-up).
"""

import cv2
import numpy as np
import pytest
import tifffile

from pathsr.apis import SRInferencer
from pathsr.apis.cli import main, parse_size

@pytest.fixture(scope='module')
def image_file(tmp_path_factory):
    """A 40x52 RGB PNG and its pixels."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:52]
    img = np.stack(
        [127 + 90 * np.sin(xx / 3 + c) * np.cos(yy / 4)
         for c in range(3)], -1) + rng.normal(0, 20, (40, 52, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    path = tmp_path_factory.mktemp('lr') / 'lr.png'
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return path, img


def hand_bicubic(img: np.ndarray, scale: int) -> np.ndarray:
    """PIL's bicubic upsampling (a = -0.5, taps outside the image dropped
    and the weights renormalised) in float64, rounded to uint8."""

    def matrix(n: int) -> np.ndarray:
        out = np.zeros((n * scale, n))
        for i in range(n * scale):
            centre = (i + 0.5) / scale
            for j in range(int(centre - 1.5), int(centre + 2.5)):
                x = abs(j + 0.5 - centre)
                weight = (1.5 * x - 2.5) * x * x + 1 if x < 1 else \
                    -0.5 * (((x - 5) * x + 8) * x - 4) if x < 2 else 0
                if 0 <= j < n:
                    out[i, j] = weight
        return out / out.sum(1, keepdims=True)

    rows, cols = matrix(img.shape[0]), matrix(img.shape[1])
    sr = np.einsum('yi,ixc,zx->yzc', rows, img.astype(np.float64), cols)
    return np.clip(np.round(sr), 0, 255).astype(np.uint8)


def test_bicubic_config_matches_a_hand_bicubic(tmp_path, run_tool, image_file):
    """The fixed-scale Bicubic config needs no checkpoint; tiles of 16 LR
    px with the default 2-px halo."""
    path, img = image_file
    out = tmp_path / 'sr.png'
    proc = run_tool([
        'tools/infer.py', 'configs/bicubic/bicubic_histo_x4.py',
        str(path), '--out',
        str(out), '--tile', '16', '--device', 'cpu'
    ])
    assert 'FixedScaleSRModel on cpu: tiles of 16 LR px with a 2 px halo' \
        in proc.stdout
    assert f'{out}: 40x52 -> 160x208' in proc.stdout
    sr = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)
    diff = np.abs(sr.astype(int) - hand_bicubic(img, 4))
    assert diff.max() <= 1 and diff.mean() < 0.01


def test_liif_checkpoint_at_a_non_integer_scale(tmp_path, liif, image_file,
                                                capsys):
    path, img = image_file
    main([
        liif[0], liif[1],
        str(path), '--scale', '2.7', '--tile', '13', '--batch-size', '2',
        '--out',
        str(tmp_path), '--no-progress'
    ])
    assert 'tiles of 13 LR px with a 8 px halo' in capsys.readouterr().out
    sr = cv2.cvtColor(
        cv2.imread(str(tmp_path / 'lr_sr.png')), cv2.COLOR_BGR2RGB)
    assert sr.shape == (108, 140, 3)
    # whole image in one tile, in this process
    whole = SRInferencer(
        liif[0], liif[1], device='cpu', tile=64)(
            img, scale=2.7)
    assert np.abs(sr.astype(int) - whole[0]).max() <= 1


def test_color_correction_option_keeps_a_faithful_sr(tmp_path, image_file,
                                                capsys):
    """A bicubic SR has the LR's low frequencies already; the correction
    changes it by rounding only, and the CIEDE2000 to the LR is printed."""
    path, _ = image_file
    config = 'configs/bicubic/bicubic_histo_x4.py'
    for flag, name in (([], 'plain.png'), (['--color-correction'],
                                           'corrected.png')):
        main([
            config,
            str(path), '--out',
            str(tmp_path / name), '--no-progress', *flag
        ])
        assert 'mean CIEDE2000 of the SR downscaled back to the LR' in \
            capsys.readouterr().out
    plain = cv2.imread(str(tmp_path / 'plain.png')).astype(int)
    corrected = cv2.imread(str(tmp_path / 'corrected.png')).astype(int)
    assert np.abs(plain - corrected).mean() < 1


def test_slide_region_to_a_target_mpp(tmp_path, demo_slide_tool, capsys):
    """Bicubic at any scale (InterpolationSRModel) on a demo slide region
    read at 10x, written as a TIFF that records its mpp."""
    tool = demo_slide_tool
    slide = tmp_path / 'slide.tiff'
    tool.write_pyramid(str(slide), tool.make_demo_image((512, 384)), mpp=0.25)
    main([
        'configs/bicubic/bicubic_demo_x1-4.py',
        str(slide), '--region', '128', '64', '200', '160',
        '--in-magnification', '10', '--mpp', '0.3', '--out',
        str(tmp_path / 'out'), '--no-progress'
    ])
    path = tmp_path / 'out/slide_x128_y64_w200_h160_sr.tiff'
    # 50x40 LR at 1 um/px, x3.33 -> 133x167 at ~0.3 um/px
    assert f'{path}: 40x50 -> 133x167 at 0.2994 um/px' in \
        capsys.readouterr().out
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].shape == (133, 167, 3)
        x_res = tif.pages[0].tags['XResolution'].value
        assert 1e4 * x_res[1] / x_res[0] == pytest.approx(50 / 167, rel=1e-4)


@pytest.mark.parametrize('argv,message', [
    (['configs/bicubic/bicubic_demo_x1-4.py', 'IMG', '--scale', '0.5'
      ], 'scale must be a finite number > 1, got 0.5'),
    (['configs/bicubic/bicubic_histo_x4.py', 'IMG', '--scale', '2'
      ], 'fixed-scale x4 model: it cannot super-resolve at x2'),
    ([
        'configs/bicubic/bicubic_demo_x1-4.py', 'IMG', '--scale', '4',
        '--max-pixels', '1000'
    ], 'more than 1000 output pixels'),
    (['configs/edsr/edsr-tiny_demo_x4.py', 'missing.pth', 'IMG'
      ], 'checkpoint file not found: missing.pth'),
    (['configs/edsr/edsr-tiny_demo_x4.py', 'IMG'], 'give the checkpoint'),
    (['configs/bicubic/bicubic_demo_x1-4.py', 'missing.png', '--scale', '2'
      ], 'image file not found: missing.png'),
    (['configs/bicubic/bicubic_demo_x1-4.py', 'IMG', '--mpp', '0.25'
      ], 'a target mpp needs the mpp of the input lr'),
])
def test_bad_requests_exit_with_a_message(argv, message, image_file, tmp_path,
                                          capsys):
    argv = [str(image_file[0]) if a == 'IMG' else a for a in argv]
    with pytest.raises(SystemExit) as error:
        main(argv + ['--out', str(tmp_path), '--device', 'cpu'])
    assert error.value.code == 1
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_mismatched_checkpoint_exits_with_a_message(liif, image_file, tmp_path,
                                                    capsys):
    with pytest.raises(SystemExit) as error:
        main([
            'configs/edsr/edsr-tiny_demo_x4.py', liif[1],
            str(image_file[0]), '--out',
            str(tmp_path)
        ])
    assert error.value.code == 1
    assert f'checkpoint {liif[1]} does not match the model ' \
        'FixedScaleSRModel' in capsys.readouterr().err


def test_usage_errors(capsys):
    assert parse_size('512x768') == (512, 768)
    with pytest.raises(SystemExit) as error:
        main(['c.py', 'img.png', '--size', '512', '--out', 'o'])
    assert error.value.code == 2
    assert 'size must be HxW' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(['c.py', 'img.png', '--scale', '2', '--mpp', '1', '--out', 'o'])
    assert 'not allowed with argument' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(['c.py', 'img.png', '--slide-mpp', '0.25', '--out', 'o'])
    assert '--slide-mpp and --backend need --region' in \
        capsys.readouterr().err

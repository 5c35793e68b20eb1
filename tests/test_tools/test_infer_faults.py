"""``pathsr-infer`` (tools/infer.py) under bad input and faults (issue 18):
one-line errors, a folder of slides with a bad one, and a whole-slide run
killed with SIGKILL at seeded random points then resumed to the same
pixels as an uninterrupted run."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tifffile

from pathsr.apis import init_model, super_resolve_slide
from pathsr.apis.cli import main, slide_outputs

ANY_SCALE = 'configs/bicubic/bicubic_demo_x1-4.py'


def test_out_equal_to_the_input_is_one_line(run_tool, demo_slide, tmp_path):
    slide = tmp_path / 'slide.tiff'
    slide.write_bytes(demo_slide.read_bytes())
    proc = run_tool([
        'tools/infer.py', ANY_SCALE,
        str(slide), '--whole-slide', '--out',
        str(slide), '--scale', '2', '--overwrite', '--device', 'cpu'
    ], check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == (
        f'pathsr-infer: error: ValueError: the output {slide} is the slide '
        'itself: give another --out')
    assert 'Traceback' not in proc.stderr
    assert slide.read_bytes() == demo_slide.read_bytes()
    assert os.listdir(tmp_path) == ['slide.tiff']


def test_unknown_device_and_debug(demo_slide, tmp_path, capsys):
    argv = [ANY_SCALE, str(demo_slide), '--region', '0', '0', '20', '20',
            '--in-mpp', '0.25', '--scale', '2', '--out',
            str(tmp_path / 'sr.png'), '--device', 'tpu']
    with pytest.raises(SystemExit) as error:
        main(argv)
    assert error.value.code == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        "pathsr-infer: error: ValueError: unknown device 'tpu': use cpu, "
        'cuda or cuda:N')
    with pytest.raises(ValueError, match='unknown device'):
        main(argv + ['--debug'])  # the exception itself, for its traceback
    assert not os.listdir(tmp_path)


def test_existing_output_needs_overwrite(demo_slide, tmp_path, capsys):
    out = tmp_path / 'sr.png'
    out.write_bytes(b'old')
    argv = [ANY_SCALE, str(demo_slide), '--region', '0', '0', '20', '20',
            '--in-mpp', '0.25', '--scale', '2', '--out', str(out),
            '--no-progress']
    with pytest.raises(SystemExit):
        main(argv)
    assert 'sr.png exists: pass --overwrite' in capsys.readouterr().err
    assert out.read_bytes() == b'old'
    main(argv + ['--overwrite'])
    assert out.read_bytes()[:4] == b'\x89PNG'


def test_folder_of_slides_runs_past_a_bad_slide(demo_slide, tmp_path,
                                                capsys):
    slides = tmp_path / 'slides'
    slides.mkdir()
    (slides / 'a_bad.tiff').write_bytes(b'II*\0' + b'\0' * 100)
    (slides / 'b_good.tiff').write_bytes(demo_slide.read_bytes())
    out = tmp_path / 'out'
    with pytest.raises(SystemExit) as error:
        main([ANY_SCALE, str(slides), '--whole-slide', '--out', str(out),
              '--scale', '2', '--out-tile', '64', '--no-progress',
              '--max-pixels', str(384 * 512)])
    assert error.value.code == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0].startswith(f'pathsr-infer: error: {slides / "a_bad.tiff"}'
                               ': ')
    assert lines[1] == ('pathsr-infer: error: RuntimeError: 1 of 2 slides '
                        'failed (see above): a_bad.tiff')
    assert 'b_good_sr.tiff: 192x256 -> 384x512' in captured.out
    assert sorted(os.listdir(out)) == ['b_good_sr.tiff']
    # --max-pixels applies in whole-slide mode
    with pytest.raises(SystemExit):
        main([ANY_SCALE, str(slides / 'b_good.tiff'), '--whole-slide',
              '--out', str(tmp_path / 'big.tiff'), '--scale', '2',
              '--max-pixels', '1000', '--no-progress'])
    assert '384x512 = 196608 pixels, more than max_pixels (--max-pixels) ' \
        '1000' in capsys.readouterr().err


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 300) -> bool:
    """SIGKILL ``proc`` once ``ready()`` is true; False if it ended first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    proc.kill()
    raise AssertionError('the run neither reached the kill point nor ended')


def test_killed_whole_slide_run_resumes_bit_identical(repo, demo_slide,
                                                      tmp_path):
    """SIGKILL after a seeded random number of saved tiles, then again
    while the pyramid is being written; the run that completes gives the
    pixels of every level of an uninterrupted run."""
    tile = 32
    reference = tmp_path / 'reference.tiff'
    result = super_resolve_slide(
        init_model(repo / ANY_SCALE), demo_slide, reference, scale=2,
        tile=tile, compression='zlib')
    out = tmp_path / 'sr.tiff'
    parts = tmp_path / 'sr.tiff.parts'
    partial = tmp_path / 'sr.tiff.tmp'
    args = [sys.executable, 'tools/infer.py', ANY_SCALE, str(demo_slide),
            '--whole-slide', '--out', str(out), '--scale', '2', '--out-tile',
            str(tile), '--compression', 'zlib', '--no-progress', '--device',
            'cpu']
    env = dict(os.environ, PYTHONPATH=str(repo))
    rng = np.random.default_rng(18)
    kill_at = int(rng.integers(1, result.tissue_tiles))

    def saved() -> int:
        try:
            return sum(n.endswith('.npy') for n in os.listdir(parts))
        except FileNotFoundError:
            return 0

    def popen():
        return subprocess.Popen(args, cwd=repo, env=env,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    assert _kill_when(popen(), lambda: saved() >= kill_at)
    assert not out.exists() and saved() >= kill_at
    # the resumed run is killed while it writes the pyramid
    assert _kill_when(popen(), partial.exists)
    assert not out.exists()
    final = popen()
    assert final.wait(300) == 0, final.stderr.read().decode()[-2000:]
    assert not parts.exists() and not partial.exists()
    with tifffile.TiffFile(reference) as ref, tifffile.TiffFile(out) as got:
        assert len(got.series[0].levels) == len(ref.series[0].levels) == 5
        for a, b in zip(ref.series[0].levels, got.series[0].levels):
            np.testing.assert_array_equal(b.asarray(), a.asarray())


def test_output_folder_equal_to_the_slide_folder_is_refused(tmp_path):
    (tmp_path / 'a.tiff').write_bytes(b'')
    with pytest.raises(ValueError, match='is the folder of the slides'):
        slide_outputs(str(tmp_path), str(tmp_path / '.' / ''))

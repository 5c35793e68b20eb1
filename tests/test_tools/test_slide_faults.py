"""Faults of the slide tools, run as subprocesses: truncated slides, regions
outside the slide, reads finer than the scan, nonsense arguments, a killed
worker, damaged patches and done-markers."""
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

MAKE_SLIDE = 'tools/dataset_converters/make_demo_slide.py'
TO_PATCHES = 'tools/dataset_converters/slides_to_patches.py'
INFER = 'tools/infer.py'
BICUBIC = 'configs/bicubic/bicubic_demo_x1-4.py'
PATCH_ARGS = ['--magnification', '40', '--patch-size', '64',
              '--lr-magnifications', '20', '--max-patches-per-slide', '6']


@pytest.fixture(scope='module')
def slides(tmp_path_factory, run_tool, demo_slide_tool):
    """A folder with two good 512x384 slides and ``cut.tiff``: a slide made
    by make_demo_slide.py and cut to 90 % of its bytes."""
    folder = tmp_path_factory.mktemp('slides')
    run_tool([MAKE_SLIDE, str(folder / 'cut.tiff'), '--size', '512', '384',
              '--levels', '2'])
    data = (folder / 'cut.tiff').read_bytes()
    (folder / 'cut.tiff').write_bytes(data[:int(len(data) * 0.9)])
    for seed in (1, 2):
        demo_slide_tool.write_pyramid(
            str(folder / f'good{seed}.tiff'),
            demo_slide_tool.make_demo_image((512, 384), seed=seed), levels=2)
    return folder


def _failed(out):
    with open(out / 'failed.csv', newline='') as file:
        return {os.path.basename(r['slide']): r['reason']
                for r in csv.DictReader(file)}


def test_cut_slide_fails_alone_in_slides_to_patches(slides, tmp_path,
                                                    run_tool):
    out = tmp_path / 'out'
    proc = run_tool([TO_PATCHES, str(slides), str(out), *PATCH_ARGS,
                     '--workers', '1'])
    assert '2 slides done' in proc.stdout and '1 failed' in proc.stdout
    assert re.search(r'good2: +0%.* 0/6 ', proc.stderr)  # a bar of patches
    reason = _failed(out)['cut.tiff']
    assert reason.startswith(f'SlideFileError: cannot open slide '
                             f'{slides / "cut.tiff"}: truncated or corrupt')
    assert not (out / '.done' / 'cut.json').exists()
    assert not (out / 'hr' / 'cut').exists()
    assert not (out / 'lr_x2' / 'cut').exists()
    assert sorted(p.name for p in (out / 'hr').iterdir()) == ['good1',
                                                              'good2']


@pytest.mark.parametrize('args,message', [
    (['--whole-slide', '--scale', '2', '--out', '{out}.tiff'],
     'cannot open slide {cut}: truncated or corrupt file'),
    (['--region', '480', '0', '64', '64', '--in-magnification', '40',
      '--scale', '2', '--out', '{out}'],
     r'region at level-0 \(x=480, y=0\) of 64x64 px .* not inside the '
     '512x384 px slide {good}'),
    (['--region', '0', '0', '64', '64', '--in-mpp', '0.1', '--scale', '2',
      '--out', '{out}'],
     r'cannot read slide {good} 2.5x finer than its level 0 \(0.1 um/px '
     'asked, level 0 is 0.25 um/px\\)'),
])
def test_infer_refuses_bad_slide_reads(slides, tmp_path, run_tool, args,
                                       message):
    out = tmp_path / 'sr'
    slide = slides / ('cut.tiff' if 'cut' in message else 'good1.tiff')
    proc = run_tool(
        [INFER, BICUBIC, str(slide), '--no-progress',
         *[a.format(out=out) for a in args]], check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith('pathsr-infer: error: ')
    assert re.search(message.format(cut=slides / 'cut.tiff',
                                    good=slides / 'good1.tiff'), first)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_make_demo_slide_refuses_levels_0(tmp_path, run_tool):
    out = tmp_path / 'slide.tiff'
    proc = run_tool([MAKE_SLIDE, str(out), '--levels', '0'], check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        'make_demo_slide.py: error: --levels must be 1 to 11 for --size '
        '2048 1536, got 0')
    assert not out.exists()
    proc = run_tool([MAKE_SLIDE, str(out), '--crops', str(tmp_path)],
                    check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        f'make_demo_slide.py: error: FileNotFoundError: no PNG crop in '
        f'{tmp_path}')


@pytest.mark.parametrize('name,args,message', [
    ('slide.tiff', ['--levels', '10'],
     '--levels must be 1 to 9 for --size 512 384, got 10'),
    ('slide.tiff', ['--size', '0', '8'], '--size must be positive'),
    ('slide.tiff', ['--mpp', '-0.25'], '--mpp must be a positive number'),
    ('slide.tiff', ['--mpp', 'nan'], '--mpp must be a positive number'),
    ('slide.png', [], 'the output must be a .tif or .tiff file'),
])
def test_make_demo_slide_arguments(tmp_path, demo_slide_tool, monkeypatch,
                                   capsys, name, args, message):
    """The argument checks of main(), called in this process."""
    out = tmp_path / name
    monkeypatch.setattr(sys, 'argv', ['make_demo_slide.py', str(out),
                                      '--size', '512', '384', *args])
    with pytest.raises(SystemExit) as error:
        demo_slide_tool.main()
    assert error.value.code == 2 and message in capsys.readouterr().err
    assert not out.exists()


def test_write_pyramid_refuses_nonsense(tmp_path, demo_slide_tool):
    image = np.full((48, 40, 3), 200, np.uint8)
    path = str(tmp_path / 'slide.tiff')
    for kwargs, message in [
            (dict(levels=0), 'levels must be 1 to 6 for a 40x48 image'),
            (dict(levels=7), 'levels must be 1 to 6'),
            (dict(tile=24), 'tile must be a positive multiple of 16'),
            (dict(mpp=0.0), 'mpp must be a positive number')]:
        with pytest.raises(ValueError, match=message):
            demo_slide_tool.write_pyramid(path, image, **kwargs)
    assert not os.path.exists(path)


def test_a_killed_worker_fails_only_its_slide(slides, tmp_path, repo,
                                              demo_slide_tool):
    """The worker that processes ``a_victim`` is SIGKILLed (as by the
    out-of-memory killer) each time it starts it; the other slides are
    done and the victim is reported, in a pool of 2 workers."""
    folder = tmp_path / 'slides'
    folder.mkdir()
    demo_slide_tool.write_pyramid(
        str(folder / 'a_victim.tiff'),
        demo_slide_tool.make_demo_image((1536, 1536), seed=3), levels=1)
    for name in ('good1', 'good2'):
        os.symlink(slides / f'{name}.tiff', folder / f'{name}.tiff')
    out = tmp_path / 'out'
    running = out / '.done' / 'a_victim.running'
    proc = subprocess.Popen(
        [sys.executable, TO_PATCHES, str(folder), str(out),
         '--magnification', '40', '--patch-size', '32', '--workers', '2'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=repo)
    killed = set()
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            pid = int(running.read_text())
        except (OSError, ValueError):
            time.sleep(0.005)
            continue
        if pid not in killed:
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert len(killed) == 2  # in the pool, then alone
    assert '2 slides done' in stdout and '1 failed' in stdout
    assert _failed(out) == {'a_victim.tiff': (
        'the worker process died on this slide (killed by SIGKILL, as by the '
        'out-of-memory killer)')}
    assert sorted(p.name for p in (out / 'hr').iterdir()) == ['good1',
                                                              'good2']
    assert not running.exists()


def test_damaged_patch_and_markers_are_redone(slides, tmp_path, run_tool):
    folder = tmp_path / 'slides'
    folder.mkdir()
    for name in ('good1', 'good2'):
        os.symlink(slides / f'{name}.tiff', folder / f'{name}.tiff')
    out = tmp_path / 'out'
    args = [TO_PATCHES, str(folder), str(out), *PATCH_ARGS, '--workers', '1']
    run_tool(args)
    manifest = (out / 'manifest.csv').read_text()
    with open(out / 'manifest.csv', newline='') as file:
        row = next(r for r in csv.DictReader(file) if r['slide'] == 'good1')
    patch = out / row['lr_x2_path']
    original = cv2.imread(str(patch))
    data = patch.read_bytes()
    patch.write_bytes(data[:len(data) // 2])  # a truncated PNG
    (out / '.done' / 'good2.json').write_text('')  # a zero-byte marker
    proc = run_tool(args)
    assert (f'warning: done-marker {out / ".done" / "good1.json"} lists '
            f'{row["lr_x2_path"]}, which is missing or not of its '
            f'{len(data)} bytes (damaged): redoing slide good1') in proc.stderr
    assert (f'warning: done-marker {out / ".done" / "good2.json"} is empty '
            'or unreadable (JSONDecodeError') in proc.stderr
    assert '2 slides done' in proc.stdout
    np.testing.assert_array_equal(cv2.imread(str(patch)), original)
    assert (out / 'manifest.csv').read_text() == manifest
    (out / '.done' / 'good1.json').write_text('{"params": 1}')  # corrupt
    marker = json.loads((out / '.done' / 'good2.json').read_text())
    proc = run_tool(args)
    assert 'redoing slide good1' in proc.stderr
    assert 'skip good2: done in a previous run' in proc.stdout
    assert (out / 'manifest.csv').read_text() == manifest
    assert json.loads((out / '.done' / 'good2.json').read_text()) == marker

"""Distributed inference (tools/dist_infer.sh, two gloo ranks on the CPU).

Each distributed run is compared with the same command run in one process
(``main(argv)`` of ``pathsr-infer`` in this process): the files must be
byte-identical.
"""
import os
import re
from pathlib import Path

import numpy as np
import pytest
import tifffile

from pathsr.apis import slide_sr
from pathsr.apis.cli import main, slide_outputs
from pathsr.apis.distributed import (contiguous_block, raise_first_error,
                                     rank_device, round_robin)


@pytest.fixture(scope='module')
def slide(demo_slide):
    return demo_slide


def test_two_ranks_resume_a_slide_into_the_one_process_file(
        liif, slide, tmp_path, run_tool, monkeypatch):
    """An interrupted one-process run left 5 parts; two ranks resume it,
    split the other tissue tiles and write the file of one process."""
    args = [
        *liif[:2],
        str(slide), '--whole-slide', '--scale', '2.5', '--out-tile', '64',
        '--no-progress', '--out'
    ]
    # the provenance records the date: pin it for both runs
    monkeypatch.setenv('SOURCE_DATE_EPOCH', '1700000000')
    one = tmp_path / 'one.tiff'
    main(args + [str(one)])

    two = tmp_path / 'two.tiff'
    save, saved = slide_sr._save_part, []

    def crash_after_five(path, tile):
        if len(saved) == 5:
            raise KeyboardInterrupt('simulated interruption')
        saved.append(path)
        save(path, tile)

    monkeypatch.setattr(slide_sr, '_save_part', crash_after_five)
    with pytest.raises(SystemExit) as interrupted:
        main(args + [str(two)])
    assert interrupted.value.code == 130  # pathsr-infer: interrupted
    monkeypatch.setattr(slide_sr, '_save_part', save)

    proc = run_tool(['bash', 'tools/dist_infer.sh', '2', *args,
                     str(two)],
                    env=dict(PORT='29651', OMP_NUM_THREADS='1'))
    summary = re.search(
        r'\[rank 0/2\] .*two\.tiff: 192x256 -> 480x640 .* (\d+)/80 tissue '
        r'tiles \((\d+) computed, 5 reused; per rank (\d+), (\d+)\)',
        proc.stdout)
    assert summary, proc.stdout + proc.stderr
    tissue, computed, rank0, rank1 = map(int, summary.groups())
    assert computed == tissue - 5 and rank0 + rank1 == computed
    assert abs(rank0 - rank1) <= 1 and rank0 > 0 and rank1 > 0
    assert proc.stdout.count('two.tiff: ') == 1  # rank 0 alone reports
    assert two.read_bytes() == one.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ['one.tiff', 'two.tiff']


def test_two_ranks_share_a_folder_of_images(liif, tmp_path, run_tool,
                                            write_tiles):
    write_tiles(tmp_path / 'lr', 3, size=40)
    args = [*liif[:2], str(tmp_path / 'lr'), '--scale', '2.7',
            '--no-progress', '--out']
    main(args + [str(tmp_path / 'one')])
    proc = run_tool(['bash', 'tools/dist_infer.sh', '2', *args,
                     str(tmp_path / 'two')],
                    env=dict(PORT='29652', OMP_NUM_THREADS='1'))
    # input k of the sorted folder is super-resolved by rank k % 2
    for k in range(3):
        assert re.search(rf'\[rank {k % 2}/2\] \S+tile_0{k}_sr\.png: 40x40 '
                         r'-> 108x108', proc.stdout), proc.stdout
    names = sorted(os.listdir(tmp_path / 'one'))
    assert names == [f'tile_0{k}_sr.png' for k in range(3)]
    assert sorted(os.listdir(tmp_path / 'two')) == names
    for name in names:
        assert (tmp_path / 'two' / name).read_bytes() == \
            (tmp_path / 'one' / name).read_bytes()


def _levels(path: Path) -> list:
    with tifffile.TiffFile(path) as tif:
        return [level.asarray() for level in tif.series[0].levels]


def test_folder_of_slides_gives_one_pyramid_per_slide(slide, tmp_path,
                                                      capsys):
    """One process on a folder of two slides writes the pyramid of each
    slide alone (the description names the source file)."""
    (tmp_path / 'slides').mkdir()
    for name in ('a.tiff', 'b.tif'):
        (tmp_path / 'slides' / name).write_bytes(slide.read_bytes())
    args = ['configs/bicubic/bicubic_demo_x1-4.py', '--whole-slide',
            '--scale', '2', '--out-tile', '64', '--no-progress', '--out']
    main([args[0], str(slide)] + args[1:] + [str(tmp_path / 'alone.tiff')])
    main([args[0], str(tmp_path / 'slides')] + args[1:] +
         [str(tmp_path / 'sr')])
    assert 'per rank' not in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path / 'sr')) == ['a_sr.tiff', 'b_sr.tiff']
    alone = _levels(tmp_path / 'alone.tiff')
    for name in ('a_sr.tiff', 'b_sr.tiff'):
        levels = _levels(tmp_path / 'sr' / name)
        assert len(levels) == len(alone) == 4
        assert all(np.array_equal(a, b) for a, b in zip(levels, alone))


def test_work_split_helpers():
    items = list(range(7))
    assert [round_robin(items, r, 3) for r in range(3)] == \
        [[0, 3, 6], [1, 4], [2, 5]]
    blocks = [contiguous_block(items, r, 3) for r in range(3)]
    assert blocks == [[0, 1], [2, 3], [4, 5, 6]]
    assert [contiguous_block([0], r, 2) for r in (0, 1)] == [[], [0]]
    raise_first_error(None)
    with pytest.raises(KeyError, match='lost'):
        raise_first_error(KeyError('lost'))


def test_rank_device(monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '1')
    assert rank_device('cuda:0', 'none') == 'cuda:0'
    assert rank_device('cpu', 'pytorch') == 'cpu'
    assert rank_device('cuda', 'slurm') == 'cuda:1'
    with pytest.raises(ValueError, match='each rank uses cuda:LOCAL_RANK'):
        rank_device('cuda:0', 'pytorch')


def test_slide_folder_outputs(tmp_path):
    (tmp_path / 'slides').mkdir()
    for name in ('b.svs', 'a.tiff', 'notes.txt'):
        (tmp_path / 'slides' / name).write_bytes(b'')
    assert slide_outputs(str(tmp_path / 'slides'), str(tmp_path / 'sr')) == [
        (str(tmp_path / 'slides/a.tiff'), tmp_path / 'sr/a_sr.tiff'),
        (str(tmp_path / 'slides/b.svs'), tmp_path / 'sr/b_sr.tiff')
    ]
    assert slide_outputs('s.svs', 'o.tif') == [('s.svs', Path('o.tif'))]
    with pytest.raises(ValueError, match='is a file but the folder'):
        slide_outputs(str(tmp_path / 'slides'), 'sr.tiff')
    (tmp_path / 'slides/a.svs').write_bytes(b'')
    with pytest.raises(ValueError, match='the same name'):
        slide_outputs(str(tmp_path / 'slides'), str(tmp_path / 'sr'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no slide file'):
        slide_outputs(str(tmp_path / 'empty'), str(tmp_path / 'sr'))

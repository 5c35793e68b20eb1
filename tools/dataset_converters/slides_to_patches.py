"""Cut whole-slide images into co-registered HR/LR patch pairs.

    python tools/dataset_converters/slides_to_patches.py SLIDES OUT_DIR \
        (--mpp 0.25 | --magnification 40) --patch-size 192 \
        [--lr-magnifications 20 10 5] [--stride N] [--min-tissue 0.5] \
        [--max-patches-per-slide N] [--split 0.8 0.1 0.1] [--seed 0] \
        [--workers 2] [--backend auto] [--slide-mpp X] \
        [--lr-source any|scanner] [--mask-overlay]

SLIDES is a folder (its top-level .svs .tif .tiff .ndpi .mrxs .scn files)
or a .txt list of slide paths, one per line (blank lines and ``#`` comments
skipped; relative paths are relative to the list's folder). Slide names
(file stems) must be unique.

Progress: a bar of slides, and with one slide or ``--workers 1`` a bar of
the patches of the current slide (with its ETA).

For each slide: a thumbnail (``min(64, patch_level0 / 8)`` level-0 pixels
per pixel) -> tissue mask (``segment_tissue``, darker than the measured
glass colour, without its dilation) -> grid of HR patches with at least
``--min-tissue`` tissue. An HR patch is ``--patch-size`` pixels at the
target resolution, i.e. ``patch_size * downsample`` level-0 pixels with
``downsample = target_mpp / slide_mpp`` (``--mpp``) or
``objective_power / magnification`` (``--magnification``). For each LR
magnification ``m`` the same level-0 region is read at ``m`` (size
``patch_size * m / M``, M the HR magnification; with ``--mpp``,
``M = 10 / mpp``, the 40x ~ 0.25 um/px convention), so LR and HR are
co-registered by construction. Patch size and stride must be multiples of
every ``M / m`` so that LR patches start on whole LR pixels.

The source of each LR: a scanner level when the slide has a level at
its resolution (within 1 %), else it is resampled (area averaging) from
the finest-enough level. The manifest records which, and a line per slide
(``<slide>: LR resampled (no scanner level): ...``) names the resampled
ones; ``--lr-source scanner`` refuses a slide whose LR would be resampled
(reported as a failed slide naming the LR magnification and the levels).

Layout of OUT_DIR (paths in the manifest are relative to it)::

    hr/<slide>/<slide>_x<X>_y<Y>.png          X, Y: level-0 top-left corner
    lr_x<M/m>/<slide>/<slide>_x<X>_y<Y>.png   e.g. lr_x2, lr_x4, lr_x8
    masks/<slide>.png   with --mask-overlay: the mask thumbnail, tissue
                   tinted green and outlined
    manifest.csv   slide, split, x, y, width_level0, height_level0,
                   magnification, mpp (of the HR patches), hr_path, then
                   per LR: lr_x<M/m>_path, lr_x<M/m>_source (``scanner``
                   or ``resampled``), lr_x<M/m>_level (the level read),
                   lr_x<M/m>_level_mpp (its um/px), lr_x<M/m>_resample
                   (level pixels per LR pixel, within 1 % of 1 for a
                   scanner level)
    failed.csv     slide, reason: the slides of this run that failed
    .done/<slide>.json   finished slide: its settings and manifest rows

Split by slide: the slides sorted by name are shuffled with ``--seed`` and
cut into train/val/test by the ``--split`` fractions (normalised to sum
1; counts by largest remainder, then one slide is moved from the largest
subset to every empty subset of non-zero fraction while possible). It is
computed from the whole slide list, failed slides included, so it never
changes between runs and a slide is in one subset only.

Resumable: a rerun skips the slides with a done-marker (logging
``skip <slide>``) and rebuilds the manifest from the markers; markers made
with other settings stop the run. A marker that is empty or unreadable, or
whose patch files are missing or not of the recorded byte size (a damaged
or truncated PNG), is reported as a warning and its slide is redone.
Patches and markers are written under a temporary name and renamed, so a
killed run leaves no truncated file under a final name. While a slide is
processed, ``.done/<slide>.running`` holds the worker's process id.

Bad slides (missing, truncated, unreadable, without mpp and no
``--slide-mpp``, coarser than the target, smaller than a patch, without
tissue) are reported as ``slide <path>: <reason>`` on stderr and in
failed.csv, their partial patch folders are removed, and the other slides
go on. A worker process that dies (e.g. killed by the out-of-memory
killer) fails only its slide: the pool is rebuilt, the slides that were
running are rerun one at a time in their own process (the one that dies
again is reported with its exit signal) and the others go on in parallel.
Exit code 0 when at least one slide is done, else 1.
"""
import argparse
import csv
import json
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import os.path as osp
import signal
import sys
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from pathsr.slides import (SlideReader, mask_overlay,  # noqa: E402
                           open_slide, segment_tissue, tissue_patch_coords)
from pathsr.slides.slide_reader import (LEVEL_TOLERANCE,  # noqa: E402
                                        UPSAMPLE_TOLERANCE)
from pathsr.utils.atomic import atomic_path  # noqa: E402

SLIDE_EXTENSIONS = ('.svs', '.tif', '.tiff', '.ndpi', '.mrxs', '.scn')
SPLITS = ('train', 'val', 'test')
MASK_MAX_DOWNSAMPLE = 64
COLUMNS = ['slide', 'split', 'x', 'y', 'width_level0', 'height_level0',
           'magnification', 'mpp', 'hr_path']
LR_FIELDS = ('path', 'source', 'level', 'level_mpp', 'resample')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('slides', help='folder of slides or .txt list')
    parser.add_argument('out_dir', help='output folder')
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument('--mpp', type=float, help='HR microns per pixel')
    target.add_argument('--magnification', type=float,
                        help='HR magnification, e.g. 40')
    parser.add_argument('--patch-size', type=int, required=True,
                        help='HR patch side in pixels')
    parser.add_argument('--lr-magnifications', type=float, nargs='*',
                        default=[], metavar='M',
                        help='LR magnifications, e.g. 20 10 5')
    parser.add_argument('--stride', type=int,
                        help='grid step in HR pixels (default: patch size)')
    parser.add_argument('--min-tissue', type=float, default=0.5,
                        help='least tissue fraction of a patch')
    parser.add_argument('--max-patches-per-slide', type=int,
                        help='random subset (by --seed) of at most N')
    parser.add_argument('--split', type=float, nargs=3,
                        default=(0.8, 0.1, 0.1),
                        metavar=('TRAIN', 'VAL', 'TEST'),
                        help='slide fractions per subset')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--workers', type=int, default=2,
                        help='slides processed in parallel')
    parser.add_argument('--backend', default='auto',
                        choices=['auto', 'openslide', 'tiffslide'])
    parser.add_argument('--slide-mpp', type=float,
                        help='level-0 mpp of slides that record none')
    parser.add_argument('--lr-source', default='any',
                        choices=['any', 'scanner'],
                        help='scanner: refuse slides whose LR would be '
                        'resampled rather than read from a scanner level')
    parser.add_argument('--mask-overlay', action='store_true',
                        help='write masks/<slide>.png, the tissue mask '
                        'over the slide thumbnail')
    args = parser.parse_args()
    target = args.mpp if args.mpp is not None else args.magnification
    if not (math.isfinite(target) and target > 0):
        parser.error(f'--mpp/--magnification must be positive, got {target}')
    if args.patch_size < 1:
        parser.error(f'--patch-size must be positive, got {args.patch_size}')
    args.stride = args.stride or args.patch_size
    if args.stride < 1:
        parser.error(f'--stride must be positive, got {args.stride}')
    if not 0 <= args.min_tissue <= 1:
        parser.error(f'--min-tissue must be in [0, 1], got '
                     f'{args.min_tissue}')
    if args.max_patches_per_slide is not None \
            and args.max_patches_per_slide < 1:
        parser.error('--max-patches-per-slide must be positive, got '
                     f'{args.max_patches_per_slide}')
    if min(args.split) < 0 or sum(args.split) <= 0:
        parser.error(f'--split fractions must be >= 0 with a positive sum, '
                     f'got {args.split}')
    if args.workers < 1:
        parser.error(f'--workers must be positive, got {args.workers}')
    if args.slide_mpp is not None and not args.slide_mpp > 0:
        parser.error(f'--slide-mpp must be positive, got {args.slide_mpp}')
    hr_magnification = args.magnification or 10 / args.mpp
    args.scales = []
    for lr_mag in args.lr_magnifications:
        if not 0 < lr_mag < hr_magnification:
            parser.error(f'LR magnification {lr_mag:g} must be below the HR '
                         f'magnification {hr_magnification:g}')
        scale = hr_magnification / lr_mag
        for name, pixels in (('--patch-size', args.patch_size),
                             ('--stride', args.stride)):
            if abs(pixels / scale - round(pixels / scale)) > 1e-6:
                parser.error(f'{name} {pixels} is not a multiple of the '
                             f'scale {scale:g} of LR magnification '
                             f'{lr_mag:g} (HR {hr_magnification:g})')
        args.scales.append(scale)
    args.hr_magnification = hr_magnification
    return args


def list_slides(source: str) -> List[str]:
    """Slide paths of a folder (top level) or of a .txt list."""
    if osp.isdir(source):
        return sorted(
            osp.join(source, name) for name in os.listdir(source)
            if osp.isfile(osp.join(source, name))
            and osp.splitext(name)[1].lower() in SLIDE_EXTENSIONS)
    if not osp.isfile(source):
        raise FileNotFoundError(f'slide folder or list not found: {source}')
    if not source.endswith('.txt'):
        raise ValueError(f'SLIDES must be a folder or a .txt list of slide '
                         f'paths, got {source}')
    folder = osp.dirname(osp.abspath(source))
    with open(source, encoding='utf-8') as file:
        lines = [line.strip() for line in file]
    return [
        line if '://' in line or osp.isabs(line) else osp.join(folder, line)
        for line in lines if line and not line.startswith('#')
    ]


def slide_name(path: str) -> str:
    """The slide's file stem, used for folders and file names."""
    return osp.splitext(osp.basename(path.rstrip('/')))[0]


def split_slides(names: Sequence[str], fractions: Sequence[float],
                 seed: int) -> Dict[str, str]:
    """Assign every slide name to train/val/test (see the module doc)."""
    order = sorted(names)
    order = [order[i] for i in np.random.default_rng(seed).permutation(
        len(order))]
    shares = np.asarray(fractions, float) / sum(fractions) * len(order)
    counts = np.floor(shares).astype(int)
    for index in np.argsort(-(shares - counts), kind='stable')[
            :len(order) - counts.sum()]:
        counts[index] += 1
    for index in np.flatnonzero((counts == 0) & (shares > 0)):
        donor = int(np.argmax(counts))
        if counts[donor] > 1:
            counts[donor] -= 1
            counts[index] += 1
    bounds = np.cumsum(counts)
    return {
        name: SPLITS[int(np.searchsorted(bounds, rank, side='right'))]
        for rank, name in enumerate(order)
    }


def _number(value: float) -> Union[int, float]:
    """An int when ``value`` is integral, else ``value`` to 6 decimals."""
    value = round(float(value), 6)
    return int(value) if value.is_integer() else value


def _write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through ``<path>.tmp`` and a rename, so
    that a killed process never leaves a partial ``path``."""
    with atomic_path(path) as partial, open(partial, 'wb') as file:
        file.write(data)


def _write_png(path: str, image: np.ndarray) -> int:
    """Write RGB ``image`` as PNG (creating the folder); its byte size."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    ok, data = cv2.imencode('.png', cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f'cannot encode {path}')
    _write_atomic(path, data.tobytes())
    return len(data)


def _marker(out_dir: str, name: str, suffix: str = '.json') -> str:
    """The done-marker (or with ``suffix='.running'`` the running-marker)
    of slide ``name``."""
    return osp.join(out_dir, '.done', name + suffix)


def discard_slide(task: dict) -> None:
    """Remove the partial patch folders and the running-marker of a slide
    that failed."""
    out_dir, name = task['out_dir'], task['name']
    folders = ['hr'] + [f'lr_x{s:g}' for s in task['params']['scales']]
    for folder in folders:
        path = osp.join(out_dir, folder, name)
        if osp.isdir(path):
            for file_name in os.listdir(path):
                os.remove(osp.join(path, file_name))
            os.rmdir(path)
    overlay = osp.join(out_dir, 'masks', name + '.png')
    if osp.exists(overlay):
        os.remove(overlay)
    running = _marker(out_dir, name, '.running')
    if osp.exists(running):
        os.remove(running)


def open_with_mpp(path: str, backend: str,
                  slide_mpp: Optional[float]) -> Tuple[SlideReader, float]:
    """Open ``path`` and return it with its level-0 mpp, ``slide_mpp``
    standing in when the slide records none."""
    slide = open_slide(path, backend)
    try:
        return slide, slide.mpp
    except ValueError:
        slide.close()
        if slide_mpp is None:
            raise ValueError('the slide records no microns per pixel (mpp); '
                             'pass --slide-mpp') from None
    slide = open_slide(path, backend, slide_mpp)
    return slide, slide.mpp


def lr_sources(slide: SlideReader, downsample: float,
               params: dict) -> Dict[float, dict]:
    """Per LR scale, where its pixels come from: ``source`` ``'scanner'``
    when a level has the LR resolution (within ``LEVEL_TOLERANCE``), else
    ``'resampled'``; ``level`` read, its ``level_mpp`` and ``resample``
    (level pixels per LR pixel). Raises a ValueError for a resampled LR
    when ``params['lr_source']`` is ``'scanner'``."""
    sources = {}
    for scale in params['scales']:
        lr_downsample = downsample * scale
        level = slide.best_level(lr_downsample)
        level_ds = slide.level_downsamples[level]
        resample = lr_downsample / level_ds
        scanner = resample <= LEVEL_TOLERANCE and \
            1 / resample <= LEVEL_TOLERANCE
        sources[scale] = dict(
            source='scanner' if scanner else 'resampled', level=level,
            level_mpp=_number(slide.mpp * level_ds),
            resample=_number(resample))
        if not scanner and params['lr_source'] == 'scanner':
            magnification = params['hr_magnification'] / scale
            raise ValueError(
                f'LR magnification {magnification:g} (x{scale:g}, '
                f'{slide.mpp * lr_downsample:g} um/px) is no scanner level '
                f'of slide {slide.path} (levels at '
                + ', '.join(f'{slide.mpp * ds:g}'
                            for ds in slide.level_downsamples)
                + ' um/px); it would be resampled x'
                f'{resample:g} from level {level}, which --lr-source '
                'scanner refuses')
    return sources


def resampled_note(name: str, row: dict, scales: Sequence[float]
                   ) -> Optional[str]:
    """The line ``<slide>: LR resampled (no scanner level): lr_x2
    resampled x2 from level 0 (0.25 um/px)`` naming the resampled LR of a
    manifest ``row``, or None when there is none."""
    parts = [
        f'lr_x{s:g} resampled x{row[f"lr_x{s:g}_resample"]:g} from level '
        f'{row[f"lr_x{s:g}_level"]} ({row[f"lr_x{s:g}_level_mpp"]:g} um/px)'
        for s in scales if row[f'lr_x{s:g}_source'] == 'resampled'
    ]
    return f'{name}: LR resampled (no scanner level): ' + '; '.join(
        parts) if parts else None


def tissue_coords(slide: SlideReader, downsample: float, name: str,
                  params: dict, overlay: Optional[str] = None
                  ) -> np.ndarray:
    """Level-0 (x, y) (N, 2) of the grid patches on tissue, at most
    ``max_patches_per_slide`` of them (a random subset by seed and name);
    ``downsample`` is level-0 pixels per HR pixel. With ``overlay`` (a PNG
    path) the mask over the thumbnail is written there."""
    patch_level0 = params['patch_size'] * downsample
    width, height = slide.dimensions
    if min(width, height) < patch_level0:
        raise ValueError(f'slide of {width}x{height} level-0 px is smaller '
                         f'than one patch ({patch_level0:g} level-0 px)')
    mask_ds = min(MASK_MAX_DOWNSAMPLE, max(1.0, patch_level0 / 8))
    thumbnail = slide.read_region(
        (0, 0), (math.ceil(width / mask_ds), math.ceil(height / mask_ds)),
        mpp=slide.mpp * mask_ds)
    # undilated: a patch's tissue fraction is then that of its pixels (the
    # default 2 px margin is for whole-slide SR, which must lose no edge)
    mask = segment_tissue(thumbnail, dilate=0)
    if overlay is not None:
        _write_png(overlay, mask_overlay(thumbnail, mask))
    coords = tissue_patch_coords(
        mask, mask_ds, patch_level0,
        params['stride'] * downsample,
        params['min_tissue'], (width, height))
    if len(coords) == 0:
        raise ValueError(
            f'no tissue patch with min_tissue={params["min_tissue"]:g}')
    limit = params['max_patches_per_slide']
    if limit is not None and len(coords) > limit:
        rng = np.random.default_rng(
            [params['seed'], zlib.crc32(name.encode())])
        coords = coords[np.sort(rng.choice(len(coords), limit, False))]
    return coords


def process_slide(task: dict) -> List[dict]:
    """Write the patches of one slide and its done-marker; return its
    manifest rows (without split)."""
    path, name, out_dir = task['path'], task['name'], task['out_dir']
    params = task['params']
    patch = params['patch_size']
    _write_atomic(_marker(out_dir, name, '.running'),
                  str(os.getpid()).encode())
    slide, slide_mpp = open_with_mpp(path, task['backend'],
                                     params['slide_mpp'])
    rows = []
    sizes = {}
    with slide:
        if params['mpp'] is not None:
            downsample = params['mpp'] / slide_mpp
        else:
            downsample = slide.objective_power / params['magnification']
        if downsample * UPSAMPLE_TOLERANCE < 1:
            raise ValueError(
                f'level-0 resolution {slide_mpp:g} um/px '
                f'({slide.objective_power:g}x) is coarser than the target '
                f'{slide_mpp * downsample:g} um/px')
        hr_mpp = slide_mpp * downsample
        sources = lr_sources(slide, downsample, params)
        overlay = osp.join(out_dir, 'masks', name + '.png') \
            if task.get('mask_overlay') else None
        coords = tissue_coords(slide, downsample, name, params,
                               overlay).tolist()
        # a bar per slide only when slides run in this process (one slide,
        # or --workers 1): bars of parallel workers would garble stderr
        for x, y in tqdm(coords, desc=name, unit='patch', leave=False,
                         file=sys.stderr, disable=not task['progress']):
            file_name = f'{name}/{name}_x{x}_y{y}.png'
            row = dict(
                slide=name, x=x, y=y,
                width_level0=_number(patch * downsample),
                height_level0=_number(patch * downsample),
                magnification=_number(slide.objective_power / downsample),
                mpp=_number(hr_mpp),
                hr_path=f'hr/{file_name}')
            sizes[row['hr_path']] = _write_png(
                osp.join(out_dir, row['hr_path']),
                slide.read_region((x, y), (patch, patch), mpp=hr_mpp))
            for scale in params['scales']:
                lr_size = round(patch / scale)
                column = f'lr_x{scale:g}_path'
                row[column] = f'lr_x{scale:g}/{file_name}'
                row.update({f'lr_x{scale:g}_{key}': value
                            for key, value in sources[scale].items()})
                sizes[row[column]] = _write_png(
                    osp.join(out_dir, row[column]),
                    slide.read_region((x, y), (lr_size, lr_size),
                                      mpp=hr_mpp * scale))
            rows.append(row)
    _write_atomic(
        _marker(out_dir, name),
        json.dumps(dict(slide=path, params=params, rows=rows,
                        sizes=sizes)).encode())
    os.remove(_marker(out_dir, name, '.running'))
    return rows


def run_slide(task: dict) -> Tuple[Optional[List[dict]], str]:
    """:func:`process_slide`, returning ``(rows, '')`` or
    ``(None, reason)``."""
    # zarr (tiffslide) logs every failed tile read; the error is reported
    # once per slide instead
    logging.getLogger('asyncio').setLevel(logging.CRITICAL)
    try:
        return process_slide(task), ''
    except Exception as error:  # a bad slide must not stop the others
        discard_slide(task)
        return None, f'{type(error).__name__}: {error}'


def _send_result(task: dict, sender: multiprocessing.connection.Connection
                 ) -> None:
    """Send :func:`run_slide` of ``task`` through ``sender`` (in a child
    process)."""
    sender.send(run_slide(task))
    sender.close()


def run_isolated(task: dict) -> Tuple[Optional[List[dict]], str]:
    """:func:`run_slide` in a process of its own, so that the death of that
    process is its slide's failure, reported with the exit code."""
    context = multiprocessing.get_context('spawn')
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_send_result, args=(task, sender))
    process.start()
    sender.close()
    try:
        result = receiver.recv()
    except EOFError:  # the process died before sending
        result = None
    process.join()
    if result is not None:
        return result
    discard_slide(task)
    code = process.exitcode
    if code == -signal.SIGKILL:
        how = 'killed by SIGKILL, as by the out-of-memory killer'
    elif code < 0:
        how = f'killed by {signal.Signals(-code).name}'
    else:
        how = f'exit code {code}'
    return None, f'the worker process died on this slide ({how})'


def run_pool(tasks: List[dict], workers: int,
             collect: Callable[[dict, Optional[List[dict]], str],
                               None]) -> None:
    """Run ``tasks`` on ``workers`` processes, passing each result to
    ``collect(task, rows, reason)``.

    When a worker dies the pool is broken: the unfinished slides that had
    started (running-marker present; all of them if none had) are rerun one
    at a time with :func:`run_isolated`, the others in a new pool.
    """
    context = multiprocessing.get_context('spawn')
    while tasks:
        interrupted = []
        # spawn: no C-library or thread state of this process is copied
        with ProcessPoolExecutor(min(workers, len(tasks)),
                                 mp_context=context) as pool:
            futures = {pool.submit(run_slide, t): t for t in tasks}
            for future in as_completed(futures):
                try:
                    result = future.result()
                except BrokenProcessPool:
                    interrupted.append(futures[future])
                    continue
                except Exception as error:  # e.g. a task that cannot pickle
                    result = None, f'{type(error).__name__}: {error}'
                collect(futures[future], *result)
        started = [
            t for t in interrupted
            if osp.exists(_marker(t['out_dir'], t['name'], '.running'))
        ] or interrupted
        for task in started:
            collect(task, *run_isolated(task))
        tasks = [t for t in interrupted if t not in started]


def load_marker(out_dir: str, name: str, params: dict) -> Optional[dict]:
    """The done-marker of slide ``name`` when its patch files are intact,
    else None (removing it, with a warning on stderr); raises when it was
    made with other settings."""
    marker = _marker(out_dir, name)
    if not osp.isfile(marker):
        return None
    try:
        with open(marker, encoding='utf-8') as file:
            done = json.load(file)
        made_with, rows = done['params'], list(done['rows'])
        sizes = dict(done['sizes'])
    except (ValueError, KeyError, TypeError) as error:
        problem = (f'is empty or unreadable ({type(error).__name__}: '
                   f'{error})')
    else:
        if made_with != params:
            raise ValueError(
                f'{marker} was made with other settings ({made_with}, now '
                f'{params}): use another OUT_DIR or delete '
                f'{osp.join(out_dir, ".done")}')
        problem = next((
            f'lists {path}, which is missing or not of its {size} bytes '
            '(damaged)' for path, size in sizes.items()
            if not osp.isfile(osp.join(out_dir, path))
            or osp.getsize(osp.join(out_dir, path)) != size), None)
        if problem is None:
            return dict(done, rows=rows)
    print(f'warning: done-marker {marker} {problem}: redoing slide {name}',
          file=sys.stderr)
    os.remove(marker)
    return None


def main() -> None:
    args = parse_args()
    paths = list_slides(args.slides)
    if not paths:
        raise FileNotFoundError(f'no slide in {args.slides} (extensions '
                                f'{" ".join(SLIDE_EXTENSIONS)})')
    names: Dict[str, str] = {}
    for path in paths:
        name = slide_name(path)
        if name in names:
            raise ValueError(f'slides {names[name]} and {path} have the same '
                             f'name {name!r}; rename one')
        names[name] = path
    os.makedirs(osp.join(args.out_dir, '.done'), exist_ok=True)
    params = dict(
        mpp=args.mpp, magnification=args.magnification,
        patch_size=args.patch_size, stride=args.stride, scales=args.scales,
        min_tissue=args.min_tissue,
        max_patches_per_slide=args.max_patches_per_slide,
        seed=args.seed if args.max_patches_per_slide else None,
        slide_mpp=args.slide_mpp, lr_source=args.lr_source,
        hr_magnification=args.hr_magnification)
    params = json.loads(json.dumps(params))

    rows_by_name: Dict[str, List[dict]] = {}
    tasks = []
    for name, path in names.items():
        done = load_marker(args.out_dir, name, params)
        if done is not None:
            rows_by_name[name] = done['rows']
            print(f'skip {name}: done in a previous run '
                  f'({len(done["rows"])} patches)')
        else:
            tasks.append(dict(path=path, name=name, out_dir=args.out_dir,
                              backend=args.backend, params=params,
                              mask_overlay=args.mask_overlay,
                              progress=False))
            # left by a run that was killed
            running = _marker(args.out_dir, name, '.running')
            if osp.exists(running):
                os.remove(running)

    failed = []
    with tqdm(total=len(tasks), desc='slides', unit='slide',
              file=sys.stderr) as progress:

        def collect(task: dict, rows: Optional[List[dict]],
                    reason: str) -> None:
            if rows is None:
                failed.append(dict(slide=task['path'], reason=reason))
                progress.write(f'slide {task["path"]}: {reason}',
                               file=sys.stderr)
            else:
                rows_by_name[task['name']] = rows
                note = resampled_note(task['name'], rows[0], args.scales)
                if note:
                    progress.write(note, file=sys.stderr)
            progress.update()

        if args.workers == 1 or len(tasks) <= 1:
            for task in tasks:
                collect(task, *run_slide(dict(task, progress=True)))
        else:
            run_pool(tasks, args.workers, collect)

    splits = split_slides(list(names), args.split, args.seed)
    columns = COLUMNS + [
        f'lr_x{s:g}_{field}' for s in args.scales for field in LR_FIELDS
    ]
    manifest = osp.join(args.out_dir, 'manifest.csv')
    with atomic_path(manifest) as partial, open(
            partial, 'w', newline='', encoding='utf-8') as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        for name in sorted(rows_by_name):
            for row in rows_by_name[name]:
                writer.writerow(dict(row, split=splits[name]))
    with open(osp.join(args.out_dir, 'failed.csv'), 'w', newline='',
              encoding='utf-8') as file:
        writer = csv.DictWriter(file, ['slide', 'reason'])
        writer.writeheader()
        writer.writerows(failed)
    patches = sum(len(rows) for rows in rows_by_name.values())
    print(f'{len(rows_by_name)} slides done, {patches} patches -> '
          f'{manifest}; {len(failed)} failed'
          + (f' (see {osp.join(args.out_dir, "failed.csv")})'
             if failed else ''))
    sys.exit(0 if rows_by_name else 1)


if __name__ == '__main__':
    # imported here: it loads torch, which the (spawned) workers do not need
    from pathsr.utils.cli import run_main
    run_main(main)

"""Command line of ``pathsr-infer`` and ``tools/infer.py``.

Super-resolve an image, a folder of images or a slide region, seam-free in
tiles, and save the outputs (PNG, or TIFF with the output mpp)::

    pathsr-infer CONFIG [CHECKPOINT] INPUT --out OUT
        (--scale S | --size HxW | --mpp M | --magnification X)
        [--in-mpp M | --in-magnification X]
        [--region X Y W H [--slide-mpp M] [--backend auto|openslide|tiffslide]]
        [--tile N] [--halo N] [--tile-pixels N] [--batch-size N]
        [--amp] [--compile] [--device DEVICE] [--format png|jpg|tiff]
        [--max-pixels N] [--overwrite] [--no-progress] [--debug]
        [--cfg-options KEY=VALUE ...]
        [--launcher none|pytorch|slurm] [--dist-timeout SECONDS]

Whole-slide mode writes an Aperio SVS-style pyramidal BigTIFF (tissue tiles
SR, resumable, with provenance; ``docs/inference.md``); a folder gives
``OUT/<slide>_sr.tiff`` per slide::

    pathsr-infer CONFIG [CHECKPOINT] SLIDE|FOLDER --whole-slide
        --out OUT.tiff|OUT (--scale S | --mpp M | --magnification X)
        [--region X Y W H] [--in-mpp M | --in-magnification X]
        [--out-tile 512] [--levels N] [--compression jpeg|zlib]
        [--quality 90] [--ome] [--no-tissue-mask]
        [--overwrite] [--max-pixels N]

With ``--launcher pytorch`` (``tools/dist_infer.sh``) or ``slurm``
(``tools/slurm_infer.sh``) one process per GPU shares the work and writes
the outputs of one process (``docs/distributed.md``): the inputs are dealt
round robin, the tiles of one slide (or of fewer slides than ranks) in
contiguous blocks.

``--region`` makes INPUT a slide and reads the level-0 box ``X Y W H`` at
``--in-mpp``/``--in-magnification``; for images these two give the input's
resolution, needed only by the targets ``--mpp``/``--magnification``.
Errors in the request (bad scale or size, missing or mismatched
checkpoint, unreadable input, an output that is an input or exists without
``--overwrite``) are found before anything is computed and end the program
with status 1 and one line (:func:`pathsr.utils.cli.run_main`; ``--debug``
shows the traceback). In a folder of slides a slide that fails is reported
in one line and the others are still processed; the status is 1 at the
end if any failed.
"""
import argparse
import re
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from mmengine.config import DictAction

from pathsr.engine.runner import CheckpointMismatchError
from pathsr.structures import MAX_OUTPUT_PIXELS
from pathsr.utils.cli import run_main
from pathsr.utils.dist import teardown_distributed
from .distributed import (DEFAULT_TIMEOUT, LAUNCHERS, init_inference_dist,
                          raise_first_error, rank_device, round_robin)
from .inferencer import SlideRegion, SRInferencer, output_paths, save_image
from .inferencer import check_outputs
from .slide_sr import (MAX_SLIDE_PIXELS, SLIDE_SUFFIXES, TIFF_SUFFIXES,
                       SlideSRResult, super_resolve_slide)
from .tiled_inference import DEFAULT_TILE_PIXELS

#: Errors in a request, which end the program with status 1 and a message.
REQUEST_ERRORS = (FileNotFoundError, ValueError, TypeError, OSError,
                  CheckpointMismatchError)


def parse_size(text: str) -> Tuple[int, int]:
    """``'HxW'`` -> ``(H, W)``."""
    match = re.fullmatch(r'\s*(\d+)\s*[xX]\s*(\d+)\s*', text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f'size must be HxW in pixels, e.g. 512x768, got {text!r}')
    return int(match.group(1)), int(match.group(2))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='pathsr-infer',
        description='Super-resolve images, folders or slide regions with a '
        'pathsr model, seam-free in tiles.')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint file (not for models without parameters, Bicubic)')
    parser.add_argument(
        'input',
        help='image file, folder of images, slide (--region, '
        '--whole-slide) or folder of slides (--whole-slide)')
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        '--scale', type=float, help='output scale, a real number > 1')
    target.add_argument(
        '--size',
        type=parse_size,
        metavar='HxW',
        help='output size HxW in pixels')
    target.add_argument('--mpp', type=float, help='output microns per pixel')
    target.add_argument(
        '--magnification', type=float, help='output magnification')
    resolution = parser.add_mutually_exclusive_group()
    resolution.add_argument(
        '--in-mpp',
        type=float,
        help='mpp of the input image, or to read the slide region at')
    resolution.add_argument(
        '--in-magnification',
        type=float,
        help='magnification of the input image, or to read the region at')
    parser.add_argument(
        '--region',
        type=int,
        nargs=4,
        metavar=('X', 'Y', 'W', 'H'),
        help='read INPUT as a slide: level-0 top-left X Y and size W H')
    parser.add_argument(
        '--slide-mpp', type=float, help='level-0 mpp replacing the slide\'s')
    parser.add_argument(
        '--backend',
        choices=['auto', 'openslide', 'tiffslide'],
        default='auto',
        help='slide reader')
    parser.add_argument(
        '--tile', type=int, help='LR core side of the tiles (pixels)')
    parser.add_argument(
        '--halo',
        type=int,
        help='LR halo of the tiles (default: from the model, '
        'docs/inference.md)')
    parser.add_argument(
        '--tile-pixels',
        type=int,
        default=DEFAULT_TILE_PIXELS,
        help='LR pixels, halo included, of one forward call when --tile is '
        'not given (the memory budget)')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='tiles per forward call')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='bf16 autocast (fp16 on GPUs without bf16)')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the networks (docs/speed.md)')
    parser.add_argument(
        '--color-correction',
        action='store_true',
        help='replace the low-frequency colour of each output by that of '
        'its LR input (docs/reports.md)')
    parser.add_argument(
        '--device', help='cpu, cuda, cuda:1 ... (default: cuda if available)')
    parser.add_argument(
        '--out',
        required=True,
        help='output file (.png/.jpg/.tif/.tiff, one input) or folder '
        '(several inputs, a folder of slides); never an input')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace existing outputs (refused otherwise)')
    parser.add_argument(
        '--format',
        choices=['png', 'jpg', 'tif', 'tiff'],
        help='format of the files written into a folder (default: tiff for '
        'slide regions, png otherwise)')
    parser.add_argument(
        '--max-pixels',
        type=int,
        help='refuse outputs with more pixels than this (default: '
        f'{MAX_OUTPUT_PIXELS} for images, {MAX_SLIDE_PIXELS} with '
        '--whole-slide)')
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress bar')
    slide = parser.add_argument_group(
        'whole-slide mode', 'INPUT is a slide (or --region of it) written to '
        '--out as a pyramidal tiled BigTIFF')
    slide.add_argument(
        '--whole-slide',
        action='store_true',
        help='super-resolve the whole slide (or --region) tile by tile')
    slide.add_argument(
        '--out-tile',
        type=int,
        default=512,
        help='output TIFF tile side (multiple of 16), the unit of SR')
    slide.add_argument(
        '--levels', type=int, help='pyramid levels (default: halve until '
        'one tile holds the level)')
    slide.add_argument(
        '--compression', choices=['jpeg', 'zlib'], default='jpeg')
    slide.add_argument(
        '--quality', type=int, default=90, help='JPEG quality')
    slide.add_argument(
        '--ome',
        action='store_true',
        help='OME-TIFF with SubIFDs instead of the Aperio SVS layout (for '
        'OME tools; OpenSlide then sees level 0 only, no label, macro, '
        'objective power or provenance)')
    slide.add_argument(
        '--no-tissue-mask',
        action='store_true',
        help='super-resolve every tile, not only tissue (the others are '
        'the LR upsampled, bicubic)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. model.eval_chunk=10000')
    parser.add_argument(
        '--launcher',
        choices=LAUNCHERS,
        default='none',
        help='job launcher of a distributed run: pytorch (torchrun, '
        'tools/dist_infer.sh) or slurm (srun, tools/slurm_infer.sh)')
    parser.add_argument(
        '--debug',
        action='store_true',
        help='show the traceback of an error (or set PATHSR_DEBUG=1)')
    parser.add_argument(
        '--dist-timeout',
        type=float,
        default=DEFAULT_TIMEOUT,
        help='seconds a rank waits for the others, e.g. for rank 0 to write '
        'a pyramid (default: 24 h)')
    return parser


def slide_outputs(slides: str, out: str) -> List[Tuple[str, Path]]:
    """The ``(slide, output)`` pairs of whole-slide mode: ``slides`` and
    ``out`` when ``slides`` is not a folder; else every file of the folder
    with a :data:`~pathsr.apis.slide_sr.SLIDE_SUFFIXES` suffix, sorted, to
    ``out/<stem>_sr.tiff``.

    Raises:
        FileNotFoundError: A folder without slides.
        ValueError: A folder of slides and an ``out`` that is a TIFF file
            or the folder itself; two slides with one stem.
    """
    folder = Path(slides)
    if not folder.is_dir():
        return [(slides, Path(out))]
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in SLIDE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f'no slide file ({", ".join(SLIDE_SUFFIXES)}) '
                                f'in the folder {folder}')
    if Path(out).suffix.lower() in TIFF_SUFFIXES:
        raise ValueError(f'--out {out} is a file but the folder {folder} has '
                         f'{len(files)} slides: give a folder')
    if Path(out).resolve() == folder.resolve():
        raise ValueError(f'--out {out} is the folder of the slides: give '
                         'another folder (a rerun would read the outputs as '
                         'slides)')
    outputs = [Path(out) / f'{f.stem}_sr.tiff' for f in files]
    if len(set(outputs)) != len(outputs):
        raise ValueError(f'two slides of {folder} have the same name: '
                         f'{[f.name for f in files]}')
    return [(str(f), o) for f, o in zip(files, outputs)]


def _slide_summary(result: SlideSRResult) -> str:
    """The line printed for a whole-slide output."""
    resolution = '' if result.mpp is None else \
        f' at {result.mpp[0]:.4g} um/px'
    per_rank = '' if len(result.computed_per_rank) < 2 else \
        '; per rank ' + ', '.join(map(str, result.computed_per_rank))
    return (f'{result.path}: {result.lr_shape[0]}x{result.lr_shape[1]}'
            f' -> {result.out_shape[0]}x{result.out_shape[1]}'
            f'{resolution}, {len(result.levels)} levels; '
            f'{result.tissue_tiles}/{result.tiles} tissue tiles '
            f'({result.computed_tiles} computed, '
            f'{result.reused_tiles} reused{per_rank})')


def _whole_slides(inferencer: SRInferencer, args: argparse.Namespace,
                  rank: int, world_size: int, prefix: str) -> None:
    """Super-resolve the slide or folder of slides ``args.input`` into
    pyramids. The slides are dealt round robin to the ranks; with fewer
    slides than ranks, every slide's tiles are split between all ranks.

    A slide of a folder that fails (unreadable, bad request) is reported in
    one line on stderr and the next one is processed.

    Raises:
        RuntimeError: Some slides of a folder failed (after all were
            tried), naming them.
    """
    jobs = slide_outputs(args.input, args.out)
    split_tiles = len(jobs) < world_size
    max_pixels = MAX_SLIDE_PIXELS if args.max_pixels is None else \
        args.max_pixels
    failed = []
    for slide, out in jobs if split_tiles else round_robin(
            jobs, rank, world_size):
        try:
            result = super_resolve_slide(
                inferencer,
                slide,
                out,
                scale=args.scale,
                mpp=args.mpp,
                magnification=args.magnification,
                region=args.region,
                in_mpp=args.in_mpp,
                in_magnification=args.in_magnification,
                slide_mpp=args.slide_mpp,
                backend=args.backend,
                tile=args.out_tile,
                levels=args.levels,
                compression=args.compression,
                quality=args.quality,
                ome=args.ome,
                tissue=not args.no_tissue_mask,
                overwrite=args.overwrite,
                progress=not args.no_progress and rank == 0,
                max_pixels=max_pixels,
                distributed=split_tiles,
                config=args.config,
                checkpoint=args.checkpoint)
        except Exception as error:  # noqa: BLE001 - reported, then the next
            if len(jobs) == 1 or split_tiles:
                raise
            failed.append(Path(slide).name)
            print(f'{prefix}pathsr-infer: error: {slide}: '
                  f'{type(error).__name__}: {error}', file=sys.stderr)
            continue
        if rank == 0 or not split_tiles:
            print(prefix + _slide_summary(result))
    if failed:
        raise RuntimeError(f'{len(failed)} of {len(jobs)} slides failed '
                           f'(see above): {", ".join(failed)}')


def _images(inferencer: SRInferencer, args: argparse.Namespace, rank: int,
            world_size: int, prefix: str) -> None:
    """Super-resolve the image, folder or slide region of ``args``; input
    ``k`` of the sorted list is read, computed and saved by rank ``k %
    world_size``. Every rank checks its inputs before any output is
    written, and all stop when one finds an error."""
    if args.region is not None:
        x, y, width, height = args.region
        inputs = SlideRegion(args.input, (x, y), (width, height), args.in_mpp,
                             args.in_magnification, args.slide_mpp,
                             args.backend)
    else:
        inputs = args.input
    items = inferencer.list_inputs(inputs)
    paths = output_paths(items, args.out, args.format)
    check_outputs(paths, inputs, args.overwrite)
    mine = round_robin(range(len(items)), rank, world_size)
    images, plans, error = [], [], None
    try:
        for k in mine:
            images.append(
                inferencer.read(items[k], args.in_mpp, args.in_magnification))
            plans.append(
                inferencer.resolve(images[-1], args.scale, args.size,
                                   args.mpp, args.magnification))
    except REQUEST_ERRORS as caught:
        error = caught
    raise_first_error(error)
    print(f'{prefix}{type(inferencer.model).__name__} on {inferencer.device}: '
          f'tiles of {inferencer.tile} LR px with a '
          f'{inferencer.halo} px halo')
    for k, image, (shape, out_mpp) in zip(mine, images, plans):
        sr, report = inferencer.color_check(
            image, inferencer.run(image.img, shape))
        save_image(paths[k], sr, out_mpp)
        height, width = image.img.shape[:2]
        resolution = '' if out_mpp is None else f' at {out_mpp[0]:.4g} um/px'
        print(f'{prefix}{paths[k]}: {height}x{width} -> {shape[0]}x{shape[1]}'
              f'{resolution}, mean CIEDE2000 of the SR downscaled back '
              f'to the LR {report["delta_e_lr"]:.2f}')


def infer(argv: Optional[List[str]] = None) -> None:
    """Run ``pathsr-infer`` on ``argv`` (default: ``sys.argv[1:]``); errors
    propagate as exceptions."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.region is None and not args.whole_slide and (
            args.slide_mpp is not None or args.backend != 'auto'):
        parser.error('--slide-mpp and --backend need --region or '
                     '--whole-slide')
    if args.whole_slide and (args.size is not None or args.tile is not None
                             or args.format is not None):
        parser.error('--size, --tile and --format do not apply to '
                     '--whole-slide (the LR core follows --out-tile)')
    try:
        rank, world_size = init_inference_dist(args.launcher,
                                               args.dist_timeout)
    except RuntimeError as error:
        parser.exit(1, f'{parser.prog}: error: {error}\n')
    prefix = f'[rank {rank}/{world_size}] ' if world_size > 1 else ''
    try:
        inferencer = SRInferencer(
            args.config,
            args.checkpoint,
            device=rank_device(args.device, args.launcher),
            tile=args.tile,
            halo=args.halo,
            tile_pixels=args.tile_pixels,
            batch_size=args.batch_size,
            amp=args.amp,
            compile=args.compile,
            progress=not args.no_progress and rank == 0,
            max_pixels=MAX_OUTPUT_PIXELS if args.max_pixels is None else
            args.max_pixels,
            color_correction=args.color_correction,
            cfg_options=args.cfg_options)
        if args.whole_slide:
            _whole_slides(inferencer, args, rank, world_size, prefix)
        else:
            _images(inferencer, args, rank, world_size, prefix)
    except BaseException:
        teardown_distributed(sync=False)
        raise
    teardown_distributed()


def main(argv: Optional[List[str]] = None) -> None:
    """``pathsr-infer``: :func:`infer` whose failures end in one line
    ``pathsr-infer: error: TYPE: MESSAGE`` and status 1
    (:func:`~pathsr.utils.cli.run_main`); ``--debug`` or ``PATHSR_DEBUG=1``
    shows the traceback instead."""
    if argv is not None and '--debug' in argv:
        infer(argv)
        return
    run_main(lambda: infer(argv), prog='pathsr-infer')


if __name__ == '__main__':
    main()

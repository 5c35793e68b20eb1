"""Command line of ``pathsr-infer`` and ``tools/infer.py``.

Super-resolve an image, a folder of images or a slide region, seam-free in
tiles, and save the outputs (PNG, or TIFF with the output mpp)::

    pathsr-infer CONFIG [CHECKPOINT] INPUT --out OUT
        (--scale S | --size HxW | --mpp M | --magnification X)
        [--in-mpp M | --in-magnification X]
        [--region X Y W H [--slide-mpp M] [--backend auto|openslide|tiffslide]]
        [--tile N] [--halo N] [--tile-pixels N] [--batch-size N]
        [--amp] [--device DEVICE] [--format png|tiff] [--max-pixels N]
        [--no-progress] [--cfg-options KEY=VALUE ...]

``--region`` makes INPUT a slide and reads the level-0 box ``X Y W H`` at
``--in-mpp``/``--in-magnification``; for images these two give the input's
resolution, needed only by the targets ``--mpp``/``--magnification``.
Errors in the request (bad scale or size, missing or mismatched
checkpoint, unreadable input) end the program with status 1 and a message.
"""
import argparse
import re
from typing import List, Optional, Tuple

from mmengine.config import DictAction

from pathsr.engine.runner import CheckpointMismatchError
from pathsr.structures import MAX_OUTPUT_PIXELS
from .inferencer import SlideRegion, SRInferencer, output_paths, save_image
from .tiled_inference import DEFAULT_TILE_PIXELS


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
        'input', help='image file, folder of images, or slide (--region)')
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
        '--amp', action='store_true', help='bf16/fp16 autocast on CUDA')
    parser.add_argument(
        '--device', help='cpu, cuda, cuda:1 ... (default: cuda if available)')
    parser.add_argument(
        '--out',
        required=True,
        help='output file (.png/.tif/.tiff, one input) or folder')
    parser.add_argument(
        '--format',
        choices=['png', 'tif', 'tiff'],
        help='format of the files written into a folder (default: tiff for '
        'slide regions, png otherwise)')
    parser.add_argument(
        '--max-pixels',
        type=int,
        default=MAX_OUTPUT_PIXELS,
        help='refuse outputs with more pixels than this')
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress bar')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. model.eval_chunk=10000')
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    """Run ``pathsr-infer`` on ``argv`` (default: ``sys.argv[1:]``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.region is None and (args.slide_mpp is not None
                                or args.backend != 'auto'):
        parser.error('--slide-mpp and --backend need --region')
    try:
        inferencer = SRInferencer(
            args.config,
            args.checkpoint,
            device=args.device,
            tile=args.tile,
            halo=args.halo,
            tile_pixels=args.tile_pixels,
            batch_size=args.batch_size,
            amp=args.amp,
            progress=not args.no_progress,
            max_pixels=args.max_pixels,
            cfg_options=args.cfg_options)
        if args.region is not None:
            x, y, width, height = args.region
            images = inferencer.load(
                SlideRegion(args.input, (x, y), (width, height), args.in_mpp,
                            args.in_magnification, args.slide_mpp,
                            args.backend))
        else:
            images = inferencer.load(args.input, args.in_mpp,
                                     args.in_magnification)
        plans = [
            inferencer.resolve(image, args.scale, args.size, args.mpp,
                               args.magnification) for image in images
        ]
        paths = output_paths(images, args.out, args.format)
        print(f'{type(inferencer.model).__name__} on {inferencer.device}: '
              f'tiles of {inferencer.tile} LR px with a '
              f'{inferencer.halo} px halo')
        for image, (shape, out_mpp), path in zip(images, plans, paths):
            sr = inferencer.run(image.img, shape)
            save_image(path, sr, out_mpp)
            height, width = image.img.shape[:2]
            resolution = '' if out_mpp is None else \
                f' at {out_mpp[0]:.4g} um/px'
            print(f'{path}: {height}x{width} -> {shape[0]}x{shape[1]}'
                  f'{resolution}')
    except (FileNotFoundError, ValueError, TypeError, OSError,
            CheckpointMismatchError) as error:
        parser.exit(1, f'{parser.prog}: error: {error}\n')


if __name__ == '__main__':
    main()

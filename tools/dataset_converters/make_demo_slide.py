"""Build a small pyramidal whole-slide TIFF from the demo H&E crops.

    python tools/dataset_converters/make_demo_slide.py OUT.tiff \
        [--size 2048 1536] [--mpp 0.25] [--levels 4] [--compression jpeg]

The crops of ``demo/histo_demo/train`` (256 px, 0.25 um/px) are tiled, with
random rotations and flips, over two overlapping ellipses of "tissue" on a
white background; about one grid cell in eight is left white as a gap. The
image is written as a generic tiled TIFF pyramid: level 0 then levels
halved with ``cv2.INTER_AREA``, as successive IFDs (reduced levels with
``subfiletype=1``), 256 px tiles, RGB, and resolution tags in
CENTIMETER giving the mpp of every level, so that OpenSlide, tiffslide and
tifffile all read every level and the mpp (40x at 0.25 um/px).
"""
import argparse
import glob
import math
import os
import os.path as osp
import sys
from typing import Sequence

import cv2
import numpy as np
import tifffile

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

DEMO_CROPS = osp.join(ROOT, 'demo', 'histo_demo', 'train')


def write_pyramid(path: str,
                  image: np.ndarray,
                  mpp: float = 0.25,
                  levels: int = 3,
                  tile: int = 256,
                  compression: str = 'zlib') -> None:
    """Write uint8 RGB ``image`` (H, W, 3) as a generic tiled TIFF pyramid
    of ``levels`` levels, each half the size of the previous one
    (``cv2.INTER_AREA``), with level-0 ``mpp`` microns per pixel.

    Args:
        path: Output TIFF file.
        image: Level-0 pixels, uint8 (H, W, 3).
        mpp: Level-0 microns per pixel, written as CENTIMETER resolution.
        levels: Number of pyramid levels (>= 1).
        tile: Tile side in pixels, a multiple of 16.
        compression: ``'zlib'`` (lossless) or ``'jpeg'`` (quality 90).
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError('write_pyramid needs a uint8 RGB image (H, W, 3), '
                         f'got {image.dtype} {image.shape}')
    if compression not in ('zlib', 'jpeg'):
        raise ValueError(f'compression must be zlib or jpeg, got '
                         f'{compression!r}')
    most = max_levels(image.shape[1::-1])
    if not 1 <= levels <= most:
        raise ValueError(f'levels must be 1 to {most} for a '
                         f'{image.shape[1]}x{image.shape[0]} image (each '
                         f'level halves it, down to 1 px), got {levels!r}')
    if tile < 16 or tile % 16:
        raise ValueError(f'tile must be a positive multiple of 16, got '
                         f'{tile!r}')
    if not (math.isfinite(mpp) and mpp > 0):
        raise ValueError(f'mpp must be a positive number, got {mpp!r}')
    options = dict(
        tile=(tile, tile),
        photometric='rgb',
        compression=compression,
        compressionargs=dict(level=90) if compression == 'jpeg' else None,
        resolutionunit='CENTIMETER',
        metadata=None)
    with tifffile.TiffWriter(path, bigtiff=True) as writer:
        level = image
        for index in range(levels):
            if index:
                height, width = level.shape[:2]
                level = cv2.resize(
                    level, (max(1, width // 2), max(1, height // 2)),
                    interpolation=cv2.INTER_AREA)
            downsample = image.shape[1] / level.shape[1]
            pixels_per_cm = 1e4 / (mpp * downsample)
            writer.write(
                level,
                subfiletype=1 if index else 0,
                resolution=(pixels_per_cm, pixels_per_cm),
                **options)


def max_levels(size: Sequence[int]) -> int:
    """The most pyramid levels of halvings an image of ``size`` (w, h) has
    before a side falls below 1 px."""
    return int(math.log2(min(size))) + 1


def make_demo_image(size: Sequence[int] = (2048, 1536),
                    crops_dir: str = DEMO_CROPS,
                    seed: int = 0) -> np.ndarray:
    """Tile the PNG crops of ``crops_dir`` over two ellipses of tissue on
    white, leaving random grid cells as gaps; uint8 RGB (H, W, 3) of
    ``size`` (W, H)."""
    paths = sorted(glob.glob(osp.join(crops_dir, '*.png')))
    if not paths:
        raise FileNotFoundError(f'no PNG crop in {crops_dir}')
    crops = [cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB) for p in paths]
    cell = min(min(c.shape[:2]) for c in crops)
    width, height = size
    rng = np.random.default_rng(seed)
    rows, cols = -(-height // cell), -(-width // cell)
    canvas = np.full((rows * cell, cols * cell, 3), 255, np.uint8)
    for row in range(rows):
        for col in range(cols):
            if rng.random() < 0.125:
                continue
            crop = crops[rng.integers(len(crops))][:cell, :cell]
            crop = np.rot90(crop, rng.integers(4))
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            canvas[row * cell:(row + 1) * cell,
                   col * cell:(col + 1) * cell] = crop
    tissue = np.zeros((height, width), np.uint8)
    cv2.ellipse(tissue, (int(width * 0.38), int(height * 0.5)),
                (int(width * 0.3), int(height * 0.36)), 20, 0, 360, 1, -1)
    cv2.ellipse(tissue, (int(width * 0.7), int(height * 0.45)),
                (int(width * 0.2), int(height * 0.3)), -30, 0, 360, 1, -1)
    image = canvas[:height, :width]
    image[tissue == 0] = 255
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='output .tiff file')
    parser.add_argument('--size', type=int, nargs=2, default=(2048, 1536),
                        metavar=('W', 'H'), help='level-0 size in pixels')
    parser.add_argument('--mpp', type=float, default=0.25,
                        help='level-0 microns per pixel (0.25 = 40x)')
    parser.add_argument('--levels', type=int, default=4,
                        help='pyramid levels, each half the previous')
    parser.add_argument('--compression', choices=['jpeg', 'zlib'],
                        default='jpeg')
    parser.add_argument('--crops', default=DEMO_CROPS,
                        help='folder of the H&E PNG crops')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if min(args.size) < 1:
        parser.error(f'--size must be positive, got {args.size}')
    if not 1 <= args.levels <= max_levels(args.size):
        parser.error(f'--levels must be 1 to {max_levels(args.size)} for '
                     f'--size {args.size[0]} {args.size[1]}, got '
                     f'{args.levels}')
    if not (math.isfinite(args.mpp) and args.mpp > 0):
        parser.error(f'--mpp must be a positive number, got {args.mpp}')
    if osp.splitext(args.out)[1].lower() not in ('.tif', '.tiff'):
        parser.error(f'the output must be a .tif or .tiff file, got '
                     f'{args.out}')
    if osp.isdir(args.out):
        parser.error(f'the output {args.out} is a folder')
    image = make_demo_image(args.size, args.crops, args.seed)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    write_pyramid(args.out, image, args.mpp, args.levels,
                  compression=args.compression)
    print(f'wrote {args.out}: {args.size[0]}x{args.size[1]} px, '
          f'{args.levels} levels, {args.mpp} um/px')


if __name__ == '__main__':
    # imported here: it loads torch, which importers of this file (tests,
    # other tools) do not need
    from pathsr.utils.cli import run_main
    run_main(main)

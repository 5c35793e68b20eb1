"""Share of reference tissue that tissue masks find, and share of glass
they take for tissue.

    python tools/analysis_tools/tissue_mask_eval.py \
        [--tiles DIR] [--nuclei DIR] [--slide SLIDE.svs] \
        [--glass-box X Y W H] [--downsamples 8 32]

Masks compared (all on a thumbnail of ``downsample`` level-0 px per px,
scored at level 0 by nearest upsampling):

- ``pathsr-0``: pathsr's former default, Otsu on the median-blurred HSV
  saturation floored at 8, close 4, pieces above 1e-3 of the area;
- ``clam-tcga``: CLAM's TCGA preset (saturation > 8, median 7, close 4,
  no Otsu; areas as pathsr-0);
- ``tia-otsu``: TIAToolbox's ``OtsuTissueMasker`` (grey darker than Otsu's
  threshold);
- ``pathsr``: :func:`pathsr.slides.segment_tissue` with its defaults.

Inputs: ``--tiles`` real tissue tiles (PNG, e.g. MoNuSeg 40x crops) are
laid out on glass (242, 241, 239) with 200 px gaps into a built slide, as
they are and lightened halfway to the glass (pale tissue); the reference
is the tile area, and the nuclei of ``--nuclei`` (``<tile>_binary.png``)
when given. ``--slide`` is a real slide read whole at level 0; its
reference is every level-0 pixel darker than the glass by more than 20 in
some channel after a 5 x 5 median (visibly stained at full resolution),
and ``--glass-box`` a level-0 box of bare glass. On the built slide the
glass is the gaps farther than 4 thumbnail pixels from a tile.
"""
import argparse
import glob
import os.path as osp
import sys
from typing import Callable, Dict, List, Optional, Tuple

sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from pathsr.slides import glass_colour, open_slide  # noqa: E402
from pathsr.slides import segment_tissue  # noqa: E402
from pathsr.slides.tissue_mask import filled_pieces  # noqa: E402

GLASS = (242, 241, 239)
GAP = 200


def saturation_mask(thumbnail: np.ndarray, sthresh: int,
                    use_otsu: bool) -> np.ndarray:
    """CLAM-style mask: median-7 saturation above ``sthresh`` (or Otsu's
    threshold floored at it), close 4, pieces above 1e-3 of the area."""
    saturation = cv2.medianBlur(
        cv2.cvtColor(thumbnail, cv2.COLOR_RGB2HSV)[..., 1], 7)
    threshold = sthresh
    if use_otsu:
        otsu, _ = cv2.threshold(saturation, 0, 255,
                                cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        threshold = max(otsu, sthresh)
    binary = cv2.morphologyEx((saturation > threshold).astype(np.uint8),
                              cv2.MORPH_CLOSE, np.ones((4, 4), np.uint8))
    return filled_pieces(binary, 1e-3, 2e-4, 8) > 0


def otsu_grey_mask(thumbnail: np.ndarray) -> np.ndarray:
    """TIAToolbox-style mask: grey darker than Otsu's threshold."""
    grey = cv2.cvtColor(thumbnail, cv2.COLOR_RGB2GRAY)
    threshold, _ = cv2.threshold(grey, 0, 255,
                                 cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return grey < threshold


METHODS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    'pathsr-0': lambda t: saturation_mask(t, 8, True),
    'clam-tcga': lambda t: saturation_mask(t, 8, False),
    'tia-otsu': otsu_grey_mask,
    'pathsr': segment_tissue,
}


def build_slide(tiles: List[str], nuclei: Optional[str], pale: bool,
                columns: int = 6) -> Tuple[np.ndarray, np.ndarray,
                                           Optional[np.ndarray]]:
    """Lay ``tiles`` on glass; (image (H, W, 3), tile area (H, W), nuclei
    (H, W) or None)."""
    images = [cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB) for p in tiles]
    side = max(max(i.shape[:2]) for i in images)
    rows = -(-len(images) // columns)
    shape = (rows * (side + GAP) + GAP, columns * (side + GAP) + GAP)
    rng = np.random.default_rng(0)
    canvas = np.clip(np.asarray(GLASS) + rng.normal(0, 1.5, shape + (3, )),
                     0, 255).astype(np.uint8)
    area = np.zeros(shape, bool)
    nuclei_map = np.zeros(shape, bool) if nuclei else None
    for index, (path, image) in enumerate(zip(tiles, images)):
        if pale:
            image = np.round(np.asarray(GLASS) - 0.5 * (
                np.asarray(GLASS, float) - image)).clip(0, 255).astype(
                    np.uint8)
        y = GAP + index // columns * (side + GAP)
        x = GAP + index % columns * (side + GAP)
        h, w = image.shape[:2]
        canvas[y:y + h, x:x + w] = image
        area[y:y + h, x:x + w] = True
        if nuclei:
            stem = osp.splitext(osp.basename(path))[0]
            found = glob.glob(osp.join(nuclei, '*', stem + '_binary.png'))
            if found:
                nuclei_map[y:y + h, x:x + w] = cv2.imread(
                    found[0], cv2.IMREAD_GRAYSCALE)[:h, :w] > 0
    return canvas, area, nuclei_map


def thumbnail_of(image: np.ndarray, downsample: int) -> np.ndarray:
    """Area-averaged thumbnail of ``image`` at ``downsample``."""
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, round(w / downsample)),
                              max(1, round(h / downsample))),
                      interpolation=cv2.INTER_AREA)


def level0(mask: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """``mask`` upsampled (nearest) to level-0 ``shape`` (H, W)."""
    return cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]),
                      interpolation=cv2.INTER_NEAREST) > 0


def evaluate(image: np.ndarray, references: Dict[str, np.ndarray],
             glass: np.ndarray, downsample: int) -> Dict[str, List[float]]:
    """Per method: the share of each reference it covers, then the share of
    ``glass`` it covers."""
    thumb = thumbnail_of(image, downsample)
    results = {}
    for name, method in METHODS.items():
        mask = level0(method(thumb), image.shape[:2])
        results[name] = [float(mask[r].mean()) for r in references.values()
                         ] + [float(mask[glass].mean()) if glass.any()
                              else float('nan')]
    return results


def _far(area: np.ndarray, margin: int) -> np.ndarray:
    """The pixels farther than ``margin`` from ``area`` (the glass a
    mask dilated by two thumbnail pixels must leave)."""
    return cv2.dilate(area.astype(np.uint8),
                      np.ones((2 * margin + 1, ) * 2, np.uint8)) == 0


def report(title: str, references: Dict[str, np.ndarray],
           rows: Dict[int, Dict[str, List[float]]]) -> None:
    """Print a markdown table of :func:`evaluate` results."""
    print(f'\n{title}\n')
    print('| downsample | mask | ' + ' | '.join(
        f'{r} found' for r in references) + ' | glass taken |')
    print('|---' * (len(references) + 3) + '|')
    for downsample, results in rows.items():
        for name, values in results.items():
            print(f'| {downsample} | {name} | '
                  + ' | '.join('n/a' if np.isnan(v) else f'{v:.4f}'
                               for v in values) + ' |')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.
                                     RawDescriptionHelpFormatter)
    parser.add_argument('--tiles', help='folder of real tissue tiles (PNG, '
                        'searched recursively)')
    parser.add_argument('--nuclei', help='folder of <tile>_binary.png')
    parser.add_argument('--slide', help='a real slide')
    parser.add_argument('--glass-box', type=int, nargs=4,
                        metavar=('X', 'Y', 'W', 'H'),
                        help='level-0 box of bare glass on --slide')
    parser.add_argument('--downsamples', type=int, nargs='+', default=[8, 32])
    args = parser.parse_args()
    if not args.tiles and not args.slide:
        parser.error('give --tiles and/or --slide')
    if args.tiles:
        tiles = sorted(glob.glob(osp.join(args.tiles, '**', '*.png'),
                                 recursive=True))
        tiles = [t for t in tiles if not t.endswith(('_binary.png',
                                                    '_instance.png'))]
        if not tiles:
            raise FileNotFoundError(f'no PNG tile in {args.tiles}')
        for pale in (False, True):
            image, area, nuclei = build_slide(tiles, args.nuclei, pale)
            references = {'tile area': area}
            if nuclei is not None:
                references['nuclei'] = nuclei
            rows = {ds: evaluate(image, references, _far(area, 4 * ds), ds)
                    for ds in args.downsamples}
            report(f'built slide of {len(tiles)} tiles, {image.shape[1]}x'
                   f'{image.shape[0]} px' + (', tissue lightened halfway to'
                                             ' the glass' if pale else ''),
                   references, rows)
    if args.slide:
        with open_slide(args.slide) as slide:
            image = slide.read_region((0, 0), slide.dimensions,
                                      mpp=slide.mpp)
        glass = glass_colour(image)
        score = cv2.medianBlur(
            np.clip((glass - image).max(-1), 0, 255).astype(np.uint8), 5)
        references = {'stained': score > 20}
        glass_box = np.zeros(image.shape[:2], bool)
        if args.glass_box:
            x, y, w, h = args.glass_box
            glass_box[y:y + h, x:x + w] = True
        rows = {ds: evaluate(image, references, glass_box, ds)
                for ds in args.downsamples}
        report(f'{osp.basename(args.slide)}, {image.shape[1]}x'
               f'{image.shape[0]} px, glass {np.round(glass).tolist()}, '
               f'reference {references["stained"].mean():.3f} of the slide',
               references, rows)


if __name__ == '__main__':
    main()

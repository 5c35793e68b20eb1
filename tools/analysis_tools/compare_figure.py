"""Fig.-3-style comparison of SR models on one HR image.

python tools/analysis_tools/compare_figure.py HR_IMAGE --scale S \\
    --model CONFIG [CHECKPOINT] [--model CONFIG [CHECKPOINT] ...] \\
    --out fig.png [--blur] [--crop X Y W H] [--crop-border N]

The HR image (uint8 RGB ``(H, W, 3)``) is degraded by
:class:`~pathsr.datasets.transforms.BicubicDegradation` (``--blur``: the
ISTE rule), giving the LR ``(h, w, 3)`` and the GT cropped to
``(round(h s), round(w s))``. Columns: LR (nearest-upsampled for display),
Bicubic (torch antialiased bicubic, the ``InterpolationSRModel`` kernel),
each model's SR (:class:`~pathsr.apis.SRInferencer`, ``size`` = the GT's),
GT. The second row holds the per-pixel absolute error, mean over RGB in
grey levels, ``|SR - GT|``, on one colour scale for all panels. Titles give
PSNR (dB), SSIM and the mean CIEDE2000 to GT of the whole image (after
``--crop-border`` pixels); ``--crop`` zooms every panel into one GT-pixel
box. The PNG is ``(columns * panel) x (2 * panel)`` inches at ``--dpi``;
the same numbers are printed as a Markdown table.
"""
import argparse
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pathsr.apis import SRInferencer  # noqa: E402
from pathsr.datasets.transforms import (BicubicDegradation,  # noqa: E402
                                        LoadSRImage, bicubic_resize)
from pathsr.evaluation.metrics import CIEDE2000, PSNR, SSIM  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='LR / Bicubic / models / GT comparison figure with '
        'absolute-error maps')
    parser.add_argument('img', help='HR image file')
    parser.add_argument('--scale', type=float, required=True)
    parser.add_argument(
        '--model',
        nargs='+',
        action='append',
        default=[],
        metavar=('CONFIG', 'CHECKPOINT'),
        help='a model config and its checkpoint (none for Bicubic); repeat '
        'for several models')
    parser.add_argument('--out', required=True, help='PNG file')
    parser.add_argument(
        '--blur', action='store_true', help='ISTE degradation (blur first)')
    parser.add_argument(
        '--crop',
        type=int,
        nargs=4,
        metavar=('X', 'Y', 'W', 'H'),
        help='zoom box in GT pixels')
    parser.add_argument(
        '--crop-border',
        type=int,
        default=0,
        help='GT pixels removed from each border for the metrics')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--panel', type=float, default=3.0,
                        help='panel side in inches')
    parser.add_argument('--dpi', type=int, default=100)
    args = parser.parse_args()
    for model in args.model:
        if len(model) > 2:
            parser.error(f'--model takes CONFIG [CHECKPOINT], got {model}')
    return args


def score(sr: np.ndarray, gt: np.ndarray,
          crop_border: int) -> Dict[str, float]:
    """PSNR, SSIM (RGB) and mean CIEDE2000 of uint8 ``(H, W, 3)`` images."""
    sample = dict(
        pred_img=torch.from_numpy(sr).permute(2, 0, 1).double() / 255,
        gt_img=torch.from_numpy(gt).permute(2, 0, 1).double() / 255,
        gt_path='image')
    values = {}
    for metric in (PSNR(crop_border), SSIM(crop_border),
                   CIEDE2000(crop_border, with_lr=False)):
        metric.process(None, [sample])
        values.update(metric.compute_metrics(metric.results))
    return values


def make_panels(img: np.ndarray, scale: float, blur: bool,
                models: Sequence[Sequence[str]], device: str
                ) -> Tuple[np.ndarray, np.ndarray, List[Tuple[str,
                                                             np.ndarray]]]:
    """The LR, the GT and ``(name, SR)`` of Bicubic and each model."""
    results = BicubicDegradation(scale, blur=blur).transform(dict(gt=img))
    lr, gt = results['lr'], results['gt']
    outputs = [('Bicubic', bicubic_resize(lr, gt.shape[:2], 'torch'))]
    for model in models:
        inferencer = SRInferencer(model[0], model[1] if len(model) > 1
                                  else None, device=device)
        outputs.append((Path(model[0]).stem,
                        inferencer(lr, size=gt.shape[:2])[0]))
    return lr, gt, outputs


def draw(lr: np.ndarray, gt: np.ndarray,
         outputs: List[Tuple[str, np.ndarray]],
         scores: List[Dict[str, float]], crop: Optional[Sequence[int]],
         panel: float, dpi: int) -> plt.Figure:
    """The two-row figure (images, then absolute errors)."""
    height, width = gt.shape[:2]
    rows = np.minimum(np.arange(height) * lr.shape[0] // height,
                      lr.shape[0] - 1)
    cols = np.minimum(np.arange(width) * lr.shape[1] // width,
                      lr.shape[1] - 1)
    columns = [('LR (nearest)', lr[rows][:, cols], None)]
    columns += [(f'{name}\n{s["PSNR"]:.2f} dB / {s["SSIM"]:.4f} / '
                 f'$\\Delta E_{{00}}$ {s["CIEDE2000"]:.2f}', sr,
                 np.abs(sr.astype(np.float32) - gt).mean(-1))
                for (name, sr), s in zip(outputs, scores)]
    columns.append(('GT', gt, None))
    box = (slice(None), slice(None))
    if crop is not None:
        x, y, w, h = crop
        if w < 1 or h < 1 or x < 0 or y < 0 or x + w > width \
                or y + h > height:
            raise ValueError(f'--crop {crop} is not inside the '
                             f'{width}x{height} GT')
        box = (slice(y, y + h), slice(x, x + w))
    err_max = max(float(err[box].max()) for _, _, err in columns
                  if err is not None) or 1.0
    fig, axes = plt.subplots(
        2, len(columns), figsize=(len(columns) * panel, 2 * panel),
        dpi=dpi, squeeze=False, layout='constrained')
    image = None
    for (title, img, err), top, bottom in zip(columns, *axes):
        top.imshow(img[box], interpolation='nearest')
        top.set_title(title, fontsize=8)
        if err is not None:
            image = bottom.imshow(err[box], cmap='inferno', vmin=0,
                                  vmax=err_max, interpolation='nearest')
            bottom.set_title('|SR - GT|', fontsize=8)
        for ax in (top, bottom):
            ax.set_axis_off()
    fig.colorbar(image, ax=list(axes[1]), shrink=0.8,
                 label='absolute error (grey levels)')
    return fig


def main() -> None:
    args = parse_args()
    img = LoadSRImage(key='gt').transform(dict(gt_path=args.img))['gt']
    lr, gt, outputs = make_panels(img, args.scale, args.blur, args.model,
                                  args.device)
    scores = [score(sr, gt, args.crop_border) for _, sr in outputs]
    fig = draw(lr, gt, outputs, scores, args.crop, args.panel, args.dpi)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=args.dpi)
    plt.close(fig)
    print(f'| x{args.scale:g} | PSNR | SSIM | CIEDE2000 |\n| --- | --- | --- '
          '| --- |')
    for (name, _), s in zip(outputs, scores):
        print(f'| {name} | {s["PSNR"]:.2f} | {s["SSIM"]:.4f} | '
              f'{s["CIEDE2000"]:.4f} |')
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()

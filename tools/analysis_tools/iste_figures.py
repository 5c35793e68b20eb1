"""The ISTE figures that need model internals (Qu et al., MICCAI 2023).

python tools/analysis_tools/iste_figures.py CONFIG IMAGE \\
    (--checkpoint FILE | --random-init) [--scale 4] [--crop 128] \\
    [--out-dir DIR] [--cfg-options KEY=VALUE ...]

``IMAGE`` is an HR (ground-truth) image; its LR is made by the config's
test degradation (``BicubicDegradation`` of the test pipeline, with its
``blur``) at ``--scale``, after an optional centre ``--crop``. For the
stem ``S`` of the image and the scale ``X`` the script writes to
``--out-dir``:

- ``S_xX_lr.png``, ``S_xX_sr.png``, ``S_xX_gt.png``: the LR input, ISTE's
  output and the (cropped) ground truth;
- ``S_xX_pixel_decoder.png``: the Local Pixel Decoder's RGB alone, blended
  by the local ensemble (Fig. 4B and Fig. 7, "pixel" branch);
- ``S_xX_texture_decoder.png``: the Local Texture Decoder's RGB alone,
  blended the same way. It is a signed correction around 0, shown as
  ``0.5 + t / (2 max |t|)`` (grey = 0); ``max |t|`` is printed;
- with STF, ``S_xX_stf_keys.png`` (Fig. 4B b4): for each query, the
  position of the texture its STF retrieved (the nearest ensemble code),
  coloured red by its row and green by its column in the image (blue 0.5),
  so a query that retrieves its own neighbourhood has the colour of the
  query-position map ``S_xX_stf_positions.png``; and
  ``S_xX_stf_score.png``, the cosine similarity of that retrieval
  (``[-1, 1]`` to black-white).

A summary (sizes, ``max |t|``, mean score and the share of queries whose key
lies within one LR pixel) is printed as JSON. The model is the config's,
with ``--checkpoint`` weights, or randomly initialised with
``--random-init`` (never silently).
"""
import argparse
import json
from pathlib import Path
from typing import Dict, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config, DictAction

from pathsr.datasets.transforms import BicubicDegradation
from pathsr.models.heads import ISTEHead
from pathsr.models.heads.local_ensemble import bilinear_skip
from pathsr.structures import SRDataSample, make_coord
from pathsr.utils.benchmark import (add_weights_args, build_measured_model,
                                    parse_weights_args)
from pathsr.utils.cli import run_main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='ISTE decoder outputs and STF retrieval maps as PNG')
    parser.add_argument('config', help='config of an ISTE model')
    parser.add_argument('image', help='HR (ground-truth) image')
    add_weights_args(parser)
    parser.add_argument('--scale', type=float, default=4.0,
                        help='SR scale (LR = HR / scale)')
    parser.add_argument('--crop', type=int, default=None,
                        help='centre crop of the HR image, in pixels')
    parser.add_argument('--out-dir', default='work_dirs/iste_figures',
                        help='folder of the PNGs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    return parse_weights_args(parser)


def load_pair(path: Path, scale: float, crop: int,
              blur: bool) -> Tuple[np.ndarray, np.ndarray]:
    """The (cropped) HR image and its LR, uint8 RGB ``(H, W, 3)``."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'{path}: not a readable image')
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if crop is not None:
        height, width = img.shape[:2]
        if not 0 < crop <= min(height, width):
            raise ValueError(f'--crop {crop} must be in [1, '
                             f'{min(height, width)}] for {path} '
                             f'({height}x{width})')
        top, left = (height - crop) // 2, (width - crop) // 2
        img = img[top:top + crop, left:left + crop]
    results = BicubicDegradation(scale, blur=blur).transform(
        dict(gt=img, gt_path=str(path)))
    return results['gt'], results['lr']


@torch.no_grad()
def decompose(model: torch.nn.Module, lr: np.ndarray,
              out_shape: Tuple[int, int]) -> Dict[str, np.ndarray]:
    """ISTE's output and its parts for one LR image ``(h, w, 3)`` uint8 at
    ``out_shape``, decoded in ``model.eval_chunk`` queries as ``predict``
    does: ``sr``, ``pixel_rgb``, ``texture_rgb`` ``(H, W, 3)`` (network
    outputs, normalised, before the image mapping), and with STF
    ``key_coord`` ``(H, W, 2)`` and ``score`` ``(H, W)`` of the nearest
    ensemble code."""
    head = model.head
    if not isinstance(head, ISTEHead):
        raise TypeError(f'the model head is {type(head).__name__}, not '
                        'ISTEHead: these figures need ISTE')
    height, width = out_shape
    tensor = torch.from_numpy(lr).permute(2, 0, 1).contiguous()
    sample = SRDataSample(metainfo=dict(lr_shape=lr.shape[:2],
                                        out_shape=out_shape,
                                        scale=height / lr.shape[0]))
    data = model.data_preprocessor(dict(inputs=[tensor],
                                        data_samples=[sample]))
    inputs = data['inputs'][..., :lr.shape[0], :lr.shape[1]]
    state = head.prepare(model.encoder(data['inputs'])[
        ..., :lr.shape[0], :lr.shape[1]], inputs)
    cell = inputs.new_tensor([2 / height, 2 / width])
    if model.cell_clip_scale is not None:
        scale = max(height / lr.shape[0], width / lr.shape[1])
        cell = cell * max(scale / model.cell_clip_scale, 1.0)
    parts: Dict[str, list] = {}
    for start in range(0, height * width, model.eval_chunk):
        coord = make_coord(out_shape, inputs.device, inputs.dtype, start,
                           start + model.eval_chunk)[None]
        out = head.decode(state, coord, cell.expand_as(coord))
        weight = out['weight'][..., None]
        chunk = dict(pixel_rgb=(out['pixel_rgb'] * weight).sum(1))
        if 'texture_rgb' in out:
            chunk['texture_rgb'] = (out['texture_rgb'] * weight).sum(1)
        if 'key_coord' in out:
            nearest = out['weight'].argmax(1, keepdim=True)  # (1, 1, N)
            chunk['key_coord'] = out['key_coord'].gather(
                1, nearest[..., None].expand(-1, -1, -1, 2))[:, 0]
            chunk['score'] = out['score'].gather(1, nearest)[:, 0]
        for key, value in chunk.items():
            parts.setdefault(key, []).append(value[0])
    result = {
        key: torch.cat(value).view(height, width, -1).squeeze(-1).numpy()
        for key, value in parts.items()
    }
    result['sr'] = result['pixel_rgb'] + result.get('texture_rgb', 0)
    if head.image_skip:
        grid = make_coord(out_shape, inputs.device, inputs.dtype)[None]
        result['sr'] = result['sr'] + bilinear_skip(
            inputs, grid)[0].view(height, width, 3).numpy()
    return result


def _save(path: Path, rgb: np.ndarray) -> None:
    """Write ``rgb`` ``(H, W, 3)`` or grey ``(H, W)`` in ``[0, 1]``."""
    img = np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), img):
        raise OSError(f'{path}: could not be written')


def position_colours(coord: np.ndarray) -> np.ndarray:
    """``(H, W, 2)`` coordinates in ``[-1, 1]`` -> RGB: red the row, green
    the column, blue 0.5."""
    rgb = np.full(coord.shape[:2] + (3, ), 0.5, dtype=np.float32)
    rgb[..., :2] = (coord + 1) / 2
    return rgb


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    blur = next((t.get('blur', False)
                 for t in cfg.test_dataloader.dataset.pipeline
                 if t['type'] == 'BicubicDegradation'), True)
    gt, lr = load_pair(Path(args.image), args.scale, args.crop, blur)
    model = build_measured_model(cfg, args.checkpoint, args.random_init,
                                 torch.device('cpu'))
    parts = decompose(model, lr, gt.shape[:2])
    mean = model.data_preprocessor.mean.view(3).numpy()
    std = model.data_preprocessor.std.view(3).numpy()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f'{Path(args.image).stem}_x{args.scale:g}'
    _save(out_dir / f'{name}_lr.png', lr / 255)
    _save(out_dir / f'{name}_gt.png', gt / 255)
    _save(out_dir / f'{name}_sr.png', parts['sr'] * std + mean)
    _save(out_dir / f'{name}_pixel_decoder.png',
          parts['pixel_rgb'] * std + mean)
    summary = dict(image=args.image, scale=args.scale, lr_shape=lr.shape[:2],
                   out_shape=gt.shape[:2], blur=blur)
    if 'texture_rgb' in parts:
        peak = float(np.abs(parts['texture_rgb']).max())
        summary['texture_max_abs'] = peak
        _save(out_dir / f'{name}_texture_decoder.png',
              0.5 + parts['texture_rgb'] / (2 * max(peak, 1e-12)))
    if 'key_coord' in parts:
        height, width = gt.shape[:2]
        query = make_coord((height, width)).view(height, width, 2).numpy()
        _save(out_dir / f'{name}_stf_keys.png',
              position_colours(parts['key_coord']))
        _save(out_dir / f'{name}_stf_positions.png', position_colours(query))
        _save(out_dir / f'{name}_stf_score.png', (parts['score'] + 1) / 2)
        lr_pixels = np.abs(parts['key_coord'] - query) / 2 * np.array(
            lr.shape[:2])
        summary.update(
            stf_mode=model.head.stf_mode,
            mean_score=float(parts['score'].mean()),
            keys_within_one_lr_pixel=float((lr_pixels.max(-1) <= 1).mean()))
    summary['files'] = sorted(p.name for p in out_dir.glob(f'{name}_*.png'))
    print(json.dumps(summary, indent=1))


if __name__ == '__main__':
    run_main(main)

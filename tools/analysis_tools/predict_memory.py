"""Peak memory of an implicit model's ``predict`` on one large input.

    python tools/analysis_tools/predict_memory.py CONFIG --random-init \
        --lr-size 512 --scale 8 --chunk 30000 [--device cuda] \
        [--cfg-options model.head.stf_mode=faithful]

On CUDA the peak is ``torch.cuda.max_memory_allocated``; on the CPU it is the
growth of the process's peak resident memory (``ru_maxrss``) during the call,
after a warm-up on a small input. The report splits it into the output image
(``H * W * 3`` float32, which ``predict`` must hold), the encoder features and
the rest, which the query chunk bounds. Weights do not change memory, so a
randomly initialised model is allowed, but only with ``--random-init``.
"""
import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import load_checkpoint  # noqa: E402

from pathsr.registry import MODELS  # noqa: E402
from pathsr.structures import SRDataSample, output_shape  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='weights to load')
    parser.add_argument(
        '--random-init',
        action='store_true',
        help='measure a randomly initialised model (no checkpoint)')
    parser.add_argument('--lr-size', type=int, default=512)
    parser.add_argument('--scale', type=float, default=8.0)
    parser.add_argument('--chunk', type=int, help='queries per chunk')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', help='JSON file for the figures')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. model.head.stf_mode=faithful')
    args = parser.parse_args()
    if not args.checkpoint and not args.random_init:
        parser.error('give --checkpoint, or --random-init to measure a '
                     'randomly initialised model')
    return args


def peak_bytes(device: str) -> int:
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated(device)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def predict(model, size: int, scale: float, device: str) -> float:
    lr = torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
    sample = SRDataSample(
        metainfo=dict(
            lr_shape=(size, size),
            scale=scale,
            out_shape=output_shape((size, size), scale)))
    data = model.data_preprocessor(
        dict(inputs=[lr.to(device)], data_samples=[sample]))
    start = time.perf_counter()
    model(**data, mode='predict')
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def main() -> None:
    args = parse_args()
    init_default_scope('pathsr')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = MODELS.build(cfg.model).to(args.device).eval()
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location=args.device)
    if args.chunk:
        model.eval_chunk = args.chunk
    predict(model, 16, args.scale, args.device)  # warm-up
    if args.device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats(args.device)
    before = peak_bytes(args.device)
    seconds = predict(model, args.lr_size, args.scale, args.device)
    peak = peak_bytes(args.device) - (0 if args.device.startswith('cuda')
                                      else before)
    height, width = output_shape((args.lr_size, args.lr_size), args.scale)
    features = model.encoder.out_channels * args.lr_size**2 * 4
    report = dict(
        config=args.config,
        cfg_options=args.cfg_options or {},
        device=args.device,
        lr_size=args.lr_size,
        scale=args.scale,
        out_shape=[height, width],
        eval_chunk=model.eval_chunk,
        seconds=round(seconds, 2),
        peak_mib=round(peak / 2**20, 1),
        output_image_mib=round(height * width * 3 * 4 / 2**20, 1),
        encoder_features_mib=round(features / 2**20, 1))
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == '__main__':
    main()

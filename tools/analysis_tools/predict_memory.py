"""Peak memory of an implicit model's ``predict`` on one large input.

    python tools/analysis_tools/predict_memory.py CONFIG --random-init \
        --lr-size 512 --scale 8 --chunk 30000 [--device cuda] \
        [--cfg-options model.head.stf_mode=faithful]

The peak is :func:`pathsr.utils.benchmark.peak_memory`'s:
``torch.cuda.max_memory_allocated`` on CUDA, on the CPU the growth of the
process's peak resident memory during the call, after a warm-up on a small
input. The report splits it into the output image
(``H * W * 3`` float32, which ``predict`` must hold), the encoder features and
the rest, which the query chunk bounds. Weights do not change memory, so a
randomly initialised model is allowed, but only with ``--random-init``.
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from pathsr.structures import output_shape  # noqa: E402
from pathsr.utils import load_config  # noqa: E402
from pathsr.utils.benchmark import (add_weights_args,  # noqa: E402
                                    build_measured_model,
                                    parse_weights_args, peak_memory,
                                    random_predict_batch, synchronize)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    add_weights_args(parser)
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
    return parse_weights_args(parser)


def predict(model: torch.nn.Module, size: int, scale: float,
            device: torch.device) -> float:
    """Seconds of one ``predict`` of a random ``size`` x ``size`` LR image at
    ``scale``."""
    data = model.data_preprocessor(random_predict_batch(
        size, scale, output_shape((size, size), scale), device))
    start = time.perf_counter()
    with torch.no_grad():
        model(**data, mode='predict')
    synchronize(device)
    return time.perf_counter() - start


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    model = build_measured_model(
        load_config(args.config, args.cfg_options), args.checkpoint,
        args.random_init, device)
    if args.chunk:
        model.eval_chunk = args.chunk
    predict(model, 16, args.scale, device)  # warm-up
    with peak_memory(device) as memory:
        seconds = predict(model, args.lr_size, args.scale, device)
    peak = memory['bytes']
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

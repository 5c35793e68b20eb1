"""Evaluate a pathsr model: python tools/test.py CONFIG [CHECKPOINT] [options].

Models without parameters (Bicubic) need no checkpoint. ``--out`` writes the
mean metrics and the per-image values as JSON.
"""
import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmengine.dist import is_main_process  # noqa: E402
from mmengine.model import is_model_wrapper  # noqa: E402

from pathsr.registry import RUNNERS  # noqa: E402
from pathsr.utils import (load_config, setup_cpu_distributed,  # noqa: E402
                          teardown_distributed)
from pathsr.utils.cli import base_parser, parse, run_main  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = base_parser('Test a pathsr model')
    parser.add_argument(
        'checkpoint', nargs='?', help='checkpoint file (not for Bicubic)')
    parser.add_argument(
        '--out', help='JSON file for the mean and per-image metrics')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='predict under bf16 autocast (fp16 on GPUs without bf16)')
    return parse(parser)


def check_out(path: str) -> None:
    """Refuse an ``--out`` that could not be written, before the evaluation
    rather than after it: a folder, or a place where no file can be made."""
    out = Path(path)
    if out.is_dir():
        raise IsADirectoryError(
            f'--out {path} is a folder: give the name of a JSON file')
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(error.errno, f'--out {path}: cannot make its folder '
                      f'{out.parent} ({error.strerror})') from error
    if not os.access(out.parent, os.W_OK) or (out.exists()
                                              and not os.access(out, os.W_OK)):
        raise PermissionError(f'--out {path}: no permission to write there')


def main() -> None:
    args = parse_args()
    if args.out:
        check_out(args.out)
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    cfg.load_from = args.checkpoint
    setup_cpu_distributed(cfg, args.launcher)
    runner = RUNNERS.build(cfg)
    if args.checkpoint is None and any(
            p.numel() for p in runner.model.parameters()):
        raise ValueError(
            f'{args.config} builds a model with trainable parameters: give '
            'the checkpoint to evaluate (tools/test.py CONFIG CHECKPOINT)')
    if args.amp:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        model.amp_predict = True
    metrics = runner.test()
    if args.out and is_main_process():
        loop = runner.test_loop
        evaluators = getattr(loop, 'evaluators', {None: loop.evaluator})
        # per-image values of image metrics; backend and versions of
        # set-level metrics (FID), both per scale in multi-scale tests
        per_image, metric_info = {}, {}
        for scale, evaluator in evaluators.items():
            prefix = '' if scale is None else f'x{scale:g}/'
            for metric in evaluator.metrics:
                name = prefix + type(metric).__name__
                if hasattr(metric, 'per_image_results'):
                    per_image[name] = metric.per_image_results
                if getattr(metric, 'backend_info', None):
                    metric_info[name] = metric.backend_info
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(
                dict(
                    config=args.config,
                    checkpoint=args.checkpoint,
                    amp=args.amp,
                    metrics=metrics,
                    metric_info=metric_info,
                    per_image=per_image),
                f,
                indent=2)
    teardown_distributed()


if __name__ == '__main__':
    run_main(main)

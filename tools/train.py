"""Train a pathsr model: python tools/train.py CONFIG [options]."""
import argparse
import sys
from pathlib import Path

# make `projects.<name>` importable for configs that custom_import them
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pathsr.registry import RUNNERS  # noqa: E402
from pathsr.utils import (enable_amp, load_config,  # noqa: E402
                          setup_cpu_distributed, teardown_distributed)
from pathsr.utils.cli import base_parser, parse, run_main  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = base_parser('Train a pathsr model')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        help='resume from the latest checkpoint in the work dir, or from the '
        'given checkpoint file')
    parser.add_argument(
        '--amp', action='store_true', help='mixed-precision training (GPU)')
    return parse(parser)


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.launcher)
    if args.amp:
        enable_amp(cfg)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    setup_cpu_distributed(cfg, args.launcher)
    runner = RUNNERS.build(cfg)
    runner.train()
    teardown_distributed()


if __name__ == '__main__':
    run_main(main)

"""The command-line arguments that tools/train.py and tools/test.py share."""
import argparse
import os

from mmengine.config import DictAction


def base_parser(description: str) -> argparse.ArgumentParser:
    """A parser with ``config``, ``--work-dir``, ``--cfg-options``,
    ``--launcher`` and ``--local-rank``.

    ``torch.distributed.launch`` passes ``--local-rank`` (or the older
    ``--local_rank``); torchrun sets ``LOCAL_RANK``. :func:`parse` keeps the
    environment's value and fills it from the flag only when it is missing.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and outputs go')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. data_root=/data/tiles '
        'train_cfg.max_iters=1000')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def parse(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line and export ``LOCAL_RANK`` if it is unset."""
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args

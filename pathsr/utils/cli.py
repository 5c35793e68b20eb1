"""The command-line arguments that tools/train.py and tools/test.py share,
and the one-line error report of every tool."""
import argparse
import difflib
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional

from mmengine.config import DictAction

DEBUG_ENV = 'PATHSR_DEBUG'


class KeyValueAction(DictAction):
    """mmengine's ``DictAction`` (``KEY=VALUE`` pairs into a dict) that
    names an item without ``=`` instead of failing on it with a bare
    ``ValueError``."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = values if isinstance(values, list) else [values]
        for item in items:
            if '=' not in item:
                parser.error(f'{option_string} {item!r}: expected KEY=VALUE '
                             '(e.g. train_cfg.max_iters=1000)')
        super().__call__(parser, namespace, values, option_string)


def base_parser(description: str) -> argparse.ArgumentParser:
    """A parser with ``config``, ``--work-dir``, ``--cfg-options``,
    ``--launcher``, ``--local-rank`` and ``--debug`` (read by
    :func:`run_main`, listed here for ``--help``).

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
        action=KeyValueAction,
        help='override config keys, e.g. data_root=/data/tiles '
        'train_cfg.max_iters=1000')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--debug',
        action='store_true',
        help=f'show the traceback of a failure instead of one line (or set '
        f'{DEBUG_ENV}=1)')
    return parser


def parse(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line and export ``LOCAL_RANK`` if it is unset."""
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def debug_requested(argv: Optional[List[str]] = None) -> bool:
    """Whether ``--debug`` is in ``argv`` (default ``sys.argv``) or the
    environment variable ``PATHSR_DEBUG`` is set to anything but ``0``."""
    argv = sys.argv if argv is None else argv
    return '--debug' in argv or os.environ.get(DEBUG_ENV, '0') not in ('',
                                                                        '0')


_UNKNOWN_TYPE = re.compile(r'(\S+) is not in the (\w+)::(\w+) registry')


def registry_hint(message: str) -> str:
    """For a message of mmengine's registry (``NAME is not in the
    SCOPE::REGISTRY registry``), the closest names that the registry (and
    its parents) hold, as ``'; close matches in pathsr::model: EDSR'``;
    ``''`` for another message."""
    match = _UNKNOWN_TYPE.search(message)
    if match is None:
        return ''
    from mmengine.registry import Registry

    import pathsr.registry
    name, scope, registry_name = match.groups()
    names = set()
    for registry in vars(pathsr.registry).values():
        if isinstance(registry, Registry) and registry.name == registry_name:
            while registry is not None:
                registry.import_from_location()
                names.update(registry.module_dict)
                registry = registry.parent
    close = difflib.get_close_matches(name.strip('`\''), sorted(names), n=3)
    if not close:
        return f'; no close match among the {len(names)} {registry_name}s'
    return f'; close matches in {scope}::{registry_name}: {", ".join(close)}'


def run_main(main: Callable[[], Any], prog: Optional[str] = None) -> None:
    """Run a tool's ``main`` so that a failure ends in one message, not a
    traceback.

    Any exception other than ``SystemExit`` is printed to stderr as
    ``PROG: error: TYPE: MESSAGE`` (the message names the file, key or value)
    and the process exits with status 1; ``KeyboardInterrupt`` exits with 130.
    ``--debug`` on the command line (removed from ``sys.argv`` before ``main``
    parses it) or ``PATHSR_DEBUG=1`` lets the exception propagate with its
    traceback.
    """
    prog = prog or Path(sys.argv[0]).name
    debug = debug_requested()
    while '--debug' in sys.argv:
        sys.argv.remove('--debug')
    try:
        main()
    except KeyboardInterrupt:
        if debug:
            raise
        print(f'{prog}: interrupted', file=sys.stderr)
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - the one-line report
        if debug:
            raise
        message = error.args[0] if isinstance(error, KeyError) and \
            error.args and isinstance(error.args[0], str) else str(error)
        message = (message or repr(error)) + registry_hint(message)
        print(f'{prog}: error: {type(error).__name__}: {message}\n'
              f'(run with --debug or {DEBUG_ENV}=1 for the traceback)',
              file=sys.stderr)
        sys.exit(1)

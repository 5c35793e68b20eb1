"""Super-resolve images, folders or slide regions: python tools/infer.py -h.

A thin wrapper of :func:`pathsr.apis.cli.main`, the ``pathsr-infer``
console script; ``docs/inference.md`` has the options and examples. With
``--launcher pytorch`` or ``slurm`` (``tools/dist_infer.sh``,
``tools/slurm_infer.sh``) several processes share the work
(``docs/distributed.md``).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pathsr.apis.cli import main  # noqa: E402

if __name__ == '__main__':
    main()

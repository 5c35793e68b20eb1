"""Plot metrics against the SR scale from multi-scale test runs.

python tools/analysis_tools/plot_scales.py RUN.json [RUN.json ...] \\
    --out scales.png [--metrics PSNR SSIM] [--labels NAME ...]

Each JSON is a ``tools/test.py --out`` file of a ``MultiScaleTestLoop``
run: its ``metrics`` are keyed ``x<scale>/<metric>`` (``x2/PSNR``,
``x2.5/SSIM``, ``x4/CIEDE2000``...). One subplot per metric, one line per
JSON (label: the config's file name, or ``--labels``), scales on the x
axis. The PNG is ``(5 * metrics) x 4`` inches at ``--dpi``. One Markdown
table per metric is printed: a row per run, a column per scale (``-``
where a run lacks that scale).
"""
import argparse
import json
import re
from pathlib import Path
from typing import Dict, List, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

_KEY = re.compile(r'x(\d+(?:\.\d+)?)/(.+)')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='PSNR/SSIM vs scale from tools/test.py --out JSON files')
    parser.add_argument('runs', nargs='+', help='tools/test.py --out files')
    parser.add_argument('--out', required=True, help='PNG file')
    parser.add_argument(
        '--metrics', nargs='+', default=['PSNR', 'SSIM'],
        help='metric names (default: PSNR SSIM)')
    parser.add_argument('--labels', nargs='+', help='one label per JSON')
    parser.add_argument('--dpi', type=int, default=100)
    args = parser.parse_args()
    if args.labels is not None and len(args.labels) != len(args.runs):
        parser.error(f'{len(args.labels)} labels for {len(args.runs)} runs')
    return args


def load_run(path: str) -> Dict[str, Dict[float, float]]:
    """``{metric: {scale: value}}`` of one ``tools/test.py --out`` file.

    Raises:
        ValueError: No ``x<scale>/<metric>`` key (not a multi-scale run).
    """
    with open(path) as f:
        metrics = json.load(f).get('metrics', {})
    table: Dict[str, Dict[float, float]] = {}
    for key, value in metrics.items():
        match = _KEY.fullmatch(key)
        if match:
            table.setdefault(match.group(2), {})[float(
                match.group(1))] = float(value)
    if not table:
        raise ValueError(
            f'{path} has no metric keyed x<scale>/<metric>: it is not the '
            f'--out file of a multi-scale test (keys: {sorted(metrics)})')
    return table


def _fmt(value: float) -> str:
    return f'{value:.2f}' if abs(value) >= 10 else f'{value:.4f}'


def markdown(metric: str, labels: Sequence[str],
             runs: Sequence[Dict[str, Dict[float, float]]]) -> str:
    """A Markdown table of ``metric``: a row per run, a column per scale."""
    scales = sorted({s for run in runs for s in run.get(metric, {})})
    lines = [[metric] + [f'x{s:g}' for s in scales],
             ['---'] * (len(scales) + 1)]
    for label, run in zip(labels, runs):
        values = run.get(metric, {})
        lines.append([label] + [
            _fmt(values[s]) if s in values else '-' for s in scales
        ])
    return '\n'.join('| ' + ' | '.join(line) + ' |' for line in lines)


def main() -> None:
    args = parse_args()
    runs = [load_run(path) for path in args.runs]
    labels: List[str] = args.labels or []
    if not labels:
        for path in args.runs:
            with open(path) as f:
                config = json.load(f).get('config') or path
            labels.append(Path(config).stem)
    for metric in args.metrics:
        if not any(metric in run for run in runs):
            raise SystemExit(f'no run has the metric {metric}; they have '
                             f'{sorted({m for run in runs for m in run})}')
    fig, axes = plt.subplots(
        1, len(args.metrics), figsize=(5 * len(args.metrics), 4),
        dpi=args.dpi, squeeze=False, layout='constrained')
    for metric, ax in zip(args.metrics, axes[0]):
        for label, run in zip(labels, runs):
            values = sorted(run.get(metric, {}).items())
            if values:
                ax.plot(*zip(*values), marker='o', label=label)
        ax.set_xlabel('scale')
        ax.set_ylabel(f'{metric} (dB)' if metric == 'PSNR' else metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=args.dpi)
    plt.close(fig)
    for metric in args.metrics:
        print(markdown(metric, labels, runs) + '\n')
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()

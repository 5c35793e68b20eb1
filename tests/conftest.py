"""Shared fixtures: the repository root and a runner for the command-line tools."""
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='session')
def repo() -> Path:
    return REPO


def _run_tool(args: List[str], check: bool = True, env: dict = None,
              timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``args`` (a tools/ script and its arguments) from the repository
    root, with this interpreter for Python scripts."""
    if args[0].endswith('.py'):
        args = [sys.executable] + args
    full_env = dict(os.environ, **(env or {}))
    full_env['PATH'] = f'{Path(sys.executable).parent}:{full_env["PATH"]}'
    proc = subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, env=full_env,
        timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(args)} failed with code '
                             f'{proc.returncode}:\n{proc.stdout[-4000:]}\n'
                             f'{proc.stderr[-4000:]}')
    return proc


def _write_tiles(folder: Path, count: int, size: int = 200) -> List[Path]:
    """Write ``count`` smooth, textured RGB tiles of ``size`` px as PNG."""
    import cv2
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    paths = []
    for i in range(count):
        channels = [
            127 + 100 * np.sin(xx / (5 + i + c) + c) * np.cos(yy / (7 + c))
            for c in range(3)
        ]
        img = np.clip(np.stack(channels, -1), 0, 255).astype(np.uint8)
        path = folder / f'tile_{i:02d}.png'
        cv2.imwrite(str(path), img)
        paths.append(path)
    return paths


@pytest.fixture(scope='session')
def run_tool():
    """``run_tool(args, check=True, env=None)`` runs a tool from the repo."""
    return _run_tool


@pytest.fixture(scope='session')
def write_tiles():
    """``write_tiles(folder, count, size=200)`` writes synthetic tiles."""
    return _write_tiles

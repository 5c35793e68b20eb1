"""Shared fixtures: the repository root and a runner for the command-line tools."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable, List

import numpy as np
import pytest
import torch

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


def _load_tool(path: str) -> ModuleType:
    """The script ``path`` of the repository (``tools/...``) imported as a
    module, for tests that call its functions."""
    spec = importlib.util.spec_from_file_location(Path(path).stem,
                                                  REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def load_tool() -> Callable[[str], ModuleType]:
    """``load_tool('tools/...py')`` imports a tool script as a module."""
    return _load_tool


@pytest.fixture(scope='session')
def demo_slide_tool() -> ModuleType:
    """``tools/dataset_converters/make_demo_slide.py`` (synthetic H&E
    images and pyramidal TIFF slides)."""
    return _load_tool('tools/dataset_converters/make_demo_slide.py')


@pytest.fixture(scope='session')
def demo_slide(demo_slide_tool, tmp_path_factory) -> Path:
    """A 256x192 synthetic slide at 0.25 um/px with 3 levels."""
    path = tmp_path_factory.mktemp('slide') / 'slide.tiff'
    demo_slide_tool.write_pyramid(
        str(path), demo_slide_tool.make_demo_image((256, 192), seed=0))
    return path


@pytest.fixture(scope='session')
def write_tiles():
    """``write_tiles(folder, count, size=200)`` writes synthetic tiles."""
    return _write_tiles


# a LIIF small enough for tests of the inference tools (EDSR 2 x 16, MLP 32)
TINY_LIIF = dict(
    type='ImplicitSRModel',
    encoder=dict(
        type='EDSR',
        arch=None,
        upscale_factor=None,
        num_blocks=2,
        mid_channels=16,
        res_scale=1.0),
    head=dict(
        type='LIIFHead',
        imnet=dict(type='MLP', out_dim=3, hidden_list=[32, 32])))


def _write_model(folder: Path, name: str, model_cfg: dict,
                 infer_cfg: dict = None) -> tuple:
    """A config file for ``model_cfg`` and a checkpoint of its randomly
    initialised weights (seed 0): ``(config, checkpoint, model.eval())``."""
    from mmengine.registry import init_default_scope

    from pathsr.registry import MODELS
    config = folder / f'{name}.py'
    text = f"default_scope = 'pathsr'\nmodel = {model_cfg!r}\n"
    if infer_cfg is not None:
        text += f'infer_cfg = {infer_cfg!r}\n'
    config.write_text(text)
    init_default_scope('pathsr')
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    checkpoint = folder / f'{name}.pth'
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), checkpoint)
    return str(config), str(checkpoint), model.eval()


@pytest.fixture(scope='session')
def write_model():
    """``write_model(folder, name, model_cfg, infer_cfg=None)`` writes a
    config and a random-init checkpoint: ``(config, checkpoint, model)``."""
    return _write_model


@pytest.fixture
def tiny_liif_cfg() -> dict:
    """The config dict of a tiny LIIF (a fresh copy)."""
    import copy
    return copy.deepcopy(TINY_LIIF)


@pytest.fixture(scope='module')
def liif(tmp_path_factory):
    """A tiny LIIF config, its random-init checkpoint and the model."""
    import copy
    return _write_model(
        tmp_path_factory.mktemp('liif'), 'liif', copy.deepcopy(TINY_LIIF))

from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest


@pytest.fixture
def write_rgb() -> Callable[[Path, np.ndarray], str]:
    """Return a function writing an RGB (or grey) uint8 array with cv2."""

    def write(path: Path, img: np.ndarray) -> str:
        if img.ndim == 3:
            img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        assert cv2.imwrite(str(path), img)
        return str(path)

    return write


@pytest.fixture
def smooth_rgb() -> np.ndarray:
    """A smooth, non-symmetric (48, 60, 3) uint8 RGB image."""
    yy, xx = np.mgrid[0:48, 0:60].astype(np.float64)
    red = 127 + 120 * np.sin(xx / 5 + yy / 7)
    green = 127 + 100 * np.cos(yy / 4)
    blue = xx * 4 + yy
    img = np.stack([red, green, blue], axis=-1)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)

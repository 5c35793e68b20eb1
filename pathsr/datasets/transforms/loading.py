"""``LoadSRImage``: read an image file into a uint8 RGB array."""
from typing import Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio

from pathsr.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadSRImage(BaseTransform):
    """Load the image at ``results[f'{key}_path']`` as uint8 RGB (H, W, 3).

    The bytes are read with :func:`mmengine.fileio.get` and decoded by
    OpenCV with ``IMREAD_UNCHANGED``; whatever the file holds, the output is
    brought to uint8 RGB with these rules:

    - 8-bit and 16-bit images only; 16-bit values ``x`` become
      ``round(x / 257)`` (so 65535 -> 255). Float or signed images raise
      ``ValueError``.
    - Grey images (2-D or one channel) are replicated to three channels.
    - BGR is turned into RGB.
    - RGBA images (four channels, as slide readers often write them) are
      composited on white, ``out = rgb * a + 255 * (1 - a)`` with
      ``a = alpha / max_value`` in [0, 1], and rounded to the nearest integer
      (for 16-bit RGBA the composite is computed before the 8-bit scaling).
    - Any other channel count raises ``ValueError``.

    Required keys: ``f'{key}_path'`` (str).
    Added keys: ``key`` (np.uint8, (H, W, 3), RGB) and ``f'{key}_ori_shape'``
    (tuple ``(H, W)``).

    Args:
        key (str): Name of the image, ``'gt'`` or ``'lr'``. Defaults to
            ``'gt'``.
        backend_args (dict, optional): Arguments to instantiate the file
            backend of :func:`mmengine.fileio.get`. Defaults to None (local
            files).

    Raises:
        KeyError: ``results`` has no ``f'{key}_path'``.
        FileNotFoundError: The file does not exist; the message names it.
        ValueError: The file cannot be decoded (corrupt, truncated, not an
            image) or has an unsupported dtype or channel count; the message
            names the file.
    """

    def __init__(self,
                 key: str = 'gt',
                 backend_args: Optional[dict] = None) -> None:
        self.key = key
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        """Read ``results[f'{key}_path']`` into ``results[key]``."""
        path_key = f'{self.key}_path'
        if path_key not in results:
            raise KeyError(f'LoadSRImage(key={self.key!r}) needs the key '
                           f'{path_key!r}, but the results only have the keys '
                           f'{sorted(results)}')
        path = results[path_key]
        try:
            data = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError as error:
            raise FileNotFoundError(f'image file not found: {path}') from error
        try:
            img = cv2.imdecode(
                np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        except cv2.error as error:
            raise ValueError(f'cannot decode image {path}: {error}') from error
        if img is None:
            raise ValueError(f'cannot decode image {path}: the file is '
                             'corrupt, truncated or not an image')
        img = self._to_rgb_uint8(img, path)
        results[self.key] = img
        results[f'{self.key}_ori_shape'] = img.shape[:2]
        return results

    @staticmethod
    def _to_rgb_uint8(img: np.ndarray, path: str) -> np.ndarray:
        """Bring a decoded (H, W[, C]) BGR(A)/grey array to uint8 RGB."""
        if img.dtype not in (np.uint8, np.uint16):
            raise ValueError(f'cannot load image {path}: unsupported dtype '
                             f'{img.dtype}, expected 8-bit or 16-bit')
        if img.ndim == 2:
            img = img[:, :, None]
        channels = img.shape[2]
        if channels == 1:
            img = np.repeat(img, 3, axis=2)
        elif channels == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        elif channels == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
        else:
            raise ValueError(f'cannot load image {path}: unsupported number '
                             f'of channels {channels}, expected 1, 3 or 4')
        if channels != 4 and img.dtype == np.uint8:
            return img
        max_value = float(np.iinfo(img.dtype).max)
        values = img[..., :3].astype(np.float32)
        if channels == 4:
            alpha = img[..., 3:].astype(np.float32) / max_value
            values = values * alpha + max_value * (1 - alpha)
        values /= max_value / 255
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(key={self.key!r}, '
                f'backend_args={self.backend_args})')

"""Bicubic degradation: make the LR input from the HR image."""
import math
import numbers
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from PIL import Image, ImageFilter

from pathsr.registry import TRANSFORMS

BACKENDS = ('pillow', 'torch')


def check_scale(scale: object, where: str) -> float:
    """Return ``scale`` as a float if it is a finite number in (1, 64].

    Args:
        scale: The value to check.
        where: What holds the value, for the error message.
    """
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) \
            or not math.isfinite(scale) or not 1 < scale <= 64:
        raise ValueError(f'{where}: scale must be a finite number > 1 and '
                         f'<= 64, got {scale!r}')
    return float(scale)


def bicubic_resize(img: np.ndarray,
                   size: Tuple[int, int],
                   backend: str = 'pillow') -> np.ndarray:
    """Resize a uint8 image with antialiased bicubic interpolation.

    ``'pillow'`` runs PIL's ``Image.resize(..., Image.BICUBIC)`` on the uint8
    image (the LR making of LIIF and ISTE). ``'torch'`` runs
    ``F.interpolate(mode='bicubic', antialias=True, align_corners=False)`` in
    float32, then rounds and clips to uint8; it reproduces PIL within 1-2 grey
    levels (PIL also rounds and clips between its horizontal and vertical
    passes, which matters more for overshoots when upscaling sharp edges).

    Args:
        img (np.ndarray): uint8 image, (H, W) or (H, W, 3).
        size (tuple[int, int]): Output size ``(h, w)``.
        backend (str): ``'pillow'`` or ``'torch'``. Defaults to ``'pillow'``.

    Returns:
        np.ndarray: uint8 image, (h, w) or (h, w, 3).
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    if img.dtype != np.uint8 or not (img.ndim == 2 or
                                     (img.ndim == 3 and img.shape[2] == 3)):
        raise ValueError('bicubic_resize expects a uint8 (H, W) or (H, W, 3) '
                         f'image, got {img.dtype} {img.shape}')
    height, width = size
    if height < 1 or width < 1:
        raise ValueError(f'size must be positive (h, w), got {size}')
    if backend == 'pillow':
        return np.array(
            Image.fromarray(img).resize((width, height), Image.BICUBIC))
    tensor = torch.from_numpy(img.astype(np.float32))
    tensor = tensor.reshape(*img.shape[:2], -1).permute(2, 0, 1)[None]
    out = F.interpolate(
        tensor,
        size=(height, width),
        mode='bicubic',
        antialias=True,
        align_corners=False)
    out = out.round().clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0)
    return out.reshape(height, width, *img.shape[2:]).numpy()


def iste_blur(img: np.ndarray, scale: float) -> np.ndarray:
    """PIL Gaussian blur of radius ``(scale - 1) / 2``: the blur that ISTE
    and Li et al. apply to HR images before bicubic downscaling."""
    return np.array(
        Image.fromarray(img).filter(
            ImageFilter.GaussianBlur(radius=(scale - 1) / 2)))


@TRANSFORMS.register_module()
class BicubicDegradation(BaseTransform):
    """Make ``lr`` by (optionally blurring and) bicubic downscaling ``gt``.

    Sizes, for an HR image (H, W) and scale ``s``:

    - ``lr`` is ``(h, w) = (floor(H / s), floor(W / s))`` (with a 1e-9
      tolerance so that e.g. ``H = 3 * 1.1`` is not lost to rounding);
    - ``gt`` is cropped at its top-left corner to
      ``(round(h * s), round(w * s))``.

    For an integer ``s`` this is the usual "mod crop": ``h = H // s`` and
    ``gt`` becomes exactly ``(h * s, w * s)``, so ``gt = lr * s``.

    With ``blur=True``, the cropped ``gt`` is first blurred with PIL
    ``ImageFilter.GaussianBlur(radius=(s - 1) / 2)`` (the rule of ISTE /
    Li et al.; the radius is > 0 since ``s > 1``) whatever the backend;
    ``gt`` itself stays sharp.

    Required keys: ``gt`` (np.uint8, (H, W, 3)); ``scale`` when the
    transform has none (datasets put it there, see
    :class:`~pathsr.datasets.SRFolderDataset`); ``gt_path`` is used in
    messages.
    Modified keys: ``gt`` (cropped). Added keys: ``lr`` (np.uint8,
    (h, w, 3)), ``scale`` (float).

    Args:
        scale (float, optional): Downscaling factor, finite, > 1 and <= 64;
            None takes ``results['scale']``. Defaults to None.
        blur (bool): Blur before downscaling. Defaults to False.
        backend (str): Resizing backend of :func:`bicubic_resize`,
            ``'pillow'`` or ``'torch'``. Defaults to ``'pillow'``.
    """

    def __init__(self,
                 scale: Optional[float] = None,
                 blur: bool = False,
                 backend: str = 'pillow') -> None:
        if scale is not None:
            scale = check_scale(scale, 'BicubicDegradation')
        if backend not in BACKENDS:
            raise ValueError(
                f'backend must be one of {BACKENDS}, got {backend!r}')
        self.scale = scale
        self.blur = blur
        self.backend = backend

    def transform(self, results: dict) -> dict:
        """Crop ``gt`` to a multiple of the scale and derive ``lr``."""
        if 'gt' not in results:
            raise KeyError("BicubicDegradation needs the key 'gt', but the "
                           f'results only have the keys {sorted(results)}')
        if self.scale is not None:
            scale = self.scale
        elif 'scale' in results:
            scale = check_scale(results['scale'],
                                results.get('gt_path', 'BicubicDegradation'))
        else:
            raise KeyError(
                'BicubicDegradation has no scale: give scale= to the '
                'transform or to the dataset (keys present: '
                f'{sorted(results)})')
        gt = results['gt']
        height, width = gt.shape[:2]
        lr_h = math.floor(height / scale + 1e-9)
        lr_w = math.floor(width / scale + 1e-9)
        if lr_h == 0 or lr_w == 0:
            raise ValueError(
                f'cannot degrade {results.get("gt_path", "<no gt_path>")}: '
                f'image size {height}x{width} is smaller than the scale '
                f'{scale}, the LR image would be empty')
        gt = np.ascontiguousarray(gt[:round(lr_h * scale), :round(lr_w *
                                                                   scale)])
        source = iste_blur(gt, scale) if self.blur else gt
        results['gt'] = gt
        results['lr'] = bicubic_resize(source, (lr_h, lr_w), self.backend)
        results['scale'] = scale
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'blur={self.blur}, backend={self.backend!r})')

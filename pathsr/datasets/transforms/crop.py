"""Random crops of HR images and of co-located LR/HR pairs."""
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from pathsr.registry import TRANSFORMS


def _check_patch_size(name: str, value: int) -> None:
    """Raise ``ValueError`` unless ``value`` is a positive int."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ValueError(f'{name} must be a positive int, got {value!r}')


def _too_small_error(results: dict, height: int, width: int,
                     size: int) -> ValueError:
    """Build the error for an image smaller than its crop."""
    return ValueError(
        f'cannot crop {results.get("gt_path", "<no gt_path>")}: image size '
        f'{height}x{width} is smaller than the crop size {size}x{size}')


def _random_window(height: int, width: int, size: int) -> Tuple[int, int]:
    """Draw the top-left corner of a ``size`` x ``size`` window.

    The draw uses the global numpy RNG (seeded by MMEngine), first the top
    row in ``[0, height - size]`` then the left column in
    ``[0, width - size]``.
    """
    top = np.random.randint(0, height - size + 1)
    left = np.random.randint(0, width - size + 1)
    return top, left


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop the same random square window from images.

    Every key in ``keys`` holds an (H, W, C) array of the same H and W; each
    is replaced by its crop at one random position, drawn with the global
    numpy RNG. The window side is ``crop_size``, or ``lr_crop_size *
    results['scale']`` for recipes that fix the LR patch (SwinIR: 48, HAT:
    64), so the x2/x3/x4 configs of one recipe share a pipeline.

    Required / modified keys: ``keys``; ``scale`` with ``lr_crop_size``.
    ``gt_path`` is used in messages.

    Args:
        crop_size (int, optional): Side of the square window in pixels.
        keys (Sequence[str]): Images to crop. Defaults to ``('gt',)``.
        lr_crop_size (int, optional): Side of the LR patch the window makes;
            give exactly one of ``crop_size`` and ``lr_crop_size``.

    Raises:
        KeyError: A key of ``keys`` is missing from the results.
        ValueError: The images differ in size or are smaller than the crop;
            the message names ``gt_path`` and the sizes.
    """

    def __init__(self,
                 crop_size: Optional[int] = None,
                 keys: Sequence[str] = ('gt', ),
                 lr_crop_size: Optional[int] = None) -> None:
        if (crop_size is None) == (lr_crop_size is None):
            raise ValueError('RandomCrop needs exactly one of crop_size and '
                             f'lr_crop_size, got {crop_size!r} and '
                             f'{lr_crop_size!r}')
        for name, value in (('crop_size', crop_size),
                            ('lr_crop_size', lr_crop_size)):
            if value is not None:
                _check_patch_size(name, value)
        self.crop_size = None if crop_size is None else int(crop_size)
        self.lr_crop_size = None if lr_crop_size is None else int(
            lr_crop_size)
        self.keys = tuple(keys)

    def transform(self, results: dict) -> dict:
        """Replace each image of ``keys`` by its random crop."""
        missing = [key for key in self.keys if key not in results]
        if missing:
            raise KeyError(f'RandomCrop needs the keys {missing}, but the '
                           f'results only have the keys {sorted(results)}')
        shapes = {key: results[key].shape[:2] for key in self.keys}
        if len(set(shapes.values())) > 1:
            raise ValueError(
                f'RandomCrop of {results.get("gt_path", "<no gt_path>")} '
                f'needs images of one size, got {shapes}')
        size = self.crop_size
        if size is None:
            if 'scale' not in results:
                raise KeyError('RandomCrop with lr_crop_size needs the key '
                               "'scale' (set scale= on the dataset), but the "
                               f'results only have the keys {sorted(results)}')
            size = round(self.lr_crop_size * results['scale'])
        height, width = shapes[self.keys[0]]
        if height < size or width < size:
            raise _too_small_error(results, height, width, size)
        top, left = _random_window(height, width, size)
        for key in self.keys:
            results[key] = np.ascontiguousarray(
                results[key][top:top + size, left:left + size])
        return results

    def __repr__(self) -> str:
        size = f'crop_size={self.crop_size}' if self.lr_crop_size is None \
            else f'lr_crop_size={self.lr_crop_size}'
        return f'{self.__class__.__name__}({size}, keys={self.keys})'


@TRANSFORMS.register_module()
class PairedRandomCrop(BaseTransform):
    """Crop co-located random patches from an LR/HR pair.

    ``lr`` (h, w, C) gives a (p, p, C) patch with ``p = gt_patch_size //
    scale`` at a random top-left ``(top, left)``; ``gt`` (h * scale,
    w * scale, C) gives the (gt_patch_size, gt_patch_size, C) patch at
    ``(top * scale, left * scale)``, i.e. the same tissue region.

    Required / modified keys: ``lr``, ``gt``; ``scale`` when the transform
    has none. ``gt_path`` is used in messages.

    Args:
        gt_patch_size (int): Side of the HR patch; a multiple of ``scale``.
        scale (int, optional): Integer ratio between the HR and LR sizes;
            ``None`` reads ``results['scale']`` (the dataset's), so one
            pipeline serves x2/x4/x8 configs.

    Raises:
        ValueError: ``gt`` is not exactly ``scale`` times ``lr`` in size, or
            ``lr`` is smaller than the LR patch; the message names ``gt_path``
            and the shapes.
    """

    def __init__(self, gt_patch_size: int,
                 scale: Optional[int] = None) -> None:
        _check_patch_size('gt_patch_size', gt_patch_size)
        if scale is not None:
            self._check_scale(gt_patch_size, scale)
        self.gt_patch_size = int(gt_patch_size)
        self.scale = None if scale is None else int(scale)

    @staticmethod
    def _check_scale(gt_patch_size: int, scale: object) -> None:
        _check_patch_size('scale', scale)
        if gt_patch_size % scale:
            raise ValueError(f'gt_patch_size={gt_patch_size} must be a '
                             f'multiple of scale={scale}')

    def transform(self, results: dict) -> dict:
        """Replace ``lr`` and ``gt`` by co-located random patches."""
        needed = ('lr', 'gt') if self.scale else ('lr', 'gt', 'scale')
        missing = [key for key in needed if key not in results]
        if missing:
            raise KeyError(f'PairedRandomCrop needs the keys {missing}, but '
                           f'the results only have the keys {sorted(results)}')
        scale = self.scale
        if scale is None:
            scale = results['scale']
            if float(scale) == int(scale):
                scale = int(scale)
            self._check_scale(self.gt_patch_size, scale)
        lr, gt = results['lr'], results['gt']
        lr_h, lr_w = lr.shape[:2]
        if gt.shape[:2] != (lr_h * scale, lr_w * scale):
            raise ValueError(
                f'PairedRandomCrop of {results.get("gt_path", "<no gt_path>")}'
                f': gt shape {gt.shape[:2]} is not scale={scale} times '
                f'lr shape {lr.shape[:2]}')
        lr_size = self.gt_patch_size // scale
        if lr_h < lr_size or lr_w < lr_size:
            raise _too_small_error(results, gt.shape[0], gt.shape[1],
                                   self.gt_patch_size)
        top, left = _random_window(lr_h, lr_w, lr_size)
        gt_top, gt_left = top * scale, left * scale
        results['lr'] = np.ascontiguousarray(lr[top:top + lr_size,
                                                left:left + lr_size])
        results['gt'] = np.ascontiguousarray(
            gt[gt_top:gt_top + self.gt_patch_size,
               gt_left:gt_left + self.gt_patch_size])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'gt_patch_size={self.gt_patch_size}, scale={self.scale})')

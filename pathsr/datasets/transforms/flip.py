"""``RandomFlipTranspose``: random dihedral (flip / rot90) augmentation."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from pathsr.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomFlipTranspose(BaseTransform):
    """Apply one random flip / transpose to all images of ``keys``.

    Three independent draws from the global numpy RNG, in this order,
    decide a horizontal flip (``img[:, ::-1]``), a vertical flip
    (``img[::-1]``) and an H<->W transpose (``img.transpose(1, 0, 2)``),
    applied in the same order. Together they generate the 8 symmetries of
    the square (flips and 90-degree rotations), the augmentation of EDSR and
    LIIF. The same transform is applied to every key, so an LR/HR pair stays
    aligned.

    Required / modified keys: ``keys``, each an (H, W, C) array that becomes
    a contiguous (H, W, C) array, or (W, H, C) when transposed.

    Args:
        keys (Sequence[str]): Images to transform. Defaults to ``('gt',)``.
        hflip_prob (float): Probability of the horizontal flip.
            Defaults to 0.5.
        vflip_prob (float): Probability of the vertical flip. Defaults to 0.5.
        transpose_prob (float): Probability of the transpose.
            Defaults to 0.5.
    """

    def __init__(self,
                 keys: Sequence[str] = ('gt', ),
                 hflip_prob: float = 0.5,
                 vflip_prob: float = 0.5,
                 transpose_prob: float = 0.5) -> None:
        probs = dict(
            hflip_prob=hflip_prob,
            vflip_prob=vflip_prob,
            transpose_prob=transpose_prob)
        for name, prob in probs.items():
            if not 0 <= prob <= 1:
                raise ValueError(f'{name} must be in [0, 1], got {prob!r}')
        self.keys = tuple(keys)
        self.hflip_prob = hflip_prob
        self.vflip_prob = vflip_prob
        self.transpose_prob = transpose_prob

    def transform(self, results: dict) -> dict:
        """Flip / transpose every image of ``keys`` the same way."""
        missing = [key for key in self.keys if key not in results]
        if missing:
            raise KeyError(
                f'RandomFlipTranspose needs the keys {missing}, but '
                f'the results only have the keys {sorted(results)}')
        hflip = np.random.rand() < self.hflip_prob
        vflip = np.random.rand() < self.vflip_prob
        transpose = np.random.rand() < self.transpose_prob
        for key in self.keys:
            img = results[key]
            if hflip:
                img = img[:, ::-1]
            if vflip:
                img = img[::-1]
            if transpose:
                img = img.transpose(1, 0, 2)
            results[key] = np.ascontiguousarray(img)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(keys={self.keys}, '
                f'hflip_prob={self.hflip_prob}, '
                f'vflip_prob={self.vflip_prob}, '
                f'transpose_prob={self.transpose_prob})')

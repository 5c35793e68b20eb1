"""Random-scale crop and degradation for arbitrary-scale SR training."""
import numpy as np
from mmcv.transforms import BaseTransform

from pathsr.registry import TRANSFORMS
from .degradation import BACKENDS, bicubic_resize, check_scale, iste_blur


@TRANSFORMS.register_module()
class RandomScaleDegradation(BaseTransform):
    """Crop a random-scale HR patch and make its fixed-size LR input.

    The training data of LIIF, LTE and ISTE: draw ``s ~ U(scale_min,
    scale_max)`` (NumPy's global RNG, seeded by MMEngine), crop a random
    square HR patch of side ``round(lr_size * s)``, optionally blur it with
    the ISTE / Li et al. rule (PIL Gaussian, radius ``(s - 1) / 2``), and
    resize it with bicubic interpolation to ``lr_size x lr_size``. Every
    sample's LR has the same size, so batches stack whatever the scales.

    Required keys: ``gt`` (np.uint8, (H, W, 3)). Modified: ``gt`` (the HR
    patch). Added: ``lr`` (np.uint8, (lr_size, lr_size, 3)), ``scale`` (the
    drawn ``s``; the exact HR/LR ratio is ``round(lr_size * s) / lr_size``,
    which is what the model's cells use).

    Args:
        lr_size (int): Side of the LR input. Defaults to 48.
        scale_min (float): Lower end of the scale range, >= 1. Defaults to 1.
        scale_max (float): Upper end, > scale_min and <= 64. Defaults to 4.
        blur (bool): Blur before downscaling (ISTE protocol). Defaults to
            False.
        backend (str): ``'pillow'`` (PIL bicubic, as LIIF/ISTE) or
            ``'torch'``. Defaults to ``'pillow'``.
    """

    def __init__(self,
                 lr_size: int = 48,
                 scale_min: float = 1.0,
                 scale_max: float = 4.0,
                 blur: bool = False,
                 backend: str = 'pillow') -> None:
        if lr_size < 1:
            raise ValueError(f'lr_size must be >= 1, got {lr_size}')
        check_scale(scale_max, 'RandomScaleDegradation scale_max')
        if not 1 <= scale_min < scale_max:
            raise ValueError('RandomScaleDegradation needs 1 <= scale_min < '
                             f'scale_max, got {scale_min} and {scale_max}')
        if backend not in BACKENDS:
            raise ValueError(
                f'backend must be one of {BACKENDS}, got {backend!r}')
        self.lr_size = lr_size
        self.scale_min = float(scale_min)
        self.scale_max = float(scale_max)
        self.blur = blur
        self.backend = backend

    def transform(self, results: dict) -> dict:
        """Crop the HR patch and make the LR input."""
        if 'gt' not in results:
            raise KeyError("RandomScaleDegradation needs the key 'gt', but "
                           f'the results only have the keys {sorted(results)}')
        gt = results['gt']
        scale = np.random.uniform(self.scale_min, self.scale_max)
        side = round(self.lr_size * scale)
        height, width = gt.shape[:2]
        if height < side or width < side:
            raise ValueError(
                f"image {results.get('gt_path', '<no gt_path>')} is "
                f'{height}x{width}, smaller than the {side}x{side} HR patch '
                f'of lr_size {self.lr_size} at scale {scale:.3f} (images '
                f'need at least {round(self.lr_size * self.scale_max)} px)')
        top = np.random.randint(0, height - side + 1)
        left = np.random.randint(0, width - side + 1)
        patch = np.ascontiguousarray(gt[top:top + side, left:left + side])
        source = iste_blur(patch, scale) if self.blur else patch
        results['gt'] = patch
        results['lr'] = bicubic_resize(source, (self.lr_size, self.lr_size),
                                       self.backend)
        results['scale'] = float(scale)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(lr_size={self.lr_size}, '
                f'scale_min={self.scale_min}, scale_max={self.scale_max}, '
                f'blur={self.blur}, backend={self.backend!r})')

"""Data preprocessor for super-resolution: uint8 images in, normalised batches out."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor

from pathsr.registry import MODELS
from pathsr.structures import SRDataSample


@MODELS.register_module()
class SRDataPreprocessor(BaseDataPreprocessor):
    """Turn a collated list of LR images into one normalised batch.

    Input ``inputs`` is a list of ``(3, h_i, w_i)`` uint8 (or float in
    ``[0, 255]``) RGB tensors. Each image is scaled to ``[0, 1]``, padded at
    the bottom/right to the largest size in the batch rounded up to a multiple
    of ``pad_size_divisor`` (``pad_mode``, reflection by default, as SwinIR and
    HAT need), and normalised as ``(x - mean) / std`` with ``mean``/``std`` in
    ``[0, 1]`` units. Output: ``(B, 3, h, w)`` float.

    Ground-truth images of the data samples are converted to float ``[0, 1]``
    in place (they stay unnormalised: metrics read them); models call
    :meth:`normalize` on them for the loss and :meth:`destruct` on their output.

    Args:
        mean: Per-channel mean in ``[0, 1]`` units. LIIF-family models use 0.5,
            EDSR the DIV2K mean (0.4488, 0.4371, 0.4040).
        std: Per-channel std in ``[0, 1]`` units (0.5 for the LIIF family).
        pad_size_divisor: Pad height and width to a multiple of this.
        pad_mode: ``'reflect'``, ``'replicate'`` or ``'constant'`` (zeros).
    """

    def __init__(self,
                 mean: Sequence[float] = (0., 0., 0.),
                 std: Sequence[float] = (1., 1., 1.),
                 pad_size_divisor: int = 1,
                 pad_mode: str = 'reflect') -> None:
        super().__init__()
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f'mean and std need 3 values (RGB), got mean='
                             f'{tuple(mean)} and std={tuple(std)}')
        if any(s <= 0 for s in std):
            raise ValueError(f'std must be positive, got {tuple(std)}')
        if pad_mode not in ('reflect', 'replicate', 'constant'):
            raise ValueError(f'pad_mode must be reflect, replicate or '
                             f'constant, got {pad_mode!r}')
        if pad_size_divisor < 1:
            raise ValueError(
                f'pad_size_divisor must be >= 1, got {pad_size_divisor}')
        self.register_buffer('mean',
                             torch.tensor(mean, dtype=torch.float32).view(
                                 1, 3, 1, 1), False)
        self.register_buffer('std',
                             torch.tensor(std, dtype=torch.float32).view(
                                 1, 3, 1, 1), False)
        self.pad_size_divisor = pad_size_divisor
        self.pad_mode = pad_mode

    def normalize(self, img: torch.Tensor) -> torch.Tensor:
        """Map ``[0, 1]`` images (``(B, 3, H, W)`` or ``(3, H, W)``) to the
        network's normalised space."""
        return (img - self._stat(self.mean, img)) / self._stat(self.std, img)

    def denormalize(self, img: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`normalize`, unclamped, so gradients pass
        everywhere (losses on ``[0, 1]`` images use it)."""
        return img * self._stat(self.std, img) + self._stat(self.mean, img)

    def destruct(self, img: torch.Tensor,
                 inplace: bool = False) -> torch.Tensor:
        """Map network outputs back to ``[0, 1]`` and clamp (in place when
        ``inplace``, which saves a copy of a large output)."""
        if inplace:
            std, mean = self._stat(self.std, img), self._stat(self.mean, img)
            return img.mul_(std).add_(mean).clamp_(0, 1)
        return self.denormalize(img).clamp_(0, 1)

    @staticmethod
    def _stat(stat: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
        return stat if img.dim() == 4 else stat[0]

    def _pad(self, img: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        """Pad a ``(3, h, w)`` image at the bottom/right to ``size``.

        Reflection can add at most ``h - 1`` rows at a time, so large pads are
        done in steps (the image is mirrored again and again).
        """
        while img.shape[-2] < size[0] or img.shape[-1] < size[1]:
            height, width = img.shape[-2:]
            pad_h, pad_w = size[0] - height, size[1] - width
            mode = self.pad_mode
            if mode == 'reflect':
                if min(height, width) == 1:
                    mode = 'replicate'
                else:
                    pad_h, pad_w = min(pad_h, height - 1), min(pad_w, width - 1)
            img = F.pad(img[None], (0, pad_w, 0, pad_h), mode=mode)[0]
        return img

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs: Union[List[torch.Tensor], torch.Tensor] = data['inputs']
        data_samples: Optional[List[SRDataSample]] = data.get('data_samples')
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs) if inputs.dim() == 4 else [inputs]
        for i, img in enumerate(inputs):
            if img.dim() != 3 or img.shape[0] != 3:
                raise ValueError(
                    f'input {i} of the batch must be a (3, h, w) RGB image, '
                    f'got shape {tuple(img.shape)}')
        imgs = [img.float() / 255. for img in inputs]
        div = self.pad_size_divisor
        height = max(img.shape[-2] for img in imgs)
        width = max(img.shape[-1] for img in imgs)
        size = (-(-height // div) * div, -(-width // div) * div)
        batch = torch.stack([self._pad(img, size) for img in imgs])
        if data_samples is not None:
            for sample in data_samples:
                if 'gt_img' in sample and not sample.gt_img.is_floating_point():
                    sample.gt_img = sample.gt_img.float() / 255.
        return dict(inputs=self.normalize(batch), data_samples=data_samples)

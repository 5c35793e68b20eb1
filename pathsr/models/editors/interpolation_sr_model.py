"""Parameter-free interpolation "model" for any scale or output size."""
from typing import List, Optional

import torch
import torch.nn.functional as F

from pathsr.registry import MODELS
from pathsr.structures import SRDataSample
from .base_sr_model import BaseSRModel


@MODELS.register_module()
class InterpolationSRModel(BaseSRModel):
    """Upsample each LR image to its sample's ``out_shape`` by interpolation.

    The Bicubic baseline of arbitrary-scale tables (any real scale, e.g. in
    :class:`~pathsr.engine.runner.MultiScaleTestLoop`). ``'bicubic'`` uses
    PyTorch's antialiased kernel, which is PIL's (a = -0.5), the kernel that
    made the LR images. Pixel centres are aligned (``align_corners=False``),
    the convention of the implicit models' coordinates. It has no
    parameters and is only evaluated (``mode='predict'``).

    Args:
        mode: ``'bicubic'`` or ``'bilinear'``.
        data_preprocessor: Config of the data preprocessor.
    """

    def __init__(self,
                 mode: str = 'bicubic',
                 data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor)
        if mode not in ('bicubic', 'bilinear'):
            raise ValueError(f'mode must be bicubic or bilinear, got {mode!r}')
        self.mode = mode

    def predict(self, inputs: torch.Tensor,
                data_samples: List[SRDataSample]) -> List[SRDataSample]:
        for i, sample in enumerate(data_samples):
            lr_h, lr_w = sample.metainfo['lr_shape']
            out = F.interpolate(
                inputs[i:i + 1, :, :lr_h, :lr_w],
                size=tuple(sample.metainfo['out_shape']),
                mode=self.mode,
                align_corners=False,
                antialias=True)
            sample.pred_img = self.data_preprocessor.destruct(out)[0]
        return data_samples

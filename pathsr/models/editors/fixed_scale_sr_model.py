"""Model wrapper for fixed-scale super-resolution networks."""
from typing import Dict, List, Optional

import torch

from pathsr.registry import MODELS
from pathsr.structures import SRDataSample
from pathsr.utils.amp import upcast
from .base_sr_model import BaseSRModel


@MODELS.register_module()
class FixedScaleSRModel(BaseSRModel):
    """Wrap a fixed-scale SR network for MMEngine's runner.

    ``forward(inputs, data_samples, mode)`` with normalised LR ``inputs`` of
    shape ``(B, 3, h, w)`` (from :class:`SRDataPreprocessor`):

    - ``mode='tensor'``: the raw network output ``(B, 3, s*h, s*w)``.
    - ``mode='loss'``: ``dict(loss=pixel_loss(pred, normalize(gt)))``; the
      prediction is cropped to the ground truth (padding removed).
    - ``mode='predict'``: each data sample gets ``pred_img`` = the output
      cropped to its ``out_shape`` metainfo (undoing the preprocessor's
      bottom/right padding), mapped back to ``[0, 1]``.

    Args:
        generator: Config of the SR network (a backbone).
        pixel_loss: Config of the pixel loss; ``None`` for models that are
            only evaluated (Bicubic).
        data_preprocessor: Config of the data preprocessor.
    """

    compile_targets = ('generator', )

    def __init__(self,
                 generator: dict,
                 pixel_loss: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor, init_cfg)
        self.generator = MODELS.build(generator)
        self.pixel_loss = MODELS.build(pixel_loss) if pixel_loss else None

    def tensor(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.generator(inputs)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[SRDataSample]) -> Dict[str, torch.Tensor]:
        if self.pixel_loss is None:
            raise RuntimeError(f'{type(self.generator).__name__} has no '
                               'pixel_loss configured and cannot be trained')
        gt = torch.stack([sample.gt_img for sample in data_samples])
        pred = self.generator(inputs)[..., :gt.shape[-2], :gt.shape[-1]]
        if pred.shape != gt.shape:
            raise ValueError(
                f'network output {tuple(pred.shape)} is smaller than the '
                f'ground truth {tuple(gt.shape)}: does the scale of the '
                'network match the scale of the data pipeline?')
        return dict(
            loss=self.pixel_loss(pred, self.data_preprocessor.normalize(gt)))

    def predict(self, inputs: torch.Tensor,
                data_samples: List[SRDataSample]) -> List[SRDataSample]:
        # float32 even when the network ran under bf16 autocast
        pred = self.data_preprocessor.destruct(
            upcast(self.generator(inputs)))
        for i, sample in enumerate(data_samples):
            height, width = sample.metainfo['out_shape']
            if pred.shape[-2] < height or pred.shape[-1] < width:
                raise ValueError(
                    f'network output {tuple(pred.shape[-2:])} is smaller '
                    f'than the expected output {(height, width)} of '
                    f"{sample.metainfo.get('gt_path', 'sample ' + str(i))}: "
                    'does the scale of the network match the data pipeline?')
            sample.pred_img = pred[i, :, :height, :width]
        return data_samples

"""``SRDataSample``: the data element that travels with every SR image.

Image fields hold ``(3, H, W)`` RGB tensors:

- ``gt_img``: the high-resolution ground truth (absent at pure inference);
  uint8 as packed by the pipeline, float in ``[0, 1]`` once the data
  preprocessor has run.
- ``pred_img``: the model's super-resolved output, float in ``[0, 1]``,
  written in ``predict``.

Metainfo (set by the pipeline, see :class:`pathsr.datasets.transforms.PackSRInputs`):
``gt_path``, ``lr_path``, ``scale``, ``lr_shape`` (h, w) and ``out_shape``
(H, W), the output size fixed once by the pipeline and used by every model to
size and crop its prediction.
"""
import torch
from mmengine.structures import BaseDataElement


class SRDataSample(BaseDataElement):
    """A data sample of one image for super-resolution."""

    @property
    def gt_img(self) -> torch.Tensor:
        return self._gt_img

    @gt_img.setter
    def gt_img(self, value: torch.Tensor) -> None:
        self.set_field(value, '_gt_img', dtype=torch.Tensor)

    @gt_img.deleter
    def gt_img(self) -> None:
        del self._gt_img

    @property
    def pred_img(self) -> torch.Tensor:
        return self._pred_img

    @pred_img.setter
    def pred_img(self, value: torch.Tensor) -> None:
        self.set_field(value, '_pred_img', dtype=torch.Tensor)

    @pred_img.deleter
    def pred_img(self) -> None:
        del self._pred_img

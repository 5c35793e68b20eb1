"""Base of the pathsr model wrappers: the ``forward`` modes of MMEngine."""
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel

from pathsr.registry import MODELS
from pathsr.structures import SRDataSample

DEFAULT_PREPROCESSOR = dict(type='SRDataPreprocessor')


class BaseSRModel(BaseModel):
    """Dispatch ``forward(inputs, data_samples, mode)`` to :meth:`tensor`,
    :meth:`loss` or :meth:`predict`.

    ``inputs`` are the normalised LR images ``(B, 3, h, w)`` made by
    :class:`~pathsr.models.SRDataPreprocessor`; ``predict`` writes each
    sample's ``pred_img`` (``(3, H, W)`` in ``[0, 1]``, ``(H, W)`` = its
    ``out_shape`` metainfo). The data preprocessor is built from pathsr's
    registry, ``default_preprocessor`` when none is configured.
    """

    default_preprocessor: dict = DEFAULT_PREPROCESSOR

    def __init__(self,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if not isinstance(data_preprocessor, torch.nn.Module):
            data_preprocessor = MODELS.build(data_preprocessor
                                             or self.default_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[SRDataSample]] = None,
                mode: str = 'tensor'
                ) -> Union[torch.Tensor, Dict[str, torch.Tensor],
                           List[SRDataSample]]:
        if mode == 'tensor':
            return self.tensor(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(
            f'mode must be tensor, loss or predict, got {mode!r}')

    def tensor(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network's raw output for ``inputs``."""
        raise NotImplementedError(
            f'{type(self).__name__} has no tensor mode')

    def loss(self, inputs: torch.Tensor,
             data_samples: List[SRDataSample]) -> Dict[str, torch.Tensor]:
        """The training losses of a batch."""
        raise NotImplementedError(
            f'{type(self).__name__} has no parameters to train: it only '
            'predicts')

    def predict(self, inputs: torch.Tensor,
                data_samples: List[SRDataSample]) -> List[SRDataSample]:
        """Write ``pred_img`` into each data sample."""
        raise NotImplementedError

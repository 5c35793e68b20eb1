"""Base of the pathsr model wrappers: the ``forward`` modes of MMEngine."""
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.model import BaseModel

from pathsr.registry import MODELS
from pathsr.structures import SRDataSample
from pathsr.utils.amp import autocast_context

DEFAULT_PREPROCESSOR = dict(type='SRDataPreprocessor')


class BaseSRModel(BaseModel):
    """Dispatch ``forward(inputs, data_samples, mode)`` to :meth:`tensor`,
    :meth:`loss` or :meth:`predict`.

    ``inputs`` are the normalised LR images ``(B, 3, h, w)`` made by
    :class:`~pathsr.models.SRDataPreprocessor`; ``predict`` writes each
    sample's ``pred_img`` (``(3, H, W)`` in ``[0, 1]``, ``(H, W)`` = its
    ``out_shape`` metainfo). The data preprocessor is built from pathsr's
    registry, ``default_preprocessor`` when none is configured.

    ``amp_predict = True`` (``tools/test.py --amp``) runs ``val_step`` and
    ``test_step`` under bf16 autocast (fp16 on GPUs without bf16); training
    precision is the optimiser wrapper's (``AmpOptimWrapper``).
    """

    default_preprocessor: dict = DEFAULT_PREPROCESSOR
    #: submodules that :meth:`compile_networks` compiles
    compile_targets: Tuple[str, ...] = ()
    #: predict (validation, test) under mixed-precision autocast
    amp_predict: bool = False

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

    def val_step(self, data: Union[dict, tuple, list]) -> list:
        with self._predict_autocast():
            return super().val_step(data)

    def test_step(self, data: Union[dict, tuple, list]) -> list:
        with self._predict_autocast():
            return super().test_step(data)

    def _predict_autocast(self):
        device = next(iter(self.data_preprocessor.buffers())).device
        return autocast_context(device, self.amp_predict)

    def compile_networks(self, **compile_cfg) -> None:
        """``torch.compile`` the networks that do the work, in place.

        Each submodule named in ``compile_targets`` is compiled with
        :meth:`torch.nn.Module.compile`, so parameter names, state dicts and
        checkpoints stay those of the eager model. ``compile_cfg`` goes to
        :func:`torch.compile` (``mode``, ``dynamic``, ``backend``...).
        Calling it twice does nothing more. Models that compile more than
        submodules extend :meth:`_compile`.
        """
        if getattr(self, '_networks_compiled', False):
            return
        self._compile(**compile_cfg)
        self._networks_compiled = True

    def _compile(self, **compile_cfg) -> None:
        """Compile the submodules named in ``compile_targets`` in place."""
        for name in self.compile_targets:
            module = getattr(self, name, None)
            if module is not None:
                module.compile(**compile_cfg)

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

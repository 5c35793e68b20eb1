"""``PackSRInputs``: pack the results into model inputs and a data sample."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from pathsr.registry import TRANSFORMS
from pathsr.structures import SRDataSample, output_shape


@TRANSFORMS.register_module()
class PackSRInputs(BaseTransform):
    """Pack ``lr`` (and ``gt``) into ``dict(inputs=..., data_samples=...)``.

    - ``inputs``: torch.uint8 (3, h, w) contiguous tensor of ``lr``.
    - ``data_samples``: :class:`SRDataSample` with ``gt_img`` (torch.uint8
      (3, H, W)) when ``gt`` is present, and the metainfo:

      - the keys of ``meta_keys`` present in the results;
      - ``scale`` (float): ``results['scale']``, or ``H / h`` when absent
        and ``gt`` is present (paired data with no degradation step);
      - ``lr_shape``: ``(h, w)``;
      - ``out_shape``: ``(H, W)`` of ``gt``, or
        ``(round(h * scale), round(w * scale))`` without ``gt``.

    Required keys: ``lr`` (np.uint8, (h, w, 3)); ``scale`` when there is no
    ``gt``. Optional keys: ``gt`` (np.uint8, (H, W, 3)) and ``meta_keys``.

    Args:
        meta_keys (Sequence[str]): Keys copied to the metainfo when present.
            Defaults to ``('gt_path', 'lr_path', 'sample_idx')``.

    Raises:
        KeyError: ``lr`` is missing, or both ``gt`` and ``scale`` are.
        ValueError: ``lr`` or ``gt`` is not a uint8 (H, W, 3) array.
    """

    def __init__(
        self, meta_keys: Sequence[str] = ('gt_path', 'lr_path', 'sample_idx')
    ) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack ``results`` into ``dict(inputs, data_samples)``."""
        if 'lr' not in results:
            raise KeyError("PackSRInputs needs the key 'lr' (the "
                           'low-resolution input), but the results only have '
                           f'the keys {sorted(results)}')
        lr_h, lr_w = results['lr'].shape[:2]
        data_sample = SRDataSample()
        if 'gt' in results:
            data_sample.gt_img = self._to_tensor(results, 'gt')
            out_shape = results['gt'].shape[:2]
            scale = results.get('scale', out_shape[0] / lr_h)
        elif 'scale' in results or 'out_shape' in results:
            out_shape = output_shape((lr_h, lr_w), results.get('scale'),
                                     results.get('out_shape'))
            scale = results.get('scale', out_shape[0] / lr_h)
        else:
            raise KeyError("PackSRInputs needs the key 'scale' or 'out_shape' "
                           "when there is no 'gt', but the results only have "
                           f'the keys {sorted(results)}')
        metainfo = {
            key: results[key]
            for key in self.meta_keys if key in results
        }
        metainfo.update(
            scale=float(scale), lr_shape=(lr_h, lr_w), out_shape=out_shape)
        data_sample.set_metainfo(metainfo)
        return dict(
            inputs=self._to_tensor(results, 'lr'), data_samples=data_sample)

    @staticmethod
    def _to_tensor(results: dict, key: str) -> torch.Tensor:
        """Turn the uint8 (H, W, 3) ``results[key]`` into a (3, H, W)
        tensor."""
        img = results[key]
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 \
                or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(
                f'PackSRInputs expects {key!r} as a uint8 (H, W, 3) array, '
                f'got {type(img).__name__} {getattr(img, "dtype", None)} '
                f'{getattr(img, "shape", None)} '
                f'(gt_path={results.get("gt_path")})')
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'

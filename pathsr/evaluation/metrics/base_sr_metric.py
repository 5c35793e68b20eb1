"""Shared logic of the full-reference SR metrics (PSNR, SSIM)."""
import math
import re
from abc import abstractmethod
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

# ITU-R BT.601 luma of MATLAB's ``rgb2ycbcr`` for RGB in [0, 1]:
# Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255, in [16/255, 235/255].
_Y_OFFSET = 16.0 / 255.0
_Y_WEIGHTS = (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0)


class BaseSRMetric(BaseMetric):
    """Base class of the image-wise full-reference SR metrics.

    Each element of ``data_samples`` given to :meth:`process` is a dict with
    ``pred_img`` and ``gt_img``: float tensors of shape ``(3, H, W)``, RGB,
    range ``[0, 1]``, and the metainfo key ``gt_path``. Each image is turned
    into a float64 ``(1, C, H, W)`` tensor (``C = 3`` for RGB, ``1`` for Y)
    by, in this order, optional 8-bit quantisation, optional conversion to Y
    and border cropping; the subclass scores it with :meth:`compute_one`.
    The metric of the dataset is the mean of the per-image values, which
    stay available in :attr:`per_image_results` after :meth:`compute_metrics`.

    Args:
        crop_border (int | str): Pixels removed from every border of both
            images before scoring; ``'scale'`` removes ``ceil(scale)``
            pixels, read from each sample's ``scale`` metainfo (the usual
            fixed-scale protocol), ``'scale+N'`` removes ``ceil(scale) + N``
            (``'scale+6'``: the DIV2K/histology protocol of LIIF and ISTE).
            Defaults to 0.
        convert_to (str, optional): ``None`` scores the 3 RGB channels;
            ``'Y'`` scores the ITU-R BT.601 luma of MATLAB's ``rgb2ycbcr``,
            ``Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255`` in
            ``[16/255, 235/255]``. Defaults to None.
        quantize (bool): Round pred and gt to 8-bit levels (``round(255 x) /
            255``) before scoring, like the SR test codes that save PNGs.
            Defaults to False.
        collect_device (str): Device used to collect results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric name in the results,
            e.g. ``'Y'`` gives ``'Y/PSNR'``; needed to tell apart two
            metrics of the same class in one evaluator. Defaults to None
            (no prefix).
    """

    default_prefix: Optional[str] = ''
    metric_name: str = ''

    def __init__(self,
                 crop_border: Union[int, str] = 0,
                 convert_to: Optional[str] = None,
                 quantize: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        scale_rule = isinstance(crop_border, str) and re.fullmatch(
            r'scale(\+\d+)?', crop_border)
        if not scale_rule and (not isinstance(crop_border, int)
                               or crop_border < 0):
            raise ValueError("crop_border must be a non-negative int, "
                             f"'scale' or 'scale+N', got {crop_border!r}")
        self._crop_offset = int(scale_rule.group(1) or 0) if scale_rule \
            else None
        if convert_to not in (None, 'Y'):
            raise ValueError(f'Unknown convert_to {convert_to!r}: expected '
                             "None (RGB) or 'Y' (BT.601 luma)")
        self.crop_border = crop_border
        self.convert_to = convert_to
        self.quantize = quantize
        self.per_image_results: List[dict] = []

    @abstractmethod
    def compute_one(self, pred: torch.Tensor, gt: torch.Tensor) -> float:
        """Score one image pair.

        Args:
            pred (Tensor): Prediction, float64 ``(1, C, H, W)`` in ``[0, 1]``.
            gt (Tensor): Ground truth of the same shape and range.

        Returns:
            float: The metric value of this image.
        """

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Score every image of a batch and store
        ``dict(img_path=gt_path, value=...)`` in :attr:`results`.

        Args:
            data_batch (dict): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): The model outputs as dicts with
                ``pred_img``, ``gt_img`` and ``gt_path``.
        """
        for data_sample in data_samples:
            for key in ('pred_img', 'gt_img', 'gt_path'):
                if key not in data_sample:
                    raise KeyError(
                        f'{self.__class__.__name__} needs {key!r} in every '
                        f'data sample; got keys {sorted(data_sample)}')
            gt_path = data_sample['gt_path']
            pred = self._prepare(data_sample['pred_img'], 'pred_img', gt_path)
            gt = self._prepare(data_sample['gt_img'], 'gt_img', gt_path)
            if pred.shape != gt.shape:
                raise ValueError(
                    f'{gt_path}: pred_img shape '
                    f'{tuple(data_sample["pred_img"].shape)} does not match '
                    f'gt_img shape {tuple(data_sample["gt_img"].shape)}')
            border = self._border(data_sample)
            pred = self._crop(pred, border, gt_path)
            gt = self._crop(gt, border, gt_path)
            self.results.append(
                dict(
                    img_path=gt_path, value=float(self.compute_one(pred, gt))))

    def compute_metrics(self, results: list) -> dict:
        """Average the per-image values and keep them in
        :attr:`per_image_results`.

        Args:
            results (list): ``dict(img_path=..., value=...)`` of every image.

        Returns:
            dict: ``{metric_name: mean over images}``.
        """
        if len(results) == 0:
            raise ValueError(f'{self.__class__.__name__}: no image was '
                             'processed, cannot compute a mean')
        self.per_image_results = [dict(result) for result in results]
        values = np.array([result['value'] for result in results],
                          dtype=np.float64)
        return {self.metric_name: float(values.mean())}

    def _prepare(self, img: torch.Tensor, key: str,
                 gt_path: str) -> torch.Tensor:
        """Check a ``(3, H, W)`` float image in ``[0, 1]``, then quantise and
        convert it; returns a float64 ``(1, C, H, W)`` tensor."""
        if not isinstance(img, torch.Tensor) or not img.is_floating_point():
            raise TypeError(f'{gt_path}: {key} must be a float tensor in '
                            f'[0, 1], got {type(img).__name__} '
                            f'{getattr(img, "dtype", "")}')
        if img.ndim != 3 or img.shape[0] != 3:
            raise ValueError(f'{gt_path}: {key} must have shape (3, H, W), '
                             f'got {tuple(img.shape)}')
        img = img.detach().to(dtype=torch.float64)
        low, high = img.min().item(), img.max().item()
        if low < 0 or high > 1:
            raise ValueError(f'{gt_path}: {key} has values in [{low}, '
                             f'{high}], expected the range [0, 1]')
        if self.quantize:
            img = torch.round(img * 255.0) / 255.0
        if self.convert_to == 'Y':
            weights = img.new_tensor(_Y_WEIGHTS).view(3, 1, 1)
            img = (img * weights).sum(dim=0, keepdim=True) + _Y_OFFSET
        return img.unsqueeze(0)

    def _border(self, data_sample: dict) -> int:
        """The number of border pixels to remove from this sample."""
        if self._crop_offset is None:
            return self.crop_border
        if 'scale' not in data_sample:
            raise KeyError(f"{data_sample['gt_path']}: crop_border="
                           f"{self.crop_border!r} needs the scale in the "
                           'metainfo of the sample')
        return int(math.ceil(data_sample['scale'] - 1e-9)) + self._crop_offset

    @staticmethod
    def _crop(img: torch.Tensor, border: int, gt_path: str) -> torch.Tensor:
        """Remove ``border`` pixels from every border of a ``(1, C, H, W)``
        tensor."""
        if border == 0:
            return img
        height, width = img.shape[-2:]
        if 2 * border >= min(height, width):
            raise ValueError(f'{gt_path}: crop_border={border} leaves '
                             f'nothing of a {height}x{width} image')
        return img[..., border:-border, border:-border]

"""Visualizer that lays out LR, SR, GT and error map of one image."""
from typing import Optional

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.visualization import Visualizer

from pathsr.registry import VISUALIZERS


@VISUALIZERS.register_module()
class SRVisualizer(Visualizer):
    """Visualizer of super-resolution results.

    :meth:`add_sr_sample` builds one uint8 RGB panel
    ``[LR | SR | GT | error]`` (``[LR | SR]`` without GT), each tile
    ``H x W``, separated by white columns, and writes it to every vis
    backend (e.g. PNG files under ``<save_dir>/vis_image`` for
    ``LocalVisBackend``, images in TensorBoard for ``TensorboardVisBackend``).

    Args:
        name (str): Name of the instance. Defaults to ``'visualizer'``.
        separator_width (int): Width in pixels of the white columns between
            tiles. Defaults to 2.
        **kwargs: Other arguments of :class:`mmengine.visualization.
            Visualizer` (``vis_backends``, ``save_dir``, ...).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 separator_width: int = 2,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if separator_width < 0:
            raise ValueError('separator_width must be non-negative, got '
                             f'{separator_width}')
        self.separator_width = separator_width

    def add_sr_sample(self,
                      name: str,
                      lr: torch.Tensor,
                      pred: torch.Tensor,
                      gt: Optional[torch.Tensor] = None,
                      step: int = 0,
                      error_gain: float = 4.0) -> np.ndarray:
        """Build the panel of one sample and write it to the vis backends.

        Args:
            name (str): Image identifier in the backends.
            lr (Tensor): LR input ``(3, h, w)``, uint8 in ``[0, 255]`` or
                float in ``[0, 1]``; upsampled to ``(H, W)`` with nearest
                neighbour.
            pred (Tensor): SR output ``(3, H, W)``, float in ``[0, 1]``.
            gt (Tensor, optional): Ground truth ``(3, H, W)``, float in
                ``[0, 1]``. Without it the panel is ``[LR | SR]``.
            step (int): Global step stored with the image. Defaults to 0.
            error_gain (float): The error tile shows
                ``clip(mean_c |SR - GT| * error_gain, 0, 1)`` in the inferno
                colour map (black = no error). Defaults to 4.0.

        Returns:
            np.ndarray: The uint8 RGB panel ``(H, n * W + (n - 1) * sep, 3)``
            with ``n`` = 4 tiles (2 without GT).
        """
        pred = self._check_image(pred, 'pred', floating=True)
        height, width = pred.shape[-2:]
        lr = self._check_image(lr, 'lr', floating=False)
        if not lr.is_floating_point():
            lr = lr.to(torch.float64) / 255.0
        lr_up = F.interpolate(
            lr[None], size=(height, width), mode='nearest-exact')[0]
        tiles = [self._to_uint8(lr_up), self._to_uint8(pred)]
        if gt is not None:
            gt = self._check_image(gt, 'gt', floating=True)
            if gt.shape != pred.shape:
                raise ValueError(f'gt shape {tuple(gt.shape)} does not match '
                                 f'pred shape {tuple(pred.shape)}')
            error = ((pred - gt).abs().mean(dim=0) * error_gain).clamp(0, 1)
            error_u8 = torch.round(error * 255).to(torch.uint8).numpy()
            error_bgr = cv2.applyColorMap(error_u8, cv2.COLORMAP_INFERNO)
            tiles += [
                self._to_uint8(gt),
                cv2.cvtColor(error_bgr, cv2.COLOR_BGR2RGB)
            ]
        separator = np.full((height, self.separator_width, 3),
                            255,
                            dtype=np.uint8)
        parts = [tiles[0]]
        for tile in tiles[1:]:
            parts += [separator, tile]
        panel = np.ascontiguousarray(np.concatenate(parts, axis=1))
        self.add_image(name, panel, step)
        return panel

    @staticmethod
    def _check_image(img: torch.Tensor, key: str,
                     floating: bool) -> torch.Tensor:
        """Check a ``(3, H, W)`` tensor (float unless ``floating`` is False,
        then uint8 is also accepted) and return it on the CPU (float64 when
        floating)."""
        if not isinstance(img, torch.Tensor):
            raise TypeError(f'{key} must be a torch.Tensor, got '
                            f'{type(img).__name__}')
        if img.ndim != 3 or img.shape[0] != 3:
            raise ValueError(f'{key} must have shape (3, H, W), got '
                             f'{tuple(img.shape)}')
        if img.dtype == torch.uint8 and not floating:
            return img.detach().cpu()
        if not img.is_floating_point():
            allowed = 'float' if floating else 'uint8 or float'
            raise TypeError(f'{key} must be {allowed}, got {img.dtype}')
        return img.detach().cpu().to(torch.float64)

    @staticmethod
    def _to_uint8(img: torch.Tensor) -> np.ndarray:
        """``(3, H, W)`` float in ``[0, 1]`` -> ``(H, W, 3)`` uint8 array."""
        img = torch.round(img.clamp(0, 1) * 255).to(torch.uint8)
        return img.permute(1, 2, 0).numpy()

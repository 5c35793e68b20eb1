"""Pixel-wise reconstruction losses."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from pathsr.registry import MODELS


@MODELS.register_module()
class L1Loss(nn.Module):
    """``loss_weight * mean(|pred - target|)`` over tensors of equal shape.

    Args:
        loss_weight: Multiplier of the loss.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(
                f'reduction must be mean, sum or none, got {reduction!r}')
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if pred.shape != target.shape:
            raise ValueError(f'L1Loss: prediction {tuple(pred.shape)} and '
                             f'target {tuple(target.shape)} differ in shape')
        return self.loss_weight * F.l1_loss(
            pred, target, reduction=self.reduction)

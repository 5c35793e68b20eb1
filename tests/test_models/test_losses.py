import pytest
import torch

from pathsr.models.losses import L1Loss


def test_l1_loss_value_and_weight():
    pred = torch.tensor([1.0, 2.0, 3.0])
    target = torch.tensor([1.5, 2.0, 1.0])
    assert L1Loss()(pred, target).item() == pytest.approx((0.5 + 2.0) / 3)
    assert L1Loss(loss_weight=2.0, reduction='sum')(
        pred, target).item() == pytest.approx(5.0)


def test_l1_loss_refuses_broadcasting():
    with pytest.raises(ValueError, match=r'\(3,\).*\(1, 3\)'):
        L1Loss()(torch.zeros(3), torch.zeros(1, 3))

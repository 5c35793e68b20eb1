import pytest
import torch
import torch.nn.functional as F

from pathsr.models import InterpolationSRModel
from pathsr.structures import SRDataSample


def test_bicubic_any_scale_fills_out_shape_with_pil_kernel():
    model = InterpolationSRModel()
    lr = torch.randint(0, 256, (3, 10, 9), dtype=torch.uint8)
    sample = SRDataSample(metainfo=dict(lr_shape=(10, 9), out_shape=(27, 24)))
    data = model.data_preprocessor(dict(inputs=[lr], data_samples=[sample]))
    pred = model(**data, mode='predict')[0].pred_img
    expected = F.interpolate(lr[None].float() / 255, size=(27, 24),
                             mode='bicubic', antialias=True,
                             align_corners=False).clamp(0, 1)[0]
    assert pred.shape == (3, 27, 24)
    assert torch.allclose(pred, expected, atol=1e-6)
    assert sum(p.numel() for p in model.parameters()) == 0


def test_interpolation_model_cannot_train():
    with pytest.raises(NotImplementedError, match='only predicts'):
        InterpolationSRModel()(torch.zeros(1, 3, 2, 2), [], mode='loss')

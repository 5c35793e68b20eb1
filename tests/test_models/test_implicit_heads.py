"""The maths of the implicit heads: coordinates, local ensemble, chunking."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from pathsr.datasets.transforms import BicubicDegradation
from pathsr.models.heads import LIIFHead, LTEHead, ensemble_query, gather_codes
from pathsr.registry import MODELS
from pathsr.structures import SRDataSample, make_coord, output_shape


@MODELS.register_module(force=True)
class ReturnCode(nn.Module):
    """Test decoder that returns the first ``channels`` inputs: the code."""

    def __init__(self, in_dim: int, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., :self.channels]


@pytest.mark.parametrize('scale', [2, 3, 4])
def test_integer_scale_grid_falls_on_hr_pixel_centres(scale):
    h, w = 5, 7
    coord = make_coord((h * scale, w * scale), dtype=torch.float64)
    # (c + 1) / 2 * H - 0.5 is the pixel index: an integer for every centre
    pix = (coord + 1) / 2 * torch.tensor([h * scale, w * scale]) - 0.5
    assert torch.allclose(pix, pix.round(), atol=1e-9)
    rows, cols = pix.round().long().unbind(-1)
    assert torch.equal(rows, torch.arange(h * scale).repeat_interleave(
        w * scale))
    assert torch.equal(cols, torch.arange(w * scale).repeat(h * scale))
    # sampling an HR image at those coordinates returns its pixels exactly
    hr = torch.rand(1, 3, h * scale, w * scale, dtype=torch.float64)
    sampled = F.grid_sample(hr, coord.flip(-1).view(1, h * scale, w * scale,
                                                    2), align_corners=False)
    assert torch.allclose(sampled, hr, atol=1e-12)
    # each LR pixel centre is the mean of the centres of its s x s HR block
    lr_centres = make_coord((h, w), dtype=torch.float64).view(h, w, 2)
    blocks = coord.view(h, scale, w, scale, 2).mean((1, 3))
    assert torch.allclose(blocks, lr_centres, atol=1e-12)


def test_ensemble_weights_are_positive_and_sum_to_one():
    coord = torch.rand(2, 500, 2) * 2 - 1
    q = ensemble_query(coord, (9, 13))
    assert q.weight.shape == (2, 4, 500)
    assert bool((q.weight > 0).all())
    assert torch.allclose(q.weight.sum(1), torch.ones(2, 500), atol=1e-6)
    # the four codes are the corners of the LR cell around the query; the
    # offsets are scaled by (h, w): one LR pixel is 2 units
    assert bool((q.rel_coord.abs() <= 2 + 1e-4).all())
    single = ensemble_query(coord, (9, 13), local_ensemble=False)
    assert torch.equal(single.weight, torch.ones(2, 1, 500))
    assert bool((single.rel_coord.abs() <= 1 + 1e-4).all())


def test_liif_ensemble_of_codes_is_bilinear_interpolation_inside():
    init_default_scope('pathsr')
    channels, h, w = 5, 8, 11
    head = LIIFHead(in_channels=channels, feat_unfold=False,
                    cell_decode=False, fold_first_layer=False,
                    imnet=dict(type='ReturnCode', channels=channels))
    feat = torch.randn(2, channels, h, w, dtype=torch.float64)
    # queries between the first and last LR pixel centres (no border)
    lo_y, lo_x = -1 + 1 / h, -1 + 1 / w
    coord = torch.rand(2, 300, 2, dtype=torch.float64)
    coord = coord * torch.tensor([2 - 2 / h, 2 - 2 / w]) + torch.tensor(
        [lo_y, lo_x])
    ours = head(feat, coord, torch.zeros_like(coord))
    bilinear = F.grid_sample(feat, coord.flip(-1)[:, :, None],
                             mode='bilinear', align_corners=False)
    assert torch.allclose(ours, bilinear[..., 0].transpose(1, 2), atol=1e-5)


def test_gather_unfold_matches_f_unfold():
    feat = torch.randn(2, 3, 6, 5)
    row = torch.randint(0, 6, (2, 4, 7))
    col = torch.randint(0, 5, (2, 4, 7))
    ours = gather_codes(feat, row, col, unfold=True)
    unfolded = F.unfold(feat, 3, padding=1).view(2, 27, 6, 5)
    expected = unfolded.permute(0, 2, 3, 1)[torch.arange(2)[:, None, None],
                                            row, col]
    assert torch.equal(ours, expected)


# float32 outputs in [0, 1] of different chunk sizes: last-bit rounding only
CHUNK_ATOL = 1e-6


def _model(head, chunk, **kwargs):
    init_default_scope('pathsr')
    return MODELS.build(
        dict(type='ImplicitSRModel',
             encoder=dict(type='EDSR', arch=None, num_blocks=1,
                          mid_channels=8, res_scale=1.0, upscale_factor=None),
             head=head, eval_chunk=chunk, **kwargs))


def _predict(model, lr, out_shape, scale):
    sample = SRDataSample(metainfo=dict(lr_shape=tuple(lr.shape[-2:]),
                                        out_shape=out_shape, scale=scale))
    data = model.data_preprocessor(dict(inputs=[lr], data_samples=[sample]))
    return model(**data, mode='predict')[0].pred_img


@pytest.mark.parametrize('head', [
    dict(type='LIIFHead', imnet=dict(type='MLP', hidden_list=[16])),
    dict(type='LTEHead', hidden_dim=16, imnet=dict(type='MLP',
                                                   hidden_list=[16]))
])
def test_prediction_does_not_depend_on_chunk_size(head):
    """Chunks of 7 and of the whole image agree up to float32 rounding (the
    MLP's matrix products may block another number of rows differently, by
    ~1e-7); a query that sees its chunk at all moves far beyond that."""
    torch.manual_seed(0)
    model = _model(head, chunk=7)
    lr = torch.randint(0, 256, (3, 9, 10), dtype=torch.uint8)
    small = _predict(model, lr, (24, 27), 2.7)
    model.eval_chunk = 100000
    whole = _predict(model, lr, (24, 27), 2.7)
    assert small.shape == (3, 24, 27)
    assert bool(((small > 0) & (small < 1)).float().mean() > 0.9)
    assert torch.allclose(small, whole, rtol=0, atol=CHUNK_ATOL)
    # a head that depends on its chunk through 1e-3 of the chunk's mean
    # prediction fails this tolerance
    query = model.head.query

    def leaky_query(*args):
        out = query(*args)
        return out + 1e-3 * out.mean(1, keepdim=True)

    model.head.query = leaky_query
    leaky = _predict(model, lr, (24, 27), 2.7)
    model.eval_chunk = 7
    assert (leaky - _predict(model, lr, (24, 27), 2.7)).abs().max() \
        > 10 * CHUNK_ATOL


def test_lte_with_zero_amplitude_is_the_bilinear_skip():
    head = LTEHead(in_channels=4, hidden_dim=8,
                   imnet=dict(type='MLP', hidden_list=[8]))
    for layer in (head.coef, head.imnet[-1]):
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)
    feat = torch.randn(1, 4, 6, 7)
    inputs = torch.randn(1, 3, 6, 7)
    coord = make_coord((18, 21))[None]
    out = head(feat, coord, torch.full_like(coord, 0.1), inputs)
    skip = F.interpolate(inputs, size=(18, 21), mode='bilinear',
                         align_corners=False)
    assert torch.allclose(out, skip.flatten(2).transpose(1, 2), atol=1e-5)


def test_lte_frequency_pairs_multiply_row_then_column_offsets():
    head = LTEHead(in_channels=1, hidden_dim=4,
                   imnet=dict(type='ReturnCode', channels=3),
                   local_ensemble=False)
    nn.init.zeros_(head.phase.weight)
    for conv, bias in ((head.coef, [1.0] * 4),
                       (head.freq, [0.5, -0.25, 0.0, 0.0])):
        nn.init.zeros_(conv.weight)
        conv.bias.data = torch.tensor(bias)
    feat = torch.zeros(1, 1, 4, 4)
    # nearest LR centre (-0.75, -0.25): offsets (0.15, 0.15) x 4 = (0.6, 0.6)
    coord = torch.tensor([[[-0.6, -0.1]]])
    out = head(feat, coord, torch.zeros_like(coord), torch.zeros(1, 3, 4, 4))
    t = 0.5 * 0.6 - 0.25 * 0.6  # channel 0 x dy + channel 1 x dx
    # decoder input: [cos(pi t0), cos(pi t1), sin(pi t0), sin(pi t1)]
    assert out[0, 0].tolist() == pytest.approx(
        [math.cos(math.pi * t), 1.0, math.sin(math.pi * t)], abs=1e-6)


def test_implicit_loss_trains_encoder_and_head():
    torch.manual_seed(0)
    model = _model(dict(type='LIIFHead', imnet=dict(type='MLP',
                                                    hidden_list=[16])),
                   chunk=100, pixel_loss=dict(type='L1Loss'),
                   num_queries=50)
    samples = [SRDataSample(gt_img=torch.randint(0, 256, (3, 20, 20),
                                                  dtype=torch.uint8))
               for _ in range(2)]
    data = model.data_preprocessor(dict(
        inputs=[torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)] * 2,
        data_samples=samples), True)
    loss = model(**data, mode='loss')['loss']
    loss.backward()
    assert model.encoder.conv_first.weight.grad.abs().sum() > 0
    assert model.head.imnet[0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='fewer than num_queries'):
        model.num_queries = 401
        model(**data, mode='loss')


@pytest.mark.parametrize('seed', range(5))
def test_output_shape_rule_matches_the_cropped_ground_truth(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        h, w = rng.integers(16, 300, 2)
        scale = float(rng.uniform(1.05, 9.0))
        results = BicubicDegradation(scale=scale, backend='torch')(
            dict(gt=np.zeros((int(h), int(w), 3), np.uint8)))
        lr_shape = results['lr'].shape[:2]
        assert output_shape(lr_shape, scale) == results['gt'].shape[:2]


@pytest.mark.parametrize('bad', [1, 0.5, 0, -2, float('nan'), float('inf'),
                                 True])
def test_output_shape_refuses_bad_scales(bad):
    with pytest.raises(ValueError, match='finite number > 1'):
        output_shape((10, 10), bad)


def test_output_shape_refuses_absurd_sizes_and_takes_explicit_size():
    with pytest.raises(ValueError, match='tiled inference'):
        output_shape((512, 512), 1e4)
    with pytest.raises(ValueError, match='tiled inference'):
        output_shape((5, 5), out_shape=(100_000, 100_000))
    assert output_shape((10, 10), 2.7, out_shape=(30, 31)) == (30, 31)
    assert output_shape((166, 333), 3.954) == (656, 1317)
    with pytest.raises(ValueError, match='positive integers'):
        output_shape((10, 10), out_shape=(0, 5))

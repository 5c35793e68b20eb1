"""The batched decoding of the implicit heads equals the official layout:
one MLP pass per local-ensemble shift over ``F.unfold``-ed features read
with ``grid_sample(mode='nearest')``, written here independently of
``pathsr.models.heads.local_ensemble``."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from pathsr.models.heads import LIIFHead, LTEHead
from pathsr.registry import MODELS
from pathsr.structures import make_coord


@MODELS.register_module(force=True)
class LinearDecoder(torch.nn.Linear):
    """A decoder that is not an MLP (one Linear to RGB)."""

    def __init__(self, in_dim: int) -> None:
        super().__init__(in_dim, 3)


def _nearest(feat, coord):
    """``feat`` ``(B, C, h, w)`` at the nearest pixel of ``coord`` ``(B, N,
    2)`` (y, x): ``(B, N, C)``."""
    out = F.grid_sample(feat, coord.flip(-1)[:, None], mode='nearest',
                        align_corners=False)
    return out[:, :, 0].transpose(1, 2)


def four_pass(feat, coord, decode):
    """The official local ensemble: ``decode(shifted_feat_fn, rel_coord)``
    once per shift, blended with the swapped areas."""
    h, w = feat.shape[-2:]
    centres = make_coord((h, w), feat.device, feat.dtype).view(h, w, 2)
    centres = centres.permute(2, 0, 1)[None].expand(feat.shape[0], 2, h, w)
    preds, areas = [], []
    for vy in (-1, 1):
        for vx in (-1, 1):
            shifted = coord.clone()
            shifted[..., 0] += vy / h + 1e-6
            shifted[..., 1] += vx / w + 1e-6
            shifted.clamp_(-1 + 1e-6, 1 - 1e-6)
            rel = (coord - _nearest(centres, shifted)) * coord.new_tensor(
                [h, w])
            preds.append(decode(lambda m: _nearest(m, shifted), rel))
            areas.append((rel[..., 0] * rel[..., 1]).abs() + 1e-9)
    total = sum(areas)
    areas = areas[::-1]  # each code takes its diagonal opposite's area
    return sum(p * (a / total)[..., None] for p, a in zip(preds, areas))


def _queries(batch=2, n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    coord = torch.rand(batch, n, 2, generator=g, dtype=torch.float64) * 2 - 1
    cell = torch.full((batch, n, 2), 2 / 37, dtype=torch.float64)
    return coord, cell


@pytest.mark.parametrize('fold', [True, False])
@pytest.mark.parametrize('unfold', [True, False])
def test_liif_batched_decoding_equals_four_passes(fold, unfold):
    init_default_scope('pathsr')
    torch.manual_seed(0)
    head = LIIFHead(in_channels=6, feat_unfold=unfold, fold_first_layer=fold,
                    imnet=dict(type='MLP', hidden_list=[32, 32])).double()
    feat = torch.randn(2, 6, 9, 13, dtype=torch.float64)
    coord, cell = _queries()
    hw = coord.new_tensor([9, 13])

    def decode(read, rel):
        code = read(F.unfold(feat, 3, padding=1).view(2, -1, 9, 13)
                    if unfold else feat)
        return head.imnet(torch.cat([code, rel, cell * hw], -1))

    expected = four_pass(feat, coord, decode)
    ours = head(feat, coord, cell)
    assert torch.allclose(ours, expected, atol=1e-10)


def test_liif_folded_first_layer_keeps_parameters_and_gradients():
    """Folding changes how the first layer is computed, not what it is:
    the same state dict, and the same gradients as the plain path."""
    init_default_scope('pathsr')
    torch.manual_seed(0)
    kwargs = dict(in_channels=4, imnet=dict(type='MLP', hidden_list=[8]))
    folded = LIIFHead(fold_first_layer=True, **kwargs).double()
    plain = LIIFHead(fold_first_layer=False, **kwargs).double()
    plain.load_state_dict(folded.state_dict())
    feat = torch.randn(1, 4, 5, 6, dtype=torch.float64, requires_grad=True)
    coord, cell = _queries(batch=1, n=50)
    grads = []
    for head in (folded, plain):
        feat.grad = None
        head(feat, coord, cell).square().sum().backward()
        grads.append((feat.grad.clone(), head.imnet[0].weight.grad.clone()))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-10)
    assert torch.allclose(grads[0][1], grads[1][1], atol=1e-10)


def test_fold_first_layer_needs_an_mlp():
    init_default_scope('pathsr')
    with pytest.raises(ValueError, match='fold_first_layer needs an MLP imnet'):
        LIIFHead(in_channels=4, imnet=dict(type='LinearDecoder'))


def test_lte_batched_decoding_equals_four_passes():
    init_default_scope('pathsr')
    torch.manual_seed(0)
    head = LTEHead(in_channels=5, hidden_dim=8,
                   imnet=dict(type='MLP', hidden_list=[16])).double()
    feat = torch.randn(2, 5, 9, 13, dtype=torch.float64)
    image = torch.randn(2, 3, 9, 13, dtype=torch.float64)
    coord, cell = _queries()
    hw = coord.new_tensor([9, 13])
    coef, freq = head.coef(feat), head.freq(feat)

    def decode(read, rel):
        # official layout: channel pairs (2k, 2k + 1) are (fy, fx)
        f = torch.stack(read(freq).split(2, -1), -1)
        t = (f * rel[..., None]).sum(-2) + head.phase(cell * hw)
        basis = torch.cat([torch.cos(math.pi * t), torch.sin(math.pi * t)], -1)
        return head.imnet(read(coef) * basis)

    skip = F.grid_sample(image, coord.flip(-1)[:, None], mode='bilinear',
                         padding_mode='border', align_corners=False)
    expected = four_pass(feat, coord, decode) + skip[:, :, 0].transpose(1, 2)
    assert torch.allclose(head(feat, coord, cell, image), expected,
                          atol=1e-10)

"""ISTE with the released preset equals a from-scratch re-implementation of
the authors' released code (github.com/dmhdmhdmh/ISTE, models/iste.py and
models/pixattn.py as described in the team's reference, models.md §7)."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from pathsr.models.heads import ISTEHead
from pathsr.models.layers import LocalFeatureInteractor
from pathsr.registry import MODELS
from pathsr.structures import SRDataSample

SMALL_MLP = dict(type='MLP', hidden_list=[16])


def released_pix_attn(lfi: LocalFeatureInteractor,
                      x: torch.Tensor) -> torch.Tensor:
    """``pix_attn`` of the released code: the reflect-padded ``(C, 3, 3)``
    window of each pixel, contiguous, reshaped in memory to 9 rows of C."""
    batch, channels, height, width = x.shape
    heads = lfi.num_heads
    dim = channels // heads
    padded = F.pad(x, (1, 1, 1, 1), mode='reflect')
    # (B, C, h, w, 3, 3) -> one contiguous (C, 3, 3) window per pixel
    window = padded.unfold(2, 3, 1).unfold(3, 3, 1).permute(0, 2, 3, 1, 4, 5)
    rows = window.contiguous().reshape(batch * height * width, 9, channels)
    tokens = torch.cat([rows.mean(1, keepdim=True), rows], 1)
    centre = x.permute(0, 2, 3, 1).reshape(-1, channels)
    qk = lfi.qk(centre).reshape(-1, 2, heads, dim)
    q, q_self = qk[:, 0], qk[:, 1]  # (N, heads, d)
    kv = lfi.kv(tokens).reshape(-1, 10, 2, heads, dim)
    k, v = kv[:, :, 0].transpose(1, 2), kv[:, :, 1].transpose(1, 2)
    logits = torch.cat([(q[:, :, None] * k).sum(-1) / math.sqrt(dim),
                        (q * q_self).sum(-1, keepdim=True)], -1)
    attn = logits.softmax(-1)
    out = (attn[..., :10, None] * v).sum(2)
    if lfi.self_value:
        out = out + attn[..., 10:] * q_self
    out = lfi.proj(out.reshape(-1, channels))
    return out.reshape(batch, height, width, channels).permute(0, 3, 1, 2)


def released_query_texture(head: ISTEHead, feat: torch.Tensor,
                           coord: torch.Tensor,
                           cell: torch.Tensor) -> torch.Tensor:
    """``ISTE.gen_feat`` + ``query_texture``: grid_sample of the codes, the
    texture, STF over all the queries of the call, both decoders, the
    separately ensembled pixel and texture RGB added."""
    tl = head.texture_learner
    pixel_map = head.pixel_conv(released_pix_attn(head.lfi, feat))
    coef, freq1, freq2 = tl.amplitude(feat), tl.freq_x(feat), tl.freq_y(feat)
    height, width = feat.shape[-2:]
    ys = -1 + (2 * torch.arange(height) + 1) / height
    xs = -1 + (2 * torch.arange(width) + 1) / width
    feat_coord = torch.stack(torch.meshgrid(ys, xs, indexing='ij'))[None]
    feat_coord = feat_coord.expand(feat.size(0), 2, height, width)
    size = torch.tensor([height, width], dtype=feat.dtype)
    rel_cell = cell * size
    pix_rgb, tex_rgb, areas = [], [], []
    for vx in (-1, 1):
        for vy in (-1, 1):
            shifted = coord.clone()
            shifted[..., 0] += vx / height + 1e-6
            shifted[..., 1] += vy / width + 1e-6
            shifted.clamp_(-1 + 1e-6, 1 - 1e-6)

            def sample(m):
                return F.grid_sample(
                    m, shifted.flip(-1)[:, None], mode='nearest',
                    align_corners=False)[:, :, 0].permute(0, 2, 1)

            rel_coord = (coord - sample(feat_coord)) * size
            phase = 2 * math.pi * torch.sigmoid(rel_cell @ tl.phase.weight.t())
            texture = sample(coef) * torch.sin(
                sample(freq1) * rel_coord[..., :1] +
                sample(freq2) * rel_coord[..., 1:] + phase)
            q = sample(pixel_map)
            relevance = F.normalize(texture, dim=-1) @ F.normalize(
                q, dim=-1).transpose(1, 2)  # (B, N texture, N pixel)
            score, index = relevance.max(1)
            hard = torch.stack([t[i] for t, i in zip(texture, index)])
            fused = q + head.stf.fuse(torch.cat([q, hard], -1)) * \
                score[..., None]
            pix_rgb.append(head.pixel_decoder(
                torch.cat([fused, rel_coord, rel_cell], -1)))
            tex_rgb.append(head.texture_decoder(texture))
            areas.append((rel_coord[..., 0] * rel_coord[..., 1]).abs() + 1e-9)
    total = sum(areas)
    areas = areas[::-1]  # the diagonal swap of LIIF
    return sum(p * (a / total)[..., None] for p, a in zip(pix_rgb, areas)) + \
        sum(t * (a / total)[..., None] for t, a in zip(tex_rgb, areas))


def _released_head() -> ISTEHead:
    cfg = Config.fromfile('configs/_base_/models/iste-swinir-released.py')
    head = dict(cfg.model.head, in_channels=8, hidden_dim=16, lfi_heads=2,
                pixel_decoder=SMALL_MLP, texture_decoder=SMALL_MLP)
    head.pop('type')
    return ISTEHead(**head)


def test_released_tokens_are_the_raw_reshape_of_the_window():
    """At the centre of a 3x3 image the window is the image itself: with
    values 0..17 in (C=2, 3, 3) the released tokens are (0, 1), (2, 3), ...
    and the paper's window vectors are (p, 9 + p)."""
    x = torch.arange(18.).view(1, 2, 3, 3)
    released = LocalFeatureInteractor(2, 1, token_layout='released')
    paper = LocalFeatureInteractor(2, 1, token_layout='window')
    rows = torch.arange(18.).view(9, 2)
    assert torch.equal(released.tokens(x)[4],
                       torch.cat([torch.tensor([[8., 9.]]), rows]))
    windows = torch.stack([torch.arange(9.), torch.arange(9.) + 9], 1)
    assert torch.equal(paper.tokens(x)[4],
                       torch.cat([torch.tensor([[4., 13.]]), windows]))


def test_unknown_token_layout_is_named():
    with pytest.raises(ValueError, match="token_layout .* 'scrambled'"):
        LocalFeatureInteractor(8, 2, token_layout='scrambled')


@pytest.mark.parametrize('self_value', [False, True])
def test_released_lfi_equals_the_released_pix_attn(self_value):
    torch.manual_seed(0)
    lfi = LocalFeatureInteractor(8, 2, self_value=self_value,
                                 token_layout='released')
    x = torch.randn(2, 8, 5, 6)
    expected = released_pix_attn(lfi, x)
    assert (lfi(x) - expected).abs().max() < 1e-6
    # the paper's layout with the same weights is another function
    lfi.token_layout = 'window'
    assert (lfi(x) - expected).abs().max() > 1e-2


def test_released_preset_head_equals_the_released_query_texture():
    torch.manual_seed(0)
    head = _released_head()
    assert head.stf_mode == 'faithful'
    assert head.lfi.token_layout == 'released' and head.lfi.detach_kv
    feat = torch.randn(2, 8, 7, 9)
    coord = torch.rand(2, 150, 2) * 2 - 1
    cell = torch.full((2, 150, 2), 2 / 20.)
    expected = released_query_texture(head, feat, coord, cell)
    out = head(feat, coord, cell, torch.zeros(2, 3, 7, 9))
    assert (out - expected).abs().max() < 1e-6
    head.lfi.token_layout = 'window'
    assert (head(feat, coord, cell, torch.zeros(2, 3, 7, 9)) -
            expected).abs().max() > 1e-3


def test_released_preset_model_equals_the_released_code():
    """The whole model on a full output grid (one chunk = the official
    pool), with cell clipping above x4. The preset's SwinIR encoder at demo
    size, on an LR of 8 x 16 pixels: a multiple of its window, where the
    released encoder's padding (not cropped back) adds nothing."""
    init_default_scope('pathsr')
    torch.manual_seed(0)
    cfg = Config.fromfile('configs/_base_/models/iste-swinir-released.py')
    model_cfg = cfg.model
    model_cfg.encoder.update(arch='demo', mid_channels=8)
    model_cfg.head.update(hidden_dim=16, lfi_heads=2,
                          pixel_decoder=SMALL_MLP, texture_decoder=SMALL_MLP)
    model = MODELS.build(model_cfg).eval()
    lr = torch.randint(0, 256, (3, 8, 16), dtype=torch.uint8)
    out_shape = (40, 80)  # x5: the cell of x4 (cell_clip_scale=4)
    sample = SRDataSample(metainfo=dict(lr_shape=(8, 16),
                                        out_shape=out_shape, scale=5))
    data = model.data_preprocessor(dict(inputs=[lr], data_samples=[sample]))
    pred = model(**data, mode='predict')[0].pred_img
    rows = -1 + (2 * torch.arange(40.) + 1) / 40
    cols = -1 + (2 * torch.arange(80.) + 1) / 80
    coord = torch.stack(torch.meshgrid(rows, cols, indexing='ij'), -1)
    coord = coord.view(1, -1, 2)
    cell = torch.tensor([2 / 40, 2 / 80]) * 5 / 4
    with torch.no_grad():
        feat = model.encoder(data['inputs'])
        ref = released_query_texture(model.head, feat, coord,
                                     cell.expand_as(coord))
    ref = (ref.view(40, 80, 3).permute(2, 0, 1) * 0.5 + 0.5).clamp(0, 1)
    assert ((pred > 0) & (pred < 1)).float().mean() > 0.9
    assert (pred - ref).abs().max() < 1e-6


def test_released_config_has_the_released_recipe():
    """One DataLoader batch of 4 per iteration (DataParallel splits it over
    the 4 GPUs), 460 images x repeat 20 / 4 = 2300 iterations per epoch,
    1000 epochs, lr 2e-4 halved at epochs 500, 800, 900, 950; the model
    differs from the paper model by the released switches only."""
    cfg = Config.fromfile('configs/iste/iste-swinir-released_tma_x1-4.py')
    paper = Config.fromfile('configs/iste/iste-swinir_tma_x1-4.py')
    assert cfg.train_dataloader.batch_size == 4
    assert cfg.train_cfg.max_iters == 2_300_000
    assert cfg.param_scheduler[0].milestones == [
        1_150_000, 1_840_000, 2_070_000, 2_185_000]
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=2e-4)
    released, ours = cfg.model.to_dict(), paper.model.to_dict()
    assert {k for k in ours['head'] if ours['head'][k] != released['head'][k]
            } == {'lfi_token_layout', 'detach_kv', 'stf_mode'}
    assert ours['head']['lfi_token_layout'] == 'window'
    released.pop('head'), ours.pop('head')
    assert released == ours
    assert cfg.train_dataloader.dataset == paper.train_dataloader.dataset


def test_without_the_self_logit_the_softmax_runs_over_the_ten_tokens():
    """A constant window: the ten tokens share one logit, so each weighs
    1/10 and the output is the projected value; the released self logit
    takes its share of the mass instead."""
    torch.manual_seed(0)
    lfi = LocalFeatureInteractor(8, 2, self_logit=False).double()
    c = torch.randn(8, dtype=torch.float64)
    x = c.view(1, 8, 1, 1).expand(1, 8, 3, 3)
    out, weights = lfi.attention(x)
    assert weights.shape == (9, 2, 10)
    assert torch.allclose(weights, torch.full_like(weights, 0.1))
    v = lfi.kv(c)[8:].view(2, 4)
    assert torch.allclose(out, v.expand(9, 2, 4))
    assert torch.allclose(lfi(x), lfi.proj(v.flatten()).view(1, 8, 1, 1)
                          .expand(1, 8, 3, 3))
    lfi.self_logit = True
    assert not torch.allclose(lfi(x), lfi.proj(v.flatten()).view(1, 8, 1, 1))
    with pytest.raises(ValueError, match='self_value=True needs the self'):
        LocalFeatureInteractor(8, 2, self_value=True, self_logit=False)

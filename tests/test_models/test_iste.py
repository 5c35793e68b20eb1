"""ISTE: the values computed by its modules, its switches and its configs."""
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from pathsr.models.heads import ISTEHead, ensemble_query
from pathsr.models.layers.stf_key_set import r2_positions, tile_axis
from pathsr.models.layers import (LocalFeatureInteractor, SelfTextureFusion,
                                  TextureLearner)
from pathsr.registry import MODELS
from pathsr.structures import SRDataSample, make_coord

REPO = Path(__file__).resolve().parents[2]
SMALL_MLP = dict(type='MLP', hidden_list=[16])


def _head(**kwargs) -> ISTEHead:
    args = dict(in_channels=8, hidden_dim=16, lfi_heads=2,
                pixel_decoder=SMALL_MLP, texture_decoder=SMALL_MLP,
                stf_tile_size=6, stf_num_keys=40)
    return ISTEHead(**dict(args, **kwargs))


# --------------------------------------------------------------------------
# Local Feature Interactor


def _reference_lfi(lfi: LocalFeatureInteractor, x: torch.Tensor, row: int,
                   col: int) -> torch.Tensor:
    """The LFI output at one pixel, written out token by token."""
    _, channels, height, width = x.shape

    def reflect(i, n):
        return -i if i < 0 else 2 * (n - 1) - i if i >= n else i

    window = [x[0, :, reflect(row + dr, height), reflect(col + dc, width)]
              for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
    tokens = [torch.stack(window).mean(0)] + window
    q, q_self = lfi.qk(x[0, :, row, col]).split(channels)
    heads, dim = lfi.num_heads, channels // lfi.num_heads
    out = []
    for h in range(heads):
        part = slice(h * dim, (h + 1) * dim)
        keys = [lfi.kv(t)[:channels][part] for t in tokens]
        values = [lfi.kv(t)[channels:][part] for t in tokens]
        logits = [(q[part] @ k) / math.sqrt(dim) for k in keys]
        logits.append(q[part] @ q_self[part])
        weights = torch.stack(logits).softmax(0)
        head = sum(a * v for a, v in zip(weights, values))
        if lfi.self_value:
            head = head + weights[-1] * q_self[part]
        out.append(head)
    return lfi.proj(torch.cat(out))


@pytest.mark.parametrize('self_value', [False, True])
def test_lfi_matches_a_token_by_token_computation(self_value):
    torch.manual_seed(0)
    lfi = LocalFeatureInteractor(8, num_heads=2,
                                 self_value=self_value).double()
    x = torch.randn(1, 8, 4, 5, dtype=torch.float64)
    out = lfi(x)
    assert out.shape == x.shape
    # corner, edges (reflect padding) and an inner pixel
    for row, col in [(0, 0), (0, 2), (3, 4), (2, 1), (1, 3)]:
        assert torch.allclose(out[0, :, row, col],
                              _reference_lfi(lfi, x, row, col), atol=1e-12)


def test_lfi_weights_sum_to_one_and_a_constant_window_returns_the_value():
    torch.manual_seed(0)
    lfi = LocalFeatureInteractor(8, num_heads=2).double()
    x = torch.randn(2, 8, 3, 4, dtype=torch.float64)
    _, weights = lfi.attention(x)
    assert weights.shape == (2 * 3 * 4, 2, 11)
    assert torch.allclose(weights.sum(-1), torch.ones(24, 2,
                                                      dtype=torch.float64))
    # identical vectors everywhere: the ten tokens share one logit, and the
    # output is the projected value scaled by 1 - a_self
    c = torch.randn(8, dtype=torch.float64)
    out, weights = lfi.attention(c.view(1, 8, 1, 1).expand(1, 8, 3, 3))
    q, q_self = lfi.qk(c).view(2, 2, 4).unbind(0)
    k, v = lfi.kv(c).view(2, 2, 4).unbind(0)
    logit = (q * k).sum(-1) / 2  # d^-0.5 with d = 4
    a_self = 1 / (1 + 10 * torch.exp(logit - (q * q_self).sum(-1)))
    assert torch.allclose(weights[..., -1], a_self.expand(9, 2))
    assert torch.allclose(weights[..., :10], ((1 - a_self) / 10)[:, None]
                          .expand(9, 2, 10))
    assert torch.allclose(out, ((1 - a_self)[:, None] * v).expand(9, 2, 4))
    full = lfi(c.view(1, 8, 1, 1).expand(1, 8, 3, 3))
    expected = lfi.proj(((1 - a_self)[:, None] * v).flatten())
    assert torch.allclose(full, expected.view(1, 8, 1, 1).expand_as(full))


def test_lfi_detach_kv_keeps_values_and_cuts_neighbour_gradients():
    torch.manual_seed(0)
    plain = LocalFeatureInteractor(8, num_heads=2)
    detached = LocalFeatureInteractor(8, num_heads=2, detach_kv=True)
    detached.load_state_dict(plain.state_dict())
    grads = []
    for lfi in (plain, detached):
        x = torch.randn(1, 8, 5, 5, generator=torch.Generator().manual_seed(1),
                        requires_grad=True)
        out = lfi(x)
        out[0, :, 2, 2].sum().backward()
        grads.append((out.detach(), x.grad[0].abs().sum(0)))
    assert torch.equal(grads[0][0], grads[1][0])  # same forward values
    # only the query (the centre) carries gradient with detach_kv
    assert grads[0][1][2, 3] > 0 and grads[0][1][1, 1] > 0
    assert grads[1][1][2, 3] == 0 and grads[1][1][1, 1] == 0
    assert grads[1][1][2, 2] > 0


def test_lfi_refuses_heads_that_do_not_divide_the_channels():
    with pytest.raises(ValueError, match='num_heads=3 .* in_channels=8'):
        LocalFeatureInteractor(8, num_heads=3)


# --------------------------------------------------------------------------
# Texture Learner


def test_texture_at_zero_local_offset_is_amplitude_times_sin_phase():
    torch.manual_seed(0)
    tl = TextureLearner(4, texture_dim=6)
    codes = torch.randn(2, 7, 18)
    cell = torch.rand(2, 7, 2)
    t = tl(codes, torch.zeros(2, 7, 2), cell)
    phase = 2 * math.pi * torch.sigmoid(cell @ tl.phase.weight.t())
    assert torch.allclose(t, codes[..., :6] * torch.sin(phase), atol=1e-6)


def test_texture_x_frequency_multiplies_the_row_offset():
    tl = TextureLearner(1, texture_dim=1)
    nn.init.zeros_(tl.phase.weight)  # phase 2 pi sigmoid(0) = pi
    amp, freq_x, freq_y = 1.5, 0.7, -0.3
    codes = torch.tensor([[amp, freq_x, freq_y]])
    rel_coord = torch.tensor([[0.4, -1.1]])  # (row, column)
    t = tl(codes, rel_coord, torch.zeros(1, 2))
    expected = amp * math.sin(freq_x * 0.4 + freq_y * -1.1 + math.pi)
    assert t.item() == pytest.approx(expected, abs=1e-6)


def test_texture_maps_are_amplitude_then_x_then_y_frequency():
    torch.manual_seed(0)
    tl = TextureLearner(3, texture_dim=5)
    feat = torch.randn(1, 3, 4, 6)
    maps = tl.maps(feat)
    assert maps.shape == (1, 15, 4, 6)
    for i, conv in enumerate((tl.amplitude, tl.freq_x, tl.freq_y)):
        assert torch.equal(maps[:, 5 * i:5 * (i + 1)], conv(feat))
    assert tl.phase.bias is None


# --------------------------------------------------------------------------
# Self-Texture Fusion


def test_stf_retrieves_the_most_similar_key_and_weights_by_its_similarity():
    torch.manual_seed(0)
    stf = SelfTextureFusion(4).double()
    query = torch.randn(2, 5, 4, dtype=torch.float64)
    key = torch.randn(2, 9, 4, dtype=torch.float64) * 3
    score, index = stf.retrieve(query, key)
    for b in range(2):
        for i in range(5):
            cos = [F.cosine_similarity(query[b, i], key[b, j], 0).item()
                   for j in range(9)]
            assert index[b, i].item() == max(range(9), key=cos.__getitem__)
            assert score[b, i].item() == pytest.approx(max(cos), abs=1e-12)
            expected = query[b, i] + stf.fuse(torch.cat([
                query[b, i], key[b, index[b, i]]])) * max(cos)
            assert torch.allclose(stf(query, key)[b, i], expected)
    # a key equal (up to scale) to a query is retrieved with S = 1
    key[0, 6] = 2 * query[0, 3]
    score, index = stf.retrieve(query, key)
    assert index[0, 3] == 6 and score[0, 3].item() == pytest.approx(1.0)


def test_stf_block_size_changes_neither_values_nor_gradients():
    torch.manual_seed(0)
    query = torch.randn(3, 50, 8, dtype=torch.float64, requires_grad=True)
    key = torch.randn(3, 70, 8, dtype=torch.float64, requires_grad=True)
    # the gradient of the dense maximum over the similarity matrix
    dense = (F.normalize(query, dim=-1) @ F.normalize(key, dim=-1).transpose(
        1, 2)).max(-1)
    reference = torch.autograd.grad(dense.values.sum(), (query, key))
    for block in (1, 7, 1000):
        stf = SelfTextureFusion(8, query_block=block)
        score, index = stf.retrieve(query, key)
        assert torch.equal(index, dense.indices)
        assert torch.allclose(score, dense.values, atol=1e-12)
        grads = torch.autograd.grad(score.sum(), (query, key))
        for ours, ref in zip(grads, reference):
            assert torch.allclose(ours, ref, atol=1e-12)
    with pytest.raises(ValueError, match='query_block must be >= 1, got 0'):
        SelfTextureFusion(8, query_block=0)


# --------------------------------------------------------------------------
# ISTEHead


def test_paper_head_has_the_sizes_of_the_official_code():
    head = ISTEHead(in_channels=64, hidden_dim=256)
    sizes = {name: sum(p.numel() for p in module.parameters())
             for name, module in head.named_children()}
    mlp = 260 * 256 + 256 + 2 * (256 * 256 + 256) + 256 * 3 + 3
    assert sizes == {
        'lfi': 2 * (64 * 128 + 128) + 64 * 64 + 64,
        'pixel_conv': 64 * 256 * 9 + 256,
        'texture_learner': 3 * (64 * 256 * 9 + 256) + 2 * 256,
        'stf': 512 * 256,
        'pixel_decoder': mlp,
        'texture_decoder': mlp - 4 * 256,
    }
    assert head.lfi.num_heads == 8 and not head.lfi.self_value
    assert not head.lfi.detach_kv and not head.image_skip
    assert head.stf_mode == 'tiled' and head.key_positions.shape == (2304, 2)


@pytest.mark.parametrize('switch,module', [('use_lfi', 'lfi'),
                                           ('use_stf', 'stf'),
                                           ('use_texture_decoder',
                                            'texture_decoder')])
def test_each_ablation_removes_exactly_its_module(switch, module):
    full = dict(_head().named_parameters())
    ablated = dict(_head(**{switch: False}).named_parameters())
    assert set(full) - set(ablated) == {
        name for name in full if name.startswith(module + '.')}
    assert set(ablated) <= set(full)
    assert all(full[n].shape == p.shape for n, p in ablated.items())
    assert getattr(_head(**{switch: False}), module) is None


def _inputs(seed=0, size=(7, 9)):
    gen = torch.Generator().manual_seed(seed)
    feat = torch.randn(1, 8, *size, generator=gen)
    image = torch.randn(1, 3, *size, generator=gen)
    coord = make_coord((19, 23))[None]
    return feat, coord, torch.full_like(coord, 0.1), image


@pytest.mark.parametrize('switch,zeroed', [('use_stf', 'stf.fuse'),
                                           ('use_texture_decoder',
                                            'texture_decoder.2')])
def test_ablation_equals_the_full_head_with_its_module_zeroed(switch, zeroed):
    """w/o STF: p' = p, i.e. a zero fusion layer; w/o LTD: the texture RGB
    is not added, i.e. a zero last texture layer."""
    torch.manual_seed(0)
    full = _head()
    for param in full.get_submodule(zeroed).parameters():
        nn.init.zeros_(param)
    ablated = _head(**{switch: False})
    ablated.load_state_dict(full.state_dict(), strict=False)
    assert torch.allclose(full(*_inputs()), ablated(*_inputs()), atol=1e-6)
    # with the module active the outputs differ
    torch.manual_seed(0)
    assert not torch.allclose(_head()(*_inputs()), ablated(*_inputs()))


def test_without_lfi_the_pixel_conv_reads_the_encoder_features():
    torch.manual_seed(0)
    head = _head(use_lfi=False)
    feat, _, _, image = _inputs()
    assert torch.equal(head.prepare(feat, image)['pixel'],
                       head.pixel_conv(feat))
    head = _head()
    assert torch.equal(head.prepare(feat, image)['pixel'],
                       head.pixel_conv(head.lfi(feat)))


def test_image_skip_adds_the_bilinear_lr_image():
    torch.manual_seed(0)
    head = _head(image_skip=True)
    for layer in (head.pixel_decoder[-1], head.texture_decoder[-1]):
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)
    feat, coord, cell, image = _inputs()
    skip = F.interpolate(image, size=(19, 23), mode='bilinear',
                         align_corners=False)
    assert torch.allclose(head(feat, coord, cell, image),
                          skip.flatten(2).transpose(1, 2), atol=1e-5)
    head.image_skip = False
    assert torch.equal(head(feat, coord, cell, image),
                       torch.zeros(1, 19 * 23, 3))


def test_unknown_stf_mode_and_bad_tiles_are_named():
    with pytest.raises(ValueError, match="got 'tile'"):
        _head(stf_mode='tile')
    with pytest.raises(ValueError, match='got 0 and 40'):
        _head(stf_tile_size=0)


def test_tiles_cover_the_image_and_keys_spread_over_each_tile():
    head = _head(stf_tile_size=48)
    coord = make_coord((128, 1))[None, :, 0]  # LR rows 0..127
    index, starts, size = tile_axis(coord, 128, head.stf_tile_size)
    assert (starts, size) == ([0, 48, 80], 48)  # last tile moved back
    assert index[0].tolist() == [0] * 48 + [1] * 48 + [2] * 32
    index, starts, size = tile_axis(coord[:, :30] * 0, 30, head.stf_tile_size)
    assert (starts, size) == ([0], 30)  # a small image is one tile
    # R2 points: in [0, 1)^2, 2304 of them, 144 +- 4 in each 1/4 x 1/4 cell
    points = r2_positions(2304)
    assert bool((points >= 0).all() and (points < 1).all())
    assert points[0].tolist() == pytest.approx(
        [(0.5 + 1 / 1.324717957244746) % 1,
         (0.5 + 1 / 1.324717957244746**2) % 1])
    counts = torch.bincount(((points * 4).floor() @ torch.tensor([4., 1.]))
                            .long(), minlength=16)
    assert int(counts.min()) >= 140 and int(counts.max()) <= 148


def test_tile_keys_are_the_textures_at_the_key_positions():
    torch.manual_seed(0)
    head = _head(stf_tile_size=4, stf_num_keys=5)
    feat = torch.randn(1, 8, 10, 7)
    maps = head.texture_learner.maps(feat)
    rel_cell = torch.tensor([0.3, 0.2])
    keys = head.tile_keys(maps, (6, 3), (4, 4), rel_cell)
    # key k sits at LR position start + u_k * size, i.e. coordinate
    # 2 * position / (h, w) - 1; its textures are those of a query there
    position = torch.tensor([6., 3.]) + head.key_positions * 4
    coord = position / torch.tensor([10., 7.]) * 2 - 1
    q = ensemble_query(coord[None], (10, 7))
    rows, cols = q.row[0], q.col[0]
    assert bool(((rows >= 5) & (rows <= 10) & (cols >= 2) & (cols <= 7))
                .all())
    codes = maps[0].permute(1, 2, 0)[rows, cols]
    assert torch.allclose(
        keys, head.texture_learner(codes, q.rel_coord[0], rel_cell))


def _model(mode, chunk, **head):
    init_default_scope('pathsr')
    torch.manual_seed(0)
    return MODELS.build(
        dict(type='ImplicitSRModel',
             encoder=dict(type='EDSR', arch=None, num_blocks=1,
                          mid_channels=8, res_scale=1.0, upscale_factor=None),
             head=dict(type='ISTEHead', hidden_dim=16, lfi_heads=2,
                       pixel_decoder=SMALL_MLP, texture_decoder=SMALL_MLP,
                       stf_mode=mode, stf_tile_size=6, stf_num_keys=40,
                       **head),
             eval_chunk=chunk, cell_clip_scale=4.0))


def _predict(model, lr, out_shape, scale):
    sample = SRDataSample(metainfo=dict(lr_shape=tuple(lr.shape[-2:]),
                                        out_shape=out_shape, scale=scale))
    data = model.data_preprocessor(dict(inputs=[lr], data_samples=[sample]))
    return model(**data, mode='predict')[0].pred_img


@pytest.mark.parametrize('scale,out_shape', [(2.7, (35, 27)), (6, (78, 60))])
def test_tiled_stf_prediction_does_not_depend_on_the_chunk(scale, out_shape):
    """Equal up to rounding: the MLPs' matrix products may round the last
    bit differently for another number of rows (BLAS blocking), as for every
    head, but the retrieved keys are the same; the faithful pool moves the
    outputs by orders of magnitude more."""
    lr = torch.randint(0, 256, (3, 13, 10), dtype=torch.uint8,
                       generator=torch.Generator().manual_seed(0))
    for dtype in (torch.float64, torch.float32):
        model = _model('tiled', chunk=97).to(dtype)
        small = _predict(model, lr, out_shape, scale)
        model.eval_chunk = 100000
        whole = _predict(model, lr, out_shape, scale)
        assert small.shape == (3, *out_shape)
        assert bool(((small > 0) & (small < 1)).float().mean() > 0.9)
        atol = 1e-12 if dtype == torch.float64 else 1e-6
        assert torch.allclose(small, whole, rtol=0, atol=atol)
    # the official pool (the chunk's queries) gives other values per chunk
    model.head.stf_mode = 'faithful'
    faithful = _predict(model, lr, out_shape, scale)
    model.eval_chunk = 97
    assert (faithful - _predict(model, lr, out_shape, scale)).abs().max() \
        > 1e-3


def test_faithful_stf_pools_the_textures_of_the_call():
    """In 'faithful' mode the keys are the textures of the queries passed
    together, so one query's output equals the STF over that pool."""
    torch.manual_seed(0)
    head = _head(stf_mode='faithful')
    feat, coord, cell, image = _inputs()
    state = head.prepare(feat, image)
    out = head.query(state, coord, cell)
    q = ensemble_query(coord, (7, 9))
    rel_cell = cell[:, None] * torch.tensor([7., 9.])
    texture = head.texture_learner(
        state['texture'][0].permute(1, 2, 0)[q.row, q.col], q.rel_coord,
        rel_cell)
    pixel = state['pixel'][0].permute(1, 2, 0)[q.row, q.col]
    fused = head.stf(pixel, texture)  # pool: all 437 queries, per shift
    pred = head.pixel_decoder(
        torch.cat([fused, q.rel_coord, rel_cell.expand_as(q.rel_coord)], -1))
    pred = pred + head.texture_decoder(texture)
    assert torch.allclose(out, (pred * q.weight[..., None]).sum(1),
                          atol=1e-6)
    # fewer queries in the call, another pool, other outputs
    assert not torch.allclose(out[:, :100], head.query(state, coord[:, :100],
                                                       cell[:, :100]))


def test_tiled_stf_needs_one_cell_per_image():
    head = _head()
    feat, coord, cell, image = _inputs()
    cell[0, 5] = 0.2
    with pytest.raises(ValueError, match='one cell .* image 0 has 2'):
        head(feat, coord, cell, image)


@pytest.mark.parametrize('mode', ['tiled', 'faithful'])
def test_loss_trains_every_parameter(mode):
    model = _model(mode, chunk=100, detach_kv=False)
    model.pixel_loss = MODELS.build(dict(type='L1Loss'))
    model.num_queries = 60
    samples = [SRDataSample(gt_img=torch.randint(0, 256, (3, 20, 20),
                                                  dtype=torch.uint8))
               for _ in range(2)]
    data = model.data_preprocessor(dict(
        inputs=[torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)] * 2,
        data_samples=samples), True)
    model(**data, mode='loss')['loss'].backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


# --------------------------------------------------------------------------
# configs

PAPER = 'configs/iste/iste-swinir_tma_x1-4.py'


def test_paper_configs_use_the_official_sizes_and_recipe():
    cfg = Config.fromfile(str(REPO / PAPER))
    assert cfg.model.encoder == dict(type='SwinIR', arch='classical',
                                     upscale_factor=None)
    head = cfg.model.head
    assert (head.type, head.hidden_dim, head.lfi_heads) == ('ISTEHead', 256,
                                                            8)
    assert head.pixel_decoder.hidden_list == [256] * 3
    assert head.texture_decoder.hidden_list == [256] * 3
    assert (head.self_value, head.detach_kv, head.image_skip) == (False,
                                                                  False,
                                                                  False)
    assert (head.stf_mode, head.stf_tile_size,
            head.stf_num_keys) == ('tiled', 48, 2304)
    assert cfg.model.cell_clip_scale == 4.0
    assert (cfg.model.num_queries, cfg.model.eval_chunk) == (2304, 30000)
    assert cfg.model.pixel_loss.type == 'L1Loss'
    degradation = cfg.train_dataloader.dataset.pipeline[1]
    assert (degradation.lr_size, degradation.blur) == (48, True)
    assert cfg.test_dataloader.dataset.pipeline[1].blur is True
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=2e-4)
    assert cfg.param_scheduler[0].milestones == [500_000, 800_000, 900_000,
                                                 950_000]
    assert cfg.train_cfg.max_iters == 1_000_000
    lung = Config.fromfile(str(REPO / 'configs/iste/'
                               'iste-swinir_tcga-lung_x1-4.py'))
    assert lung.model == cfg.model
    assert lung.train_dataloader.dataset.data_root == 'data/tcga_lung'
    assert cfg.train_dataloader.dataset.data_root == 'data/tma'


@pytest.mark.parametrize('ablation,switch', [('wo-lfi', 'use_lfi'),
                                             ('wo-stf', 'use_stf'),
                                             ('wo-ltd', 'use_texture_decoder')
                                             ])
@pytest.mark.parametrize('base,name', [
    (PAPER, 'configs/iste/iste-swinir-{}_tma_x1-4.py'),
    ('configs/iste/iste-swinir-tiny_demo_x1-4.py',
     'configs/iste/iste-swinir-tiny-{}_demo_x1-4.py')
])
def test_ablation_configs_differ_from_iste_by_one_switch(
        ablation, switch, base, name):
    full = Config.fromfile(str(REPO / base)).to_dict()
    cfg = Config.fromfile(str(REPO / name.format(ablation))).to_dict()
    assert cfg['model']['head'].pop(switch) is False
    assert full['model']['head'].pop(switch) is True
    assert cfg['model'] == full['model']
    assert cfg['train_dataloader'] == full['train_dataloader']
    assert cfg['param_scheduler'] == full['param_scheduler']


@pytest.mark.parametrize('mode', ['tiled', 'faithful'])
def test_bf16_prediction_stays_close_to_float32(mode):
    """``amp_predict`` runs the decoders in bf16 (the texture sinusoids in
    float32); the image moves by bf16 rounding only."""
    model = _model(mode, chunk=500).eval()
    lr = torch.randint(0, 256, (3, 13, 10), dtype=torch.uint8,
                       generator=torch.Generator().manual_seed(3))
    sample = lambda: SRDataSample(metainfo=dict(  # noqa: E731
        lr_shape=(13, 10), out_shape=(35, 27), scale=2.7))
    ref = model.test_step(dict(inputs=[lr], data_samples=[sample()]))
    model.amp_predict = True
    amp = model.test_step(dict(inputs=[lr], data_samples=[sample()]))
    diff = (amp[0].pred_img - ref[0].pred_img).abs().max()
    assert amp[0].pred_img.dtype == torch.float32
    assert 0 < diff < 0.03

"""Mixed precision and torch.compile: the bf16 paths stay close to float32,
the float32 regions protect the sinusoidal bases, the AMP training step
runs through mmengine's AmpOptimWrapper, and compiled networks equal the
eager ones with unchanged parameter names."""
import copy

import torch
from mmengine.optim import AmpOptimWrapper
from mmengine.registry import init_default_scope

from pathsr.models.heads import LTEHead
from pathsr.models.layers.texture_learner import TextureLearner
from pathsr.registry import MODELS
from pathsr.structures import SRDataSample, make_coord

TINY_LTE = dict(
    type='ImplicitSRModel',
    encoder=dict(type='EDSR', arch=None, num_blocks=1, mid_channels=8,
                 res_scale=1.0, upscale_factor=None),
    head=dict(type='LTEHead', hidden_dim=16,
              imnet=dict(type='MLP', hidden_list=[32])),
    pixel_loss=dict(type='L1Loss'),
    num_queries=64,
    eval_chunk=500)


def _build(cfg=TINY_LTE, seed=0):
    init_default_scope('pathsr')
    torch.manual_seed(seed)
    return MODELS.build(copy.deepcopy(cfg))


def _predict(model, lr, out_shape=(30, 35)):
    sample = SRDataSample(metainfo=dict(
        lr_shape=tuple(lr.shape[-2:]), out_shape=out_shape, scale=2.5))
    return model.test_step(dict(inputs=[lr], data_samples=[sample]))[0]


def _lr(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (3, 12, 14), generator=g, dtype=torch.uint8)


def _queries(n=300):
    coord = make_coord((30, 35))[None, :n]
    return coord, torch.full_like(coord, 2 / 30)


def test_lte_fourier_basis_stays_float32_under_bf16_autocast():
    """With phases of tens of periods, bf16 rounding of ``t`` alone would
    move the output by O(1); the float32 region keeps it at MLP rounding."""
    init_default_scope('pathsr')
    torch.manual_seed(0)
    head = LTEHead(in_channels=4, hidden_dim=16,
                   imnet=dict(type='MLP', hidden_list=[32])).eval()
    with torch.no_grad():
        head.freq.weight.mul_(40)
    feat, image = torch.randn(1, 4, 12, 14), torch.randn(1, 3, 12, 14)
    coord, cell = _queries()
    with torch.no_grad():
        ref = head(feat, coord, cell, image)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            amp = head(feat, coord, cell, image)
        # what a bf16 phase alone would do: round t before cos/sin
        state = head.prepare(feat, image)
        t_scale = state['freq'].abs().amax() * 2
    assert t_scale > 20  # the phases span tens of periods
    assert (amp.float() - ref).abs().max() < 0.05
    assert ref.abs().max() > 0.3


def test_texture_learner_sinusoid_stays_float32_under_bf16_autocast():
    torch.manual_seed(0)
    learner = TextureLearner(in_channels=4, texture_dim=8).eval()
    with torch.no_grad():
        learner.freq_x.weight.mul_(40)
        learner.freq_y.weight.mul_(40)
    feat = torch.randn(1, 4, 6, 7)
    codes = learner.maps(feat).permute(0, 2, 3, 1).flatten(1, 2)
    rel = torch.rand(1, codes.shape[1], 2) * 4 - 2
    cell = torch.full_like(rel, 0.4)
    with torch.no_grad():
        ref = learner(codes, rel, cell)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            amp_codes = learner.maps(feat).permute(0, 2, 3, 1).flatten(1, 2)
            amp = learner(amp_codes, rel, cell)
        naive = codes[..., :8] * torch.sin(
            (codes[..., 8:16] * rel[..., :1] + codes[..., 16:] * rel[..., 1:]
             + 2 * torch.pi * torch.sigmoid(learner.phase(cell))).bfloat16()
            .float())
    assert amp.dtype == torch.float32
    assert torch.allclose(amp, ref, atol=1e-5)
    assert (naive - ref).abs().max() > 0.1  # what the region prevents


def test_amp_predict_runs_bf16_close_to_float32():
    model = _build().eval()
    lr = _lr()
    ref = _predict(model, lr).pred_img
    dtypes = []
    hook = model.head.imnet[0].register_forward_hook(
        lambda mod, args, out: dtypes.append(out.dtype))
    model.amp_predict = True
    amp = _predict(model, lr).pred_img
    hook.remove()
    assert dtypes and set(dtypes) == {torch.bfloat16}
    assert amp.dtype == torch.float32
    assert 0 < (amp - ref).abs().max() < 0.02


def test_amp_predict_of_a_fixed_scale_model_returns_float32():
    init_default_scope('pathsr')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='FixedScaleSRModel',
        generator=dict(type='EDSR', arch=None, num_blocks=1, mid_channels=8,
                       res_scale=1.0, upscale_factor=2))).eval()
    lr = _lr()
    sample = lambda: SRDataSample(metainfo=dict(  # noqa: E731
        lr_shape=(12, 14), out_shape=(24, 28), scale=2))
    ref = model.test_step(dict(inputs=[lr], data_samples=[sample()]))
    model.amp_predict = True
    amp = model.test_step(dict(inputs=[lr], data_samples=[sample()]))
    assert amp[0].pred_img.dtype == torch.float32
    assert 0 < (amp[0].pred_img - ref[0].pred_img).abs().max() < 0.02


def test_amp_training_step_through_mmengines_amp_optim_wrapper(monkeypatch):
    """The path ``tools/train.py --amp`` takes on a GPU. mmengine refuses to
    build AmpOptimWrapper without an accelerator, so the test lifts that
    check; autocast then runs bf16 on the CPU and the grad scaler is off."""
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    model = _build().train()
    before = model.head.imnet[0].weight.detach().clone()
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
        dtype='bfloat16')
    dtypes = []
    model.head.imnet[0].register_forward_hook(
        lambda mod, args, out: dtypes.append(out.dtype))
    g = torch.Generator().manual_seed(1)
    data = dict(
        inputs=[torch.randint(0, 256, (3, 8, 8), generator=g,
                              dtype=torch.uint8)] * 2,
        data_samples=[SRDataSample(gt_img=torch.randint(
            0, 256, (3, 20, 20), generator=g, dtype=torch.uint8))
            for _ in range(2)])
    log = model.train_step(data, wrapper)
    assert set(dtypes) == {torch.bfloat16}
    assert torch.isfinite(log['loss'])
    weight = model.head.imnet[0].weight
    assert weight.dtype == torch.float32
    assert not torch.equal(weight.detach(), before)


def test_compiled_networks_equal_eager_and_keep_parameter_names():
    model = _build(dict(TINY_LTE, head=dict(
        type='LIIFHead', imnet=dict(type='MLP', hidden_list=[16])))).eval()
    lr = _lr()
    names = list(model.state_dict())
    eager = _predict(model, lr).pred_img
    model.compile_networks()
    model.compile_networks()  # a second call changes nothing
    compiled = _predict(model, lr).pred_img
    assert list(model.state_dict()) == names
    assert torch.allclose(compiled, eager, atol=1e-5)

"""M-HAB (MiHATP Eq. 4), the MiHATP backbone and the dual-branch model."""
import math

import pytest
import torch
import torch.nn.functional as F

from pathsr.models.backbones import HAT
from pathsr.models.editors import FixedScaleSRModel, MiHATP
from pathsr.models.layers import (HAB, MHAB, MRHAG, RHAG, window_partition,
                                  window_reverse)
from pathsr.registry import MODELS
from pathsr.structures import SRDataSample

DEMO_DAT = dict(offset_groups=2, kv_stride=2, rpe_table_size=16)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def window_attention(block: HAB, x_n: torch.Tensor) -> torch.Tensor:
    """(S)W-MSA of a normalised map (B, H, W, C), written out step by step."""
    b, h, w, c = x_n.shape
    shift = block.shift_size
    mask = block.attn_mask(h, w, x_n.device) if shift else None
    rolled = torch.roll(x_n, (-shift, -shift), (1, 2))
    out = window_reverse(
        block.attn(window_partition(rolled, block.window_size), mask),
        block.window_size, h, w)
    return torch.roll(out, (shift, shift), (1, 2)).reshape(b, h * w, c)


@pytest.mark.parametrize('shift', [0, 4])
def test_mhab_computes_equation_4(shift):
    torch.manual_seed(0)
    block = MHAB(16, 2, window_size=8, shift_size=shift, compress_ratio=2,
                 squeeze_factor=4, conv_scale=0.3, dat_scale=0.7,
                 dat_cfg=DEMO_DAT).eval()
    # move the offsets off the reference grid so DAT is not trivial
    torch.nn.init.normal_(block.deformable_attn.conv_offset[-1].weight)
    h, w = 8, 16
    x = torch.randn(2, h * w, 16)
    x_norm = block.norm1(x)
    image = x_norm.transpose(1, 2).reshape(2, 16, h, w)

    def tokens(t):
        return t.flatten(2).transpose(1, 2)

    x_med = (window_attention(block, x_norm.view(2, h, w, 16)) +
             0.3 * tokens(block.conv_block(image)) +
             0.7 * tokens(block.deformable_attn(image)))
    expected = x_norm + block.mlp(block.norm2(x_med + x)) + x_med + x
    torch.testing.assert_close(block(x, (h, w)), expected, atol=1e-5, rtol=0)
    # without the printed X_Norm term the output drops exactly x_norm
    block.norm_residual = False
    torch.testing.assert_close(
        block(x, (h, w)), expected - x_norm, atol=1e-5, rtol=0)


def test_mhab_without_dat_and_norm_term_is_a_hab():
    torch.manual_seed(0)
    kwargs = dict(window_size=8, shift_size=4, compress_ratio=2,
                  squeeze_factor=4)
    mhab = MHAB(16, 2, dat_scale=0., norm_residual=False, dat_cfg=DEMO_DAT,
                **kwargs).eval()
    hab = HAB(16, 2, **kwargs).eval()
    missing = hab.load_state_dict(mhab.state_dict(), strict=False)
    assert missing.missing_keys == []
    assert all(key.startswith('deformable_attn.')
               for key in missing.unexpected_keys)
    x = torch.randn(1, 8 * 16, 16)
    torch.testing.assert_close(mhab(x, (8, 16)), hab(x, (8, 16)))


def test_mihatp_backbone_differs_from_hat_by_the_dat_branches():
    hat = HAT('demo', upscale_factor=4)
    mihatp = MODELS.build(
        dict(type='HAT', arch='demo', upscale_factor=4,
             block_cfg=dict(type='MHAB', dat_cfg=DEMO_DAT)))
    blocks = [block for layer in mihatp.layers for block in layer.blocks]
    assert len(blocks) == 4 and all(isinstance(b, MHAB) for b in blocks)
    dat = sum(count(block.deformable_attn) for block in blocks)
    assert count(mihatp) - count(hat) == dat
    # its residual groups are M-RHAGs, HAT's are plain RHAGs; the parameter
    # names are those of HAT plus the DAT branches
    assert all(type(layer) is MRHAG for layer in mihatp.layers)
    assert all(type(layer) is RHAG for layer in hat.layers)
    assert set(hat.state_dict()) == {
        k for k in mihatp.state_dict() if '.deformable_attn.' not in k}
    with pytest.raises(ValueError, match="block_cfg.*'MHAB', got 'HAB'"):
        MRHAG(32, 2, 2, window_size=8, block_cfg=dict(type='HAB'))
    # one DAT of C channels, h heads, offset groups G, kernel k, table T:
    # q/k/v/out 1x1 convs, depth-wise offset conv + LN + 1x1 conv to 2,
    # and the (h, 2T - 1, 2T - 1) position-bias table
    c, heads, g, k, t = 32, 2, 2, 5, 16
    per_block = (4 * (c * c + c) + (c // g) * (k * k + 1) + 2 * (c // g) +
                 2 * (c // g) + heads * (2 * t - 1)**2)
    assert dat == 4 * per_block


def test_paper_size_mihatp_parameters_and_x8_padding():
    hat = HAT('paper', upscale_factor=4)
    mihatp = HAT('paper', upscale_factor=4,
                 block_cfg=dict(type='MHAB', dat_cfg=dict(rpe_table_size=48)))
    extra = count(mihatp) - count(hat)
    print(f'HAT x4 {count(hat)}, MiHATP x4 {count(mihatp)} parameters')
    # per M-HAB: 4 (180^2 + 180) + 60 (25 + 1) + 120 + 120 + 6 * 95^2
    assert extra == 36 * (4 * (180**2 + 180) + 60 * 26 + 240 + 6 * 95**2)
    # x8 on a 192 px HR patch: the 24 px LR is padded to the 16 px window
    x8 = HAT('paper', upscale_factor=8, depths=(1, ), num_heads=(6, ),
             block_cfg=dict(type='MHAB')).eval()
    lr = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        out = x8(lr)
        padded = x8(F.pad(lr, (0, 8, 0, 8), mode='reflect'))
    assert out.shape == (1, 3, 192, 192)
    torch.testing.assert_close(out, padded[..., :192, :192])


def demo_generator(**block):
    return dict(type='HAT', arch='demo', upscale_factor=2,
                drop_path_rate=0.,
                block_cfg=dict(type='MHAB', dat_cfg=DEMO_DAT, **block))


def image_only_loss(**kwargs):
    return dict(type='TransformationPoolContrastiveLoss', extractor=None,
                **kwargs)


def samples(gt):
    return [SRDataSample(gt_img=img) for img in gt]


def test_equivariant_generator_gives_hand_computable_losses():
    """Bicubic upsampling commutes with the dihedral transforms, so every
    positive equals the base output; with the upsampled LR as the only
    negative, anchor, positive and negative coincide and each InfoNCE term
    is -log(e^{1/tau} / (2 e^{1/tau})) = log 2 (the LR stays inside
    [0.25, 0.75], so the clamped negative is not clipped)."""
    model = MiHATP(
        generator=dict(type='Bicubic', upscale_factor=2),
        contrastive_loss=image_only_loss(loss_weight=1.),
        reversible_pool=dict(type='ReversibleTransformPool', num_samples=8),
        irreversible_pool=None,
        lr_negative=True,
        share_weights=True)
    g = torch.Generator().manual_seed(0)
    gt = torch.rand(2, 3, 16, 16, generator=g)
    lr = 0.25 + 0.5 * torch.rand(2, 3, 8, 8, generator=g)  # no overshoot
    inputs = model.data_preprocessor.normalize(lr)
    losses = model.loss(inputs, samples(gt))
    torch.testing.assert_close(losses['loss_con'], losses['loss_base'])
    assert losses['loss_cl'].item() == pytest.approx(math.log(2), abs=1e-4)


def test_positives_are_inverse_transformed_branch_outputs():
    torch.manual_seed(0)
    model = MiHATP(
        generator=demo_generator(),
        contrastive_loss=image_only_loss(),
        reversible_pool=dict(type='ReversibleTransformPool', num_samples=3),
        irreversible_pool=None,
        lr_negative=True)
    x = torch.randn(2, 3, 8, 16)  # non-square: rot90 runs on (16, 8)
    torch.manual_seed(1)
    positives = model._positives(x)
    torch.manual_seed(1)
    ks = model.reversible_pool.sample()
    assert positives.shape == (2, 3, 3, 16, 32)
    for i, k in enumerate(ks):
        pool = model.reversible_pool
        expected = pool.inverse(model.contrastive_generator(pool(x, k)), k)
        torch.testing.assert_close(positives[:, i], expected, atol=1e-5,
                                   rtol=1e-4)


def test_two_branches_separate_or_shared():
    base = dict(generator=demo_generator(),
                contrastive_loss=image_only_loss())
    model = MiHATP(**base)
    generator = count(model.generator)
    assert count(model.contrastive_generator) == generator
    assert count(model) == 2 * generator
    assert not any(
        p is q for p, q in zip(model.generator.parameters(),
                               model.contrastive_generator.parameters()))
    shared = MiHATP(**base, share_weights=True)
    assert shared.contrastive_generator is None and count(shared) == generator
    # without positives there is no contrastive branch at all
    no_rtp = MiHATP(**base, reversible_pool=None)
    assert count(no_rtp) == generator
    with pytest.raises(ValueError, match='no contrastive term'):
        MiHATP(**base, reversible_pool=None, irreversible_pool=None)
    with pytest.raises(ValueError, match='share_weights'):
        MiHATP(**base, share_weights=True,
               contrastive_generator=demo_generator())


def test_training_step_reaches_both_branches():
    torch.manual_seed(0)
    model = MiHATP(
        generator=demo_generator(),
        contrastive_loss=dict(
            type='TransformationPoolContrastiveLoss',
            extractor=dict(type='VGGFeatureExtractor', layers=('relu1_1', ),
                           random_init=True)))
    gt = torch.rand(2, 3, 32, 32)
    inputs = model.data_preprocessor.normalize(
        F.interpolate(gt, scale_factor=0.5, mode='area'))
    losses = model.loss(inputs, samples(gt))
    assert set(losses) == {'loss_base', 'loss_con', 'loss_cl'}
    sum(losses.values()).backward()
    for branch in (model.generator, model.contrastive_generator):
        assert branch.conv_first.weight.grad.abs().sum() > 0
    # the frozen VGG is neither trained nor checkpointed
    assert not any('extractor' in key for key in model.state_dict())
    assert not any('extractor' in name
                   for name, _ in model.named_parameters())


def test_ablations_drop_their_loss_terms():
    base = dict(generator=demo_generator(),
                contrastive_loss=image_only_loss(loss_weight=1.))
    gt = torch.rand(1, 3, 32, 32)
    inputs = torch.randn(1, 3, 16, 16)
    no_rtp = MiHATP(**base, reversible_pool=None).loss(inputs, samples(gt))
    assert set(no_rtp) == {'loss_base', 'loss_cl'}
    # w/o ITP: the negatives' similarity is 1, so with one positive of
    # cosine s (per pixel, averaged) the term is log(1 + e^{(1 - s) / tau})
    model = MiHATP(**base, irreversible_pool=None)
    torch.manual_seed(0)
    losses = model.loss(inputs, samples(gt))
    torch.manual_seed(0)
    anchor = model.data_preprocessor.denormalize(model.generator(inputs))
    positive = model.data_preprocessor.denormalize(
        model._positives(inputs)[:, 0])
    s = F.cosine_similarity(anchor, positive, dim=1).mean()
    expected = torch.log1p(torch.exp((1 - s) / 0.05))
    torch.testing.assert_close(losses['loss_cl'], expected)


def test_predict_runs_the_base_branch_only():
    torch.manual_seed(0)
    model = MiHATP(generator=demo_generator(),
                   contrastive_loss=image_only_loss()).eval()
    plain = FixedScaleSRModel(generator=demo_generator()).eval()
    plain.generator.load_state_dict(model.generator.state_dict())
    inputs = torch.rand(1, 3, 16, 16)
    meta = dict(out_shape=(32, 32))
    out = model.predict(inputs, [SRDataSample(metainfo=meta)])[0].pred_img
    ref = plain.predict(inputs, [SRDataSample(metainfo=meta)])[0].pred_img
    torch.testing.assert_close(out, ref)

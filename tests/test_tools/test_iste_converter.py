"""tools/model_converters/iste_official_to_pathsr.py: a checkpoint with the
released ISTE key names becomes one that tools/test.py runs; missing,
misshaped and unknown keys are refused by name."""
import json
import math
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from pathsr.registry import MODELS

DEMO = 'configs/iste/iste-swinir-tiny_demo_x1-4.py'
CONVERTER = 'tools/model_converters/iste_official_to_pathsr.py'
# the demo with every switch of the released preset
RELEASED = [
    'model.head.lfi_token_layout=released', 'model.head.detach_kv=True',
    'model.head.stf_mode=faithful'
]


def released_state_dict() -> dict:
    """A random state dict with the released names and the demo's sizes
    (SwinIR 'demo', 32 features; maps/fusion 64; MLPs 128 x 2): LTE's
    SwinIR keys (``residual_group``, ``patch_embed.norm``, stored masks)
    and the ISTE module names of models/iste.py and models/pixattn.py."""
    gen = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=gen)

    sd = {}
    init_default_scope('pathsr')
    encoder = MODELS.build(Config.fromfile(DEMO).model.encoder)
    for key, value in encoder.state_dict().items():
        key = key.replace('patch_norm.', 'patch_embed.norm.')
        if '.blocks.' in key:
            key = key.replace('.blocks.', '.residual_group.blocks.', 1)
        sd['encoder.' + key] = rand(*value.shape)
    sd['encoder.layers.0.residual_group.blocks.1.attn_mask'] = torch.zeros(
        36, 64, 64)
    sd['encoder.layers.0.residual_group.blocks.0.attn.'
       'relative_position_index'] = torch.zeros(64, 64, dtype=torch.long)
    c, d = 32, 64
    for name, shape in {
            'pix_attn.qk_linear': (2 * c, c), 'pix_attn.kv_linear': (2 * c, c),
            'pix_attn.proj': (c, c), 'pix_attn.depth_conv': (c, 1, 1, 1),
            'liifconv': (d, c, 3, 3), 'coef': (d, c, 3, 3),
            'freq1': (d, c, 3, 3), 'freq2': (d, c, 3, 3)}.items():
        sd[f'{name}.weight'] = rand(*shape)
        sd[f'{name}.bias'] = rand(shape[0])
    sd['phase.weight'] = rand(d, 2)
    sd['fusionlinear.weight'] = rand(d, 2 * d)
    for mlp, in_dim in (('imnet_rgb', d + 4), ('imnet_texture', d),
                        ('imnet_texture_auxiliary', d), ('imnet_query', 3)):
        dims = [in_dim, 128, 128, 3]
        for i, (fan_in, fan_out) in enumerate(zip(dims, dims[1:])):
            sd[f'{mlp}.layers.{2 * i}.weight'] = rand(fan_out, fan_in) / 10
            sd[f'{mlp}.layers.{2 * i}.bias'] = rand(fan_out) / 10
    return sd


def _save(path, sd):
    torch.save({'model': {'name': 'iste', 'args': {}, 'sd': sd}}, path)
    return path


@pytest.fixture(scope='module')
def data_root(tmp_path_factory, write_tiles):
    root = tmp_path_factory.mktemp('converter_data')
    write_tiles(root / 'val', 1, size=48)
    write_tiles(root / 'train', 1, size=48)
    return root


def test_converted_released_checkpoint_runs_in_the_test_tool(
        tmp_path, data_root, run_tool):
    sd = released_state_dict()
    src = _save(tmp_path / 'iste_released.pth', sd)
    dst = tmp_path / 'pathsr.pth'
    proc = run_tool([CONVERTER, DEMO, str(src), str(dst), '--cfg-options',
                     *RELEASED])
    for unused in ('imnet_query.layers.0.weight', 'pix_attn.depth_conv.bias',
                   'imnet_texture_auxiliary.layers.4.bias',
                   'encoder.layers.0.residual_group.blocks.1.attn_mask'):
        assert f'unused by the released forward, not converted: {unused}' \
            in proc.stdout
    ckpt = torch.load(dst, weights_only=True)
    state = ckpt['state_dict']
    assert 'imnet_query.layers.0.weight' in \
        ckpt['meta']['unused_released_keys']
    for released, ours in [
        ('pix_attn.qk_linear.weight', 'head.lfi.qk.weight'),
        ('pix_attn.kv_linear.bias', 'head.lfi.kv.bias'),
        ('coef.weight', 'head.texture_learner.amplitude.weight'),
        ('freq1.bias', 'head.texture_learner.freq_x.bias'),
        ('freq2.weight', 'head.texture_learner.freq_y.weight'),
        ('fusionlinear.weight', 'head.stf.fuse.weight'),
        ('imnet_rgb.layers.4.weight', 'head.pixel_decoder.4.weight'),
        ('imnet_texture.layers.2.bias', 'head.texture_decoder.2.bias'),
        ('liifconv.weight', 'head.pixel_conv.weight'),
        ('encoder.layers.1.residual_group.blocks.1.attn.qkv.weight',
         'encoder.layers.1.blocks.1.attn.qkv.weight'),
        ('encoder.patch_embed.norm.weight', 'encoder.patch_norm.weight'),
    ]:
        assert torch.equal(state[ours], sd[released])
    # every parameter of the model is filled (a strict load)
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict(dict(a.split('=') for a in RELEASED))
    init_default_scope('pathsr')
    load_checkpoint(MODELS.build(cfg.model), str(dst), strict=True)
    out = tmp_path / 'results.json'
    run_tool(['tools/test.py', DEMO, str(dst), '--work-dir',
              str(tmp_path / 'test'), '--out', str(out), '--cfg-options',
              f'data_root={data_root}', 'test_cfg.scales=[2,4]', *RELEASED])
    metrics = json.loads(out.read_text())['metrics']
    assert list(metrics) == ['x2/PSNR', 'x2/SSIM', 'x4/PSNR', 'x4/SSIM']
    assert all(math.isfinite(v) for v in metrics.values())


@pytest.mark.parametrize('damage,message', [
    ('missing', r'model keys missing from the released checkpoint: '
     r"\['head.stf.fuse.weight'\]"),
    ('misshaped', r"shapes differ: \['head.lfi.proj.weight: released "
     r'\(32, 31\), model \(32, 32\)'),
    ('unknown', r"released keys with no place in the config's model: "
     r"\['pix_attn.extra.weight'\]"),
])
def test_convert_refuses_damaged_state_dicts_naming_the_keys(
        load_tool, damage, message):
    sd = released_state_dict()
    if damage == 'missing':
        del sd['fusionlinear.weight']
    elif damage == 'misshaped':
        sd['pix_attn.proj.weight'] = torch.zeros(32, 31)
    else:
        sd['pix_attn.extra.weight'] = torch.zeros(3)
    cfg = Config.fromfile(DEMO)
    target = MODELS.build(cfg.model).state_dict()
    with pytest.raises(ValueError, match=message):
        load_tool(CONVERTER).convert('iste', sd, target, 'SwinIR')


def test_converter_tool_fails_in_one_line_and_writes_nothing(
        tmp_path, run_tool):
    sd = released_state_dict()
    sd['pix_attn.proj.weight'] = torch.zeros(32, 31)
    dst = tmp_path / 'out.pth'
    proc = run_tool([CONVERTER, DEMO, str(_save(tmp_path / 'src.pth', sd)),
                     str(dst), '--cfg-options', *RELEASED], check=False)
    assert proc.returncode == 1 and not dst.exists()
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith('iste_official_to_pathsr.py: error: ValueError: '
                            'shapes differ: [\'head.lfi.proj.weight')
    # a LIIF checkpoint is refused for an ISTE config
    torch.save({'model': {'name': 'liif', 'args': {}, 'sd': {}}},
               tmp_path / 'liif.pth')
    proc = run_tool([CONVERTER, DEMO, str(tmp_path / 'liif.pth'), str(dst)],
                    check=False)
    assert "released 'liif' model, but " in proc.stderr
    assert 'builds a ISTEHead' in proc.stderr and not dst.exists()


def test_released_liif_edsr_keys_find_their_place(load_tool):
    """LIIF's EDSR-baseline names (``head.0``, ``body.i.body.{0,2}``, the
    final ``body.n``, the unused mean shifts) and its ``imnet.layers``."""
    init_default_scope('pathsr')
    model = MODELS.build(dict(
        type='ImplicitSRModel',
        encoder=dict(type='EDSR', arch=None, upscale_factor=None,
                     num_blocks=2, mid_channels=8, res_scale=1.0),
        head=dict(type='LIIFHead', imnet=dict(type='MLP',
                                              hidden_list=[16]))))
    target = model.state_dict()
    names = {
        'encoder.head.0': 'encoder.conv_first',
        'encoder.body.2': 'encoder.conv_after_body',
    }
    sd = {}
    for key, value in target.items():
        released = key
        for released_name, ours in names.items():
            released = released.replace(ours + '.', released_name + '.')
        released = re.sub(r'encoder\.body\.(\d)\.conv1\.',
                          r'encoder.body.\1.body.0.', released)
        released = re.sub(r'encoder\.body\.(\d)\.conv2\.',
                          r'encoder.body.\1.body.2.', released)
        released = re.sub(r'head\.imnet\.(\d)\.', r'imnet.layers.\1.',
                          released)
        sd[released] = torch.randn_like(value)
    sd['encoder.sub_mean.weight'] = torch.eye(3).view(3, 3, 1, 1)
    state, unused = load_tool(CONVERTER).convert('liif', sd, target, 'EDSR')
    assert unused == ['encoder.sub_mean.weight']
    assert torch.equal(state['encoder.conv_after_body.weight'],
                       sd['encoder.body.2.weight'])
    assert torch.equal(state['encoder.body.1.conv2.bias'],
                       sd['encoder.body.1.body.2.bias'])
    assert torch.equal(state['head.imnet.2.weight'],
                       sd['imnet.layers.2.weight'])

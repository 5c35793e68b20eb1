"""Convert a released LIIF / LTE / ISTE checkpoint into a pathsr checkpoint.

python tools/model_converters/iste_official_to_pathsr.py CONFIG SRC DST \\
    [--cfg-options KEY=VALUE ...]

``SRC`` is a file saved by the LIIF code base (yinboc/liif,
jaewon-lee-b/lte, dmhdmhdmh/ISTE): ``{'model': {'name', 'args', 'sd'}}``
with released key names (``encoder.*``, ``imnet.*``, ``imnet_rgb.*``,
``pix_attn.*``, ``liifconv.*``, ...). ``CONFIG`` is the pathsr config the
weights are meant for (for ISTE the released preset
``configs/_base_/models/iste-swinir-released.py`` or a config built on it:
the released weights were trained with the released LFI token layout). The
encoder may be the LIIF/LTE SwinIR (no upsampler) or EDSR.

Every released key is renamed by the rules below and checked against the
config's model: a model parameter without a released key, a shape that
differs, or a released key that has no place (and is not a known unused
leftover) stops the conversion with a message naming them. Released
parameters the released forward never calls (``imnet_texture_auxiliary``,
``imnet_query``, ``pix_attn.depth_conv``, EDSR's ``sub_mean``/``add_mean``)
and buffers pathsr recomputes (SwinIR's ``attn_mask`` and
``relative_position_index``) are listed on stdout and in the output's
``meta['unused_released_keys']``. ``DST`` is ``{'meta', 'state_dict'}``,
which ``tools/test.py`` and ``tools/infer.py`` load.
"""
import argparse
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from pathsr.registry import MODELS
from pathsr.utils.cli import run_main


# released model name -> the pathsr head type it converts to
HEAD_TYPES = {'liif': 'LIIFHead', 'lte': 'LTEHead', 'iste': 'ISTEHead'}

# released head keys -> pathsr keys (``None``: unused by the released
# forward, reported)
HEAD_RULES: Dict[str, List[Tuple[str, Optional[str]]]] = {
    'liif': [(r'imnet\.layers\.(\d+)\.', r'head.imnet.\1.')],
    'lte': [(r'coef\.', 'head.coef.'), (r'freq\.', 'head.freq.'),
            (r'phase\.', 'head.phase.'),
            (r'imnet\.layers\.(\d+)\.', r'head.imnet.\1.')],
    'iste': [
        (r'pix_attn\.qk_linear\.', 'head.lfi.qk.'),
        (r'pix_attn\.kv_linear\.', 'head.lfi.kv.'),
        (r'pix_attn\.proj\.', 'head.lfi.proj.'),
        (r'pix_attn\.depth_conv\.', None),
        (r'liifconv\.', 'head.pixel_conv.'),
        (r'coef\.', 'head.texture_learner.amplitude.'),
        (r'freq1\.', 'head.texture_learner.freq_x.'),
        (r'freq2\.', 'head.texture_learner.freq_y.'),
        (r'phase\.', 'head.texture_learner.phase.'),
        (r'fusionlinear\.', 'head.stf.fuse.'),
        (r'imnet_rgb\.layers\.(\d+)\.', r'head.pixel_decoder.\1.'),
        (r'imnet_texture\.layers\.(\d+)\.', r'head.texture_decoder.\1.'),
        (r'imnet_texture_auxiliary\.', None),
        (r'imnet_query\.', None),
    ],
}

# released encoder keys (after ``encoder.``) -> pathsr encoder keys
ENCODER_RULES: Dict[str, List[Tuple[str, Optional[str]]]] = {
    'SwinIR': [
        (r'layers\.(\d+)\.residual_group\.blocks\.(\d+)\.attn_mask$', None),
        (r'layers\.(\d+)\.residual_group\.blocks\.(\d+)\.attn\.'
         r'relative_position_index$', None),
        (r'layers\.(\d+)\.residual_group\.blocks\.', r'layers.\1.blocks.'),
        (r'patch_embed\.norm\.', 'patch_norm.'),
        (r'', ''),
    ],
    'EDSR': [
        (r'sub_mean\.', None),
        (r'add_mean\.', None),
        (r'head\.0\.', 'conv_first.'),
        (r'body\.(\d+)\.body\.0\.', r'body.\1.conv1.'),
        (r'body\.(\d+)\.body\.2\.', r'body.\1.conv2.'),
        (r'body\.(\d+)\.(weight|bias)$', r'conv_after_body.\2'),
    ],
}


def rename(key: str, rules: Sequence[Tuple[str, Optional[str]]],
           prefix: str = '') -> Tuple[bool, Optional[str]]:
    """``(placed, new_key)`` of a released ``key`` by the first rule whose
    pattern matches its start: ``(True, None)`` for a known unused key,
    ``(False, None)`` when no rule matches."""
    for pattern, target in rules:
        match = re.match(pattern, key)
        if match:
            if target is None:
                return True, None
            return True, prefix + match.expand(target) + key[match.end():]
    return False, None


def load_released(path: Path) -> Tuple[str, Dict[str, torch.Tensor]]:
    """The model name and state dict of a released checkpoint."""
    if not path.is_file():
        raise FileNotFoundError(f'{path}: no such checkpoint')
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get('model'),
                                                    dict) \
            or 'sd' not in ckpt['model']:
        raise ValueError(f"{path}: not a LIIF-style checkpoint: expected "
                         f"{{'model': {{'name', 'args', 'sd'}}}}, got keys "
                         f'{sorted(ckpt) if isinstance(ckpt, dict) else ckpt}')
    name = str(ckpt['model'].get('name', '')).lower()
    if name not in HEAD_TYPES:
        raise ValueError(f"{path}: model name {name!r} is not one of "
                         f'{sorted(HEAD_TYPES)}')
    state = {re.sub(r'^module\.', '', k): v
             for k, v in ckpt['model']['sd'].items()}
    return name, state


def convert(name: str, released: Dict[str, torch.Tensor],
            target: Dict[str, torch.Tensor],
            encoder_type: str) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """The pathsr state dict of a released one and the released keys that
    were not used. ``target`` is the pathsr model's state dict (names and
    shapes to fill).

    Raises:
        ValueError: Naming the released keys that have no place, the
            pathsr keys that no released key fills, and the shapes that
            differ.
    """
    if encoder_type not in ENCODER_RULES:
        raise ValueError(f'encoder type {encoder_type!r} has no conversion '
                         f'rules; known: {sorted(ENCODER_RULES)}')
    converted, unused, unplaced = {}, [], []
    for key, value in released.items():
        if key.startswith('encoder.'):
            placed, new = rename(key[len('encoder.'):],
                                 ENCODER_RULES[encoder_type], 'encoder.')
        else:
            placed, new = rename(key, HEAD_RULES[name])
        if not placed or (new is not None and new not in target):
            unplaced.append(key if new is None else f'{key} (-> {new})')
        elif new is None:
            unused.append(key)
        else:
            converted[new] = value
    problems = []
    if unplaced:
        problems.append('released keys with no place in the config\'s '
                        f'model: {unplaced}')
    missing = [k for k in target if k not in converted]
    if missing:
        problems.append(f'model keys missing from the released checkpoint: '
                        f'{missing}')
    misshaped = [
        f'{k}: released {tuple(converted[k].shape)}, model '
        f'{tuple(target[k].shape)}' for k in target
        if k in converted and converted[k].shape != target[k].shape
    ]
    if misshaped:
        problems.append(f'shapes differ: {misshaped}')
    if problems:
        raise ValueError('; '.join(problems))
    return {k: converted[k] for k in target}, unused


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='released LIIF/LTE/ISTE checkpoint -> pathsr checkpoint')
    parser.add_argument('config', help='pathsr config of the model')
    parser.add_argument('src', help='released checkpoint (.pth)')
    parser.add_argument('dst', help='pathsr checkpoint to write')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    name, released = load_released(Path(args.src))
    head_type = cfg.model.head.type
    if head_type != HEAD_TYPES[name]:
        raise ValueError(f'{args.src} holds a released {name!r} model, '
                         f'but {args.config} builds a {head_type}')
    if name == 'iste' and cfg.model.head.get('lfi_token_layout',
                                             'window') != 'released':
        print('warning: the released ISTE weights were trained with the '
              "released LFI token layout; this config uses "
              f"lfi_token_layout={cfg.model.head.get('lfi_token_layout')!r}")
    init_default_scope('pathsr')
    target = MODELS.build(cfg.model).state_dict()
    state, unused = convert(name, released, target, cfg.model.encoder.type)
    for key in unused:
        print(f'unused by the released forward, not converted: {key}')
    dst = Path(args.dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        dict(meta=dict(source=str(args.src), released_model=name,
                       config=str(args.config),
                       unused_released_keys=unused),
             state_dict=state), dst)
    print(f'wrote {dst}: {len(state)} tensors from {len(released)} released '
          f'({len(unused)} unused)')


if __name__ == '__main__':
    run_main(main)

"""tools/analysis_tools/iste_figures.py: the separate decoder outputs add up
to ISTE's prediction, the retrieval map points at the keys STF searched, and
the tool writes its PNGs."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from pathsr.registry import MODELS
from pathsr.structures import SRDataSample

DEMO = 'configs/iste/iste-swinir-tiny_demo_x1-4.py'
TOOL = 'tools/analysis_tools/iste_figures.py'
VAL = sorted(Path('demo/histo_demo/val').glob('*.png'))[0]


def _model(**head):
    init_default_scope('pathsr')
    torch.manual_seed(0)
    cfg = Config.fromfile(DEMO)
    cfg.model.head.update(head)
    cfg.model.eval_chunk = 97
    return MODELS.build(cfg.model).eval()


def _lr():
    return np.random.default_rng(0).integers(0, 256, (13, 10, 3),
                                             dtype=np.uint8)


@pytest.mark.parametrize('mode', ['tiled', 'faithful'])
def test_decoder_parts_add_up_to_the_prediction(load_tool, mode):
    model = _model(stf_mode=mode, stf_tile_size=6, stf_num_keys=100)
    lr, out_shape = _lr(), (35, 27)
    parts = load_tool(TOOL).decompose(model, lr, out_shape)
    sample = SRDataSample(metainfo=dict(lr_shape=(13, 10),
                                        out_shape=out_shape, scale=2.7))
    data = model.data_preprocessor(dict(
        inputs=[torch.from_numpy(lr).permute(2, 0, 1)],
        data_samples=[sample]))
    pred = model(**data, mode='predict')[0].pred_img.permute(1, 2, 0).numpy()
    assert ((pred > 0) & (pred < 1)).mean() > 0.9
    assert np.abs(parts['texture_rgb']).mean() > 1e-3
    assert np.allclose(np.clip(parts['sr'] * 0.5 + 0.5, 0, 1), pred,
                       atol=1e-5)
    # a silent texture decoder: its part is 0, the pixel part is the output
    last = model.head.texture_decoder[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    silent = load_tool(TOOL).decompose(model, lr, out_shape)
    assert not silent['texture_rgb'].any()
    pred = model(**data, mode='predict')[0].pred_img.permute(1, 2, 0).numpy()
    assert np.allclose(np.clip(silent['pixel_rgb'] * 0.5 + 0.5, 0, 1), pred,
                       atol=1e-5)
    assert parts['key_coord'].shape == (35, 27, 2)
    assert np.all(np.abs(parts['score']) <= 1 + 1e-6)
    rows = (np.arange(35) * 2 + 1) / 35 - 1
    if mode == 'tiled':
        # the key lies in the query's 6-px LR tile (the last tile of the 13
        # rows starts at row 7)
        lr_row = np.floor((parts['key_coord'][..., 0] + 1) / 2 * 13)
        query_row = np.floor((rows + 1) / 2 * 13)[:, None]
        tile_start = np.minimum(query_row // 6 * 6, 7)
        assert np.all((lr_row >= tile_start) & (lr_row < tile_start + 6))
    else:
        # the key is a query of the same chunk of 97 (raster order)
        cols = (np.arange(27) * 2 + 1) / 27 - 1
        grid = np.stack(np.meshgrid(rows, cols, indexing='ij'), -1)
        flat = grid.reshape(-1, 2)
        keys = parts['key_coord'].reshape(-1, 2)
        key_index = np.abs(keys[:, None] - flat[None]).sum(-1).argmin(1)
        assert np.allclose(flat[key_index], keys, atol=1e-6)
        assert np.array_equal(key_index // 97, np.arange(len(flat)) // 97)


def test_figures_tool_writes_the_pngs(tmp_path, run_tool):
    proc = run_tool([TOOL, DEMO, str(VAL), '--random-init', '--crop', '64',
                     '--out-dir', str(tmp_path)])
    summary = json.loads(proc.stdout[proc.stdout.index('{'):])
    name = f'{VAL.stem}_x4'
    expected = [f'{name}_{part}.png' for part in (
        'gt', 'lr', 'pixel_decoder', 'sr', 'stf_keys', 'stf_positions',
        'stf_score', 'texture_decoder')]
    assert summary['files'] == expected
    assert summary['lr_shape'] == [16, 16]
    assert summary['out_shape'] == [64, 64]
    assert all((tmp_path / f).stat().st_size > 0 for f in expected)
    proc = run_tool([TOOL, DEMO, str(VAL)], check=False)
    assert proc.returncode == 2 and '--random-init' in proc.stderr

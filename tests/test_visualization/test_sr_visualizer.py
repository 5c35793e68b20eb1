import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from pathsr.registry import VISUALIZERS
from pathsr.visualization import SRVisualizer

H, W, SEP = 8, 12, 2
INFERNO_ZERO = cv2.cvtColor(
    cv2.applyColorMap(np.zeros((1, 1), np.uint8), cv2.COLORMAP_INFERNO),
    cv2.COLOR_BGR2RGB)[0, 0]


def _tiles(panel, n):
    assert panel.shape == (H, n * W + (n - 1) * SEP, 3)
    return [panel[:, i * (W + SEP):i * (W + SEP) + W] for i in range(n)]


def _images():
    gen = torch.Generator().manual_seed(0)
    lr = torch.randint(
        0, 256, (3, H // 2, W // 2), dtype=torch.uint8, generator=gen)
    gt = torch.rand(3, H, W, generator=gen)
    pred = gt.clone()
    pred[:, :, W // 2:] = (pred[:, :, W // 2:] + 0.1).clamp(0, 1)
    return lr, pred, gt


def test_panel_layout_and_tiles():
    vis = SRVisualizer.get_instance(name='test_panel_layout_and_tiles')
    lr, pred, gt = _images()
    panel = vis.add_sr_sample('img', lr, pred, gt, error_gain=4.0)
    assert panel.dtype == np.uint8
    lr_tile, sr_tile, gt_tile, err_tile = _tiles(panel, 4)
    # nearest neighbour x2: every LR pixel becomes a 2x2 block
    expected_lr = lr.permute(1, 2, 0).numpy().repeat(2, 0).repeat(2, 1)
    np.testing.assert_array_equal(lr_tile, expected_lr)
    np.testing.assert_array_equal(
        sr_tile,
        torch.round(pred * 255).permute(1, 2, 0).byte().numpy())
    np.testing.assert_array_equal(
        gt_tile,
        torch.round(gt * 255).permute(1, 2, 0).byte().numpy())
    # separators are white
    for i in range(1, 4):
        assert (panel[:, i * (W + SEP) - SEP:i * (W + SEP)] == 255).all()
    # no error on the left half: colour map at 0, which is (near) black
    assert (err_tile[:, :W // 2] == INFERNO_ZERO).all()
    assert INFERNO_ZERO.max() <= 4
    # right half: inferno(clip(mean |SR - GT| * 4))
    error = ((pred - gt).abs().mean(0) * 4).clamp(0, 1)
    error_u8 = torch.round(error * 255).byte().numpy()
    expected = cv2.cvtColor(
        cv2.applyColorMap(error_u8, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(err_tile, expected)
    assert err_tile[:, W // 2:].astype(int).sum() > err_tile[:, :W // 2].sum()


def test_without_gt_and_float_lr():
    vis = SRVisualizer.get_instance(
        name='test_without_gt_and_float_lr', separator_width=SEP)
    lr, pred, _ = _images()
    panel = vis.add_sr_sample('img', lr.float() / 255, pred)
    lr_tile, sr_tile = _tiles(panel, 2)
    np.testing.assert_array_equal(
        lr_tile,
        lr.permute(1, 2, 0).numpy().repeat(2, 0).repeat(2, 1))
    np.testing.assert_array_equal(
        sr_tile,
        torch.round(pred * 255).permute(1, 2, 0).byte().numpy())


def test_registry_build_writes_png(tmp_path):
    init_default_scope('pathsr')
    vis = VISUALIZERS.build(
        dict(
            type='SRVisualizer',
            name='test_registry_build_writes_png',
            vis_backends=[dict(type='LocalVisBackend')],
            save_dir=str(tmp_path)))
    assert isinstance(vis, SRVisualizer)
    lr, pred, gt = _images()
    panel = vis.add_sr_sample('slide_01', lr, pred, gt, step=7)
    files = glob.glob(osp.join(tmp_path, '**', '*.png'), recursive=True)
    assert [osp.basename(f) for f in files] == ['slide_01_7.png']
    written = cv2.cvtColor(cv2.imread(files[0]), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(written, panel)


def test_errors():
    vis = SRVisualizer.get_instance(name='test_sr_visualizer_errors')
    lr, pred, gt = _images()
    with pytest.raises(ValueError, match='gt shape'):
        vis.add_sr_sample('x', lr, pred, gt[:, :4])
    with pytest.raises(ValueError, match=r'pred must have shape \(3, H, W\)'):
        vis.add_sr_sample('x', lr, pred[None], gt)
    with pytest.raises(TypeError, match='pred must be float'):
        vis.add_sr_sample('x', lr, (pred * 255).byte())
    with pytest.raises(ValueError, match='separator_width'):
        SRVisualizer(name='test_sr_visualizer_bad_sep', separator_width=-1)

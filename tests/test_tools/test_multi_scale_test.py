"""One tools/test.py run evaluates several (also non-integer) scales."""
import json
import math

import pytest
import torch
import torch.nn.functional as F

from pathsr.datasets.transforms import BicubicDegradation, LoadSRImage


def test_multi_scale_bicubic_table_and_hand_computed_psnr(tmp_path, run_tool):
    out = tmp_path / 'bicubic.json'
    proc = run_tool([
        'tools/test.py', 'configs/bicubic/bicubic_demo_x1-4.py',
        '--work-dir',
        str(tmp_path), '--out',
        str(out), '--cfg-options', 'test_cfg.scales=[2,2.7,6.7]'
    ])
    log = proc.stdout + proc.stderr
    assert ('| model | x2 PSNR | x2 SSIM | x2.7 PSNR | x2.7 SSIM | x6.7 PSNR '
            '| x6.7 SSIM |') in log
    result = json.loads(out.read_text())
    metrics = result['metrics']
    assert list(metrics) == [f'x{s}/{m}' for s in ('2', '2.7', '6.7')
                             for m in ('PSNR', 'SSIM')]
    # harder scales give lower PSNR
    assert metrics['x2/PSNR'] > metrics['x2.7/PSNR'] > metrics['x6.7/PSNR']
    for item in result['per_image']['x2.7/PSNR']:
        results = LoadSRImage()(dict(gt_path=item['img_path']))
        results = BicubicDegradation(scale=2.7, blur=True)(results)
        lr = torch.from_numpy(results['lr']).permute(2, 0, 1)[None] / 255.
        gt = torch.from_numpy(results['gt']).permute(2, 0, 1).double() / 255.
        assert gt.shape[-2:] == (round(lr.shape[-2] * 2.7),
                                 round(lr.shape[-1] * 2.7))
        sr = F.interpolate(lr, size=gt.shape[-2:], mode='bicubic',
                           antialias=True).clamp(0, 1)[0].double()
        border = math.ceil(2.7) + 6  # the ISTE protocol: s + 6
        mse = ((sr - gt)[:, border:-border, border:-border]**2).mean().item()
        assert item['value'] == pytest.approx(-10 * math.log10(mse),
                                              abs=1e-4)


def test_bad_scale_in_multi_scale_loop_is_named(tmp_path, run_tool):
    proc = run_tool([
        'tools/test.py', 'configs/bicubic/bicubic_demo_x1-4.py',
        '--work-dir',
        str(tmp_path), '--cfg-options', 'test_cfg.scales=[2,0.5]'
    ],
                    check=False)
    assert proc.returncode != 0
    assert 'MultiScaleTestLoop: scale must be a finite number > 1' in \
        proc.stderr and '0.5' in proc.stderr


def test_multi_scale_table_has_the_fid_column(tmp_path, run_tool, repo):
    config = tmp_path / 'bicubic_fid.py'
    config.write_text(
        f"_base_ = ['{repo}/configs/bicubic/bicubic_demo_x1-4.py']\n"
        "test_cfg = dict(scales=[4])\n"
        "test_evaluator = [\n"
        "    dict(type='PSNR', crop_border='scale+6'),\n"
        "    dict(type='FID', crop_size=64, random_init=True),\n"
        "    dict(type='SSIM', crop_border='scale+6'),\n"
        "]\n")
    out = tmp_path / 'fid.json'
    proc = run_tool(['tools/test.py', str(config), '--work-dir',
                     str(tmp_path / 'work'), '--out', str(out)])
    assert '| model | x4 PSNR | x4 FID | x4 SSIM |' in proc.stdout + \
        proc.stderr
    result = json.loads(out.read_text())
    assert list(result['metrics']) == ['x4/PSNR', 'x4/FID', 'x4/SSIM']
    assert result['metrics']['x4/FID'] > 0
    info = result['metric_info']['x4/FID']  # one entry per scale
    assert info['backend'] == 'pytorch-fid'
    assert info['weights'] == 'random-init'
    assert info['num_samples'] == 2 * 16  # two 256 px crops, 64 px tiles

"""slide_benchmark.py, profile_predict.py and predict_memory.py on a tiny
LIIF (CPU), and the helpers they share (pathsr.utils.benchmark)."""
import json
import sys

import pytest
import torch
from mmengine.config import Config

from pathsr.utils.benchmark import (build_measured_model, peak_memory,
                                    random_predict_batch, time_iterations)

SLIDE = 'tools/analysis_tools/slide_benchmark.py'
PROFILE = 'tools/analysis_tools/profile_predict.py'
MEMORY = 'tools/analysis_tools/predict_memory.py'


def _main(tool, monkeypatch, argv):
    monkeypatch.setattr(sys, 'argv', ['tool', *argv])
    tool.main()


def test_slide_benchmark_regions(liif, load_tool, tmp_path, monkeypatch):
    """Each region is super-resolved whole (every tile computed) at x2.5;
    the output shapes follow round(side x scale)."""
    config, checkpoint, _ = liif
    out = tmp_path / 'slide.json'
    _main(load_tool(SLIDE), monkeypatch, [
        config, '--checkpoint', checkpoint, '--regions', '40', '64',
        '--scale', '2.5', '--tile', '64', '--device', 'cpu', '--out-json',
        str(out)])
    report = json.loads(out.read_text())
    assert [row['out_shape'] for row in report['regions']] == [[100, 100],
                                                               [160, 160]]
    for row in report['regions']:
        assert row['out_mp_per_s'] == pytest.approx(
            row['out_shape'][0] ** 2 / row['seconds'] / 1e6)
        assert row['peak_mib'] >= 0
    assert report['scale'] == 2.5 and 'ru_maxrss' in report['memory']


@pytest.mark.parametrize('path', [SLIDE, PROFILE, MEMORY])
@pytest.mark.parametrize('weights', [[], ['--random-init', '--checkpoint',
                                          'x.pth']])
def test_tools_need_weights_or_random_init(path, weights, liif, load_tool,
                                           monkeypatch, capsys):
    """A random model is measured only when asked for, and not with a
    checkpoint too."""
    with pytest.raises(SystemExit) as error:
        _main(load_tool(path), monkeypatch, [liif[0], *weights])
    assert error.value.code == 2
    assert 'give either --checkpoint FILE or --random-init' in \
        capsys.readouterr().err


def test_profile_shares_add_up(liif, load_tool, tmp_path, monkeypatch):
    config, checkpoint, _ = liif
    out = tmp_path / 'profile.md'
    _main(load_tool(PROFILE), monkeypatch, [
        config, '--checkpoint', checkpoint, '--lr-size', '16', '--scale',
        '3', '--device', 'cpu', '--rows', '1000', '--out-md', str(out)])
    lines = out.read_text().splitlines()
    assert '16x16 LR -> 48x48 (x3), float32' in lines[0]
    rows = [line.split(' | ') for line in lines if line.startswith('| `')]
    shares = [float(row[2].rstrip(' %|')) for row in rows]
    assert sum(shares) == pytest.approx(100, abs=0.05 * len(shares))
    # the EDSR convolutions and the MLP are matrix work
    names = {row[0].strip('| `') for row in rows}
    assert names & {'aten::mkldnn_convolution', 'aten::convolution',
                    'aten::_convolution'}
    matrix, other, total = (float(cell.split(' ms')[0])
                            for cell in lines[-1].strip('|').split(' | '))
    assert 0 < matrix < total and matrix + other == pytest.approx(total,
                                                                  abs=0.2)


def test_predict_memory_report(liif, load_tool, tmp_path, monkeypatch):
    """The report's sizes: output image H x W x 3 float32 and the encoder
    features C x h x w float32."""
    config, checkpoint, _ = liif
    out = tmp_path / 'memory.json'
    _main(load_tool(MEMORY), monkeypatch, [
        config, '--checkpoint', checkpoint, '--lr-size', '32', '--scale',
        '4', '--chunk', '500', '--out', str(out)])
    report = json.loads(out.read_text())
    assert report['out_shape'] == [128, 128] and report['eval_chunk'] == 500
    assert report['output_image_mib'] == round(128 * 128 * 12 / 2**20, 1)
    assert report['encoder_features_mib'] == round(16 * 32 * 32 * 4 / 2**20,
                                                   1)


def test_time_iterations_and_peak_memory():
    calls = []
    warmup, times, result = time_iterations(
        lambda: calls.append(1) or len(calls), 2, 3, torch.device('cpu'))
    assert (len(warmup), len(times), result) == (2, 3, 5)
    assert all(t >= 0 for t in warmup + times)
    with peak_memory(torch.device('cpu')) as memory:
        block = torch.ones(64 * 2**20, dtype=torch.uint8)  # 64 MiB
        block[::4096] = 2  # touch every page
    # the growth of the peak RSS covers the block (page granularity)
    assert memory['bytes'] >= 60 * 2**20


def test_build_measured_model_needs_one_weight_source(liif):
    config, checkpoint, _ = liif
    cfg = Config.fromfile(config)
    cpu = torch.device('cpu')
    with pytest.raises(ValueError, match='--checkpoint FILE or '
                       '--random-init'):
        build_measured_model(cfg, None, False, cpu)
    with pytest.raises(ValueError):
        build_measured_model(cfg, checkpoint, True, cpu)
    model = build_measured_model(cfg, checkpoint, False, cpu)
    assert not model.training
    saved = torch.load(checkpoint, weights_only=True)['state_dict']
    for name, value in model.state_dict().items():
        assert torch.equal(value, saved[name])
    batch = random_predict_batch(9, 2.5, (23, 23), cpu)
    (sample, ) = batch['data_samples']
    assert batch['inputs'][0].shape == (3, 9, 9)
    assert sample.metainfo['out_shape'] == (23, 23)

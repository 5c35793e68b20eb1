"""tools/analysis_tools/benchmark.py on tiny configs and sizes (CPU)."""
import contextlib
import io
import json
import math
import statistics
import sys

import pytest
import torch
import torch.nn.functional as F

TOOL = 'tools/analysis_tools/benchmark.py'
LIIF = 'configs/liif/liif-edsr-tiny_demo_x1-4.py'
LIIF_SWINIR = 'configs/liif/liif-swinir-tiny_demo_x1-4.py'
SRCNN = 'configs/srcnn/srcnn_histo_x4.py'
SRCNN_X2 = 'configs/srcnn/srcnn_histo_x2.py'
BICUBIC = 'configs/bicubic/bicubic_demo_x1-4.py'
MIHATP = 'configs/mihatp/mihatp-tiny_demo_x4.py'
SMALL = [
    '--batch', '2', '--lr-size', '16', '--infer-size', '32', '--repeats',
    '2', '--warmup', '1', '--device', 'cpu'
]
# SRCNN 9-5-5 (3 -> 64 -> 32 -> 3): multiply-adds per output pixel of each
# convolution, all at the output resolution (the LR is upsampled first)
SRCNN_MACS = (3 * 64 * 81, 64 * 32 * 25, 32 * 3 * 25)


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool(TOOL)


@pytest.fixture(scope='module')
def run(tool, tmp_path_factory):
    """One run of the tool (in this process, to save the imports) on LIIF,
    SRCNN and Bicubic: its JSON report, Markdown file and stdout."""
    folder = tmp_path_factory.mktemp('benchmark')
    argv = [
        TOOL, LIIF, SRCNN, BICUBIC, *SMALL, '--out-json',
        str(folder / 'bench.json'), '--out-md',
        str(folder / 'bench.md')
    ]
    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, \
            contextlib.redirect_stdout(stdout):
        patch.setattr(sys, 'argv', argv)
        tool.main()
    report = json.loads((folder / 'bench.json').read_text())
    rows = {row['name']: row for row in report['results']}
    return dict(
        report=report,
        rows=rows,
        md=(folder / 'bench.md').read_text(),
        stdout=stdout.getvalue())


def _main(tool, monkeypatch, tmp_path, argv):
    """Run the tool in this process; its JSON report."""
    out = tmp_path / 'bench.json'
    monkeypatch.setattr(
        sys, 'argv', [TOOL, *argv, '--out-json',
                      str(out), '--device', 'cpu'])
    tool.main()
    return json.loads(out.read_text())


def _args(tool, monkeypatch, argv):
    monkeypatch.setattr(sys, 'argv', [TOOL, *argv, '--device', 'cpu'])
    return tool.parse_args()


def test_json_holds_settings_and_figures(run):
    settings = run['report']['settings']
    assert settings['device'] == 'cpu' and settings['device_name']
    assert settings['torch'] == torch.__version__
    assert settings['dtype'] == 'float32' and not settings['compile']
    assert (settings['batch'], settings['lr_size'], settings['infer_size'],
            settings['scale']) == (2, 16, 32, 4.0)
    assert settings['command'][0].endswith('benchmark.py')
    assert settings['command'][1:4] == [LIIF, SRCNN, BICUBIC]
    assert 'ru_maxrss' in settings['memory']
    assert 'float32 2048x2048' in settings['peak_tflops_source']
    assert settings['peak_tflops'] > 0 and settings['date']
    assert list(run['rows']) == [
        'liif-edsr-tiny_demo_x1-4', 'srcnn_histo_x4', 'bicubic_demo_x1-4'
    ]
    liif = run['rows']['liif-edsr-tiny_demo_x1-4']
    assert liif['kind'] == 'implicit'
    assert liif['params'] == liif['trainable_params'] > 0
    train = liif['train']
    # 16 px LR at the train scale 4: 64 px HR, 2304 queries drawn from it
    assert (train['batch'], train['lr_size'], train['hr_size'],
            train['num_queries']) == (2, 16, 64, 2304)
    infer = liif['infer']
    assert infer['out_shape'] == [128, 128] and infer['eval_chunk'] == 30000
    for phase in (train, infer):
        assert phase['peak_memory_bytes'] >= 0 and phase['flops'] > 0


def test_rates_follow_from_the_median_time(run):
    peak = run['report']['settings']['peak_tflops']
    for row in run['rows'].values():
        for name in ('train', 'infer'):
            phase = row[name]
            if phase is None:
                continue
            assert len(phase['times_s']) == 2
            assert len(phase['warmup_times_s']) == 1
            seconds = phase['seconds']
            assert seconds == statistics.median(phase['times_s'])
            assert phase['tflops_per_s'] == pytest.approx(
                phase['flops'] / seconds / 1e12)
            assert phase['fraction_of_peak'] == pytest.approx(
                phase['tflops_per_s'] / peak)
        if row['train'] is not None:
            train = row['train']
            assert train['samples_per_s'] == pytest.approx(
                2 / train['seconds'])
            assert train['iters_per_s'] == pytest.approx(
                1 / train['seconds'])
            assert math.isfinite(train['loss'])
        infer = row['infer']
        assert infer['output_mp_per_s'] == pytest.approx(
            128 * 128 / infer['seconds'] / 1e6)


def test_srcnn_flops_equal_the_hand_count(run):
    srcnn = run['rows']['srcnn_histo_x4']
    # inference: 2 FLOPs per multiply-add over the 128 x 128 output
    assert srcnn['infer']['flops'] == 2 * sum(SRCNN_MACS) * 128 * 128
    # training on 2 x 64 x 64 HR: forward, weight gradients of the three
    # convolutions and input gradients of the last two (the input of the
    # first needs none)
    macs = 2 * sum(SRCNN_MACS) + sum(SRCNN_MACS[1:])
    assert srcnn['train']['flops'] == 2 * macs * 2 * 64 * 64
    assert srcnn['trainable_params'] == sum(SRCNN_MACS) + 64 + 32 + 3


def test_bicubic_is_measured_for_inference_only(run):
    bicubic = run['rows']['bicubic_demo_x1-4']
    assert bicubic['params'] == 0
    assert bicubic['train'] is None
    assert bicubic['train_skipped'] == 'no trainable parameters'
    # interpolation is not a counted operator
    assert bicubic['infer']['flops'] == 0
    assert bicubic['infer']['output_mp_per_s'] > 0


def test_markdown_tables(run, tool):
    md = run['md']
    assert md in run['stdout']
    lines = md.splitlines()
    assert lines[0] == ('| model | train step, batch 2, 16x16 LR, 2304 '
                        'queries | x4 inference, 32x32 LR -> 128x128 |')
    train, infer = (run['rows']['srcnn_histo_x4'][phase]
                    for phase in ('train', 'infer'))
    sig3 = tool.sig3
    assert (f'| srcnn_histo_x4 | {sig3(train["seconds"] * 1e3)} ms '
            f'({sig3(train["samples_per_s"])} samples/s), '
            f'{sig3(train["peak_memory_bytes"] / 1e9)} GB | '
            f'{sig3(infer["output_mp_per_s"])} output MP/s, '
            f'{sig3(infer["peak_memory_bytes"] / 1e9)} GB |') in lines
    assert '| bicubic_demo_x1-4 | - (no trainable parameters) |' in md
    assert ('| model | params (trainable) | FLOPs / train step | '
            'train step TFLOP/s | % of peak | FLOPs / inference |') in md
    assert '| srcnn_histo_x4 | 0.0693 M | 3.14 GFLOP |' in md
    assert 'Memory: CPU: growth of ru_maxrss' in md


def test_training_step_updates_every_weight(tool, monkeypatch):
    args = _args(tool, monkeypatch, [LIIF, *SMALL])
    cpu = torch.device('cpu')
    cfg = tool.load_config_for(LIIF, args)
    model = tool.build_model(cfg, args, cpu).train()
    data, sizes = tool.make_train_batch(model, 'implicit', args, cpu, LIIF)
    gt = torch.stack([sample.gt_img for sample in data['data_samples']])
    assert gt.dtype == torch.uint8 and gt.shape == (2, 3, 64, 64)
    lr = torch.stack(data['inputs'])
    assert torch.equal(lr, F.avg_pool2d(gt.float(), 4).round().byte())
    wrapper = tool.make_optim_wrapper(model, cfg, args, cpu, LIIF)
    before = [p.detach().clone() for p in model.parameters()]
    log = model.train_step(data, wrapper)
    assert math.isfinite(log['loss'].item())
    assert all(not torch.equal(old, new.detach())
               for old, new in zip(before, model.parameters()))


def test_missing_config_fails_clearly(run_tool):
    proc = run_tool([TOOL, 'nothere.py', SRCNN], check=False)
    assert proc.returncode != 0
    assert 'config file not found: nothere.py' in proc.stderr


def test_scale_one_fails_clearly(tool, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        _args(tool, monkeypatch, [SRCNN, '--scale', '1'])
    assert '--scale must be a finite number > 1, got 1.0' in \
        capsys.readouterr().err


@pytest.mark.parametrize('config, argv, message', [
    (SRCNN, ['--amp'], "mmengine's AmpOptimWrapper only runs on CUDA"),
    (LIIF_SWINIR, ['--modes', 'infer', '--infer-size', '4'],
     '--infer-size 4 is smaller than the 8-pixel attention window'),
    (LIIF, ['--lr-size', '8'], "fewer pixels than the model's "
     'num_queries=2304'),
    (SRCNN_X2, ['--modes', 'infer'], 'is a fixed-scale x2 model'),
])
def test_impossible_settings_fail_clearly(config, argv, message, tool,
                                          monkeypatch):
    args = _args(tool, monkeypatch, [config, *argv])
    with pytest.raises(SystemExit, match=message):
        tool.benchmark(config, 'x', args, torch.device('cpu'), 1.0)


def test_amp_channels_last_and_eval_chunk(tool, monkeypatch, tmp_path):
    report = _main(tool, monkeypatch, tmp_path, [
        LIIF, '--modes', 'infer', '--infer-size', '16', '--repeats', '1',
        '--warmup', '0', '--peak-tflops', '1', '--amp', '--channels-last',
        '--eval-chunk', '100'
    ])
    settings, (row, ) = report['settings'], report['results']
    assert settings['dtype'] == 'bfloat16 mixed precision'
    assert settings['channels_last'] and settings['peak_tflops'] == 1
    assert 'train' not in row
    assert row['infer']['eval_chunk'] == 100
    assert row['infer']['out_shape'] == [64, 64]
    assert row['infer']['flops'] > 0
    # the data preprocessor hands the networks channels-last batches
    args = _args(tool, monkeypatch, [LIIF, '--channels-last'])
    model = tool.build_model(
        tool.load_config_for(LIIF, args), args, torch.device('cpu'))
    batch = model.data_preprocessor(
        dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)]))['inputs']
    assert batch.is_contiguous(memory_format=torch.channels_last)


def test_mihatp_training_counts_both_branches(tool, monkeypatch, tmp_path):
    report = _main(tool, monkeypatch, tmp_path, [
        MIHATP, '--random-init-extractor', '--batch', '1', '--lr-size', '16',
        '--infer-size', '16', '--repeats', '1', '--warmup', '0',
        '--peak-tflops', '1'
    ])
    (row, ) = report['results']
    assert row['model'] == 'MiHATP' and row['train']['hr_size'] == 64
    assert math.isfinite(row['train']['loss'])
    # forward and backward of the base and the contrastive branch (and the
    # VGG), against the base's forward alone on the same 16 px LR
    assert row['train']['flops'] > 4 * row['infer']['flops']


def test_a_phase_out_of_memory_is_recorded_and_the_rest_measured(
        tool, monkeypatch, tmp_path):
    """A training step that runs out of device memory (MiHATP at batch 16
    on a small GPU) leaves a skipped cell; inference is still measured."""
    count_flops = tool.count_flops

    def fail_on_training(fn):
        if fn.func.__name__ == 'train_step':
            raise torch.OutOfMemoryError(
                'CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 ...')
        return count_flops(fn)

    monkeypatch.setattr(tool, 'count_flops', fail_on_training)
    out_md = tmp_path / 'bench.md'
    report = _main(tool, monkeypatch, tmp_path, [
        SRCNN, *SMALL, '--peak-tflops', '1', '--out-md', str(out_md)])
    (row, ) = report['results']
    assert row['train'] is None
    assert row['train_skipped'] == 'out of memory: CUDA out of memory'
    assert row['infer']['output_mp_per_s'] > 0
    assert '| srcnn_histo_x4 | - (out of memory: CUDA out of memory) |' in \
        out_md.read_text()

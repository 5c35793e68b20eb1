"""tools/analysis_tools/compare_figure.py and plot_scales.py on tiny inputs."""
import json

import cv2
import pytest

BICUBIC = 'configs/bicubic/bicubic_demo_x1-4.py'
DEMO = 'demo/histo_demo/val/TCGA-38-6178-01Z-00-DX1_y372x372.png'


def _row(stdout: str, name: str) -> list:
    line = next(line for line in stdout.splitlines()
                if line.startswith(f'| {name} |'))
    return [cell.strip() for cell in line.strip('|').split('|')][1:]


def test_compare_figure(tmp_path, run_tool):
    out = tmp_path / 'fig.png'
    proc = run_tool([
        'tools/analysis_tools/compare_figure.py', DEMO, '--scale', '4',
        '--blur', '--model', BICUBIC, '--crop', '64', '64', '96', '96',
        '--crop-border', '10', '--panel', '2', '--dpi', '50', '--out',
        str(out)
    ])
    # LR, Bicubic, the Bicubic config, GT: 4 x 2 panels of 2 in at 50 dpi
    assert cv2.imread(str(out)).shape == (200, 400, 3)
    bicubic = _row(proc.stdout, 'Bicubic')
    # the config's model is the same kernel as the built-in Bicubic
    assert _row(proc.stdout, 'bicubic_demo_x1-4') == bicubic
    psnr, ssim, delta_e = map(float, bicubic)
    assert 20 < psnr < 40 and 0 < ssim < 1 and 0 < delta_e < 10


def test_compare_figure_rejects_a_box_outside(tmp_path, run_tool):
    proc = run_tool([
        'tools/analysis_tools/compare_figure.py', DEMO, '--scale', '4',
        '--crop', '200', '0', '100', '10', '--out',
        str(tmp_path / 'fig.png')
    ], check=False)
    assert proc.returncode != 0 and 'is not inside' in proc.stderr


def _write_run(path, config, metrics):
    path.write_text(json.dumps(dict(config=config, metrics=metrics)))
    return str(path)


def test_plot_scales(tmp_path, run_tool):
    liif = _write_run(tmp_path / 'liif.json', 'configs/liif/liif.py', {
        'x2/PSNR': 34.123, 'x2/SSIM': 0.91234, 'x4/PSNR': 28.5,
        'x4/SSIM': 0.75, 'x6/PSNR': 26.0, 'x6/SSIM': 0.6
    })
    bicubic = _write_run(tmp_path / 'bicubic.json', 'configs/bicubic/b.py',
                         {'x2/PSNR': 33.0, 'x2/SSIM': 0.9, 'x4/PSNR': 27.25,
                          'x4/SSIM': 0.7})
    out = tmp_path / 'plots' / 'scales.png'
    proc = run_tool([
        'tools/analysis_tools/plot_scales.py', liif, bicubic, '--out',
        str(out), '--dpi', '50'
    ])
    assert cv2.imread(str(out)).shape == (200, 500, 3)
    tables = proc.stdout.split('\n\n')
    assert tables[0].splitlines()[0] == '| PSNR | x2 | x4 | x6 |'
    assert _row(tables[0], 'liif') == ['34.12', '28.50', '26.00']
    assert _row(tables[0], 'b') == ['33.00', '27.25', '-']
    assert tables[1].splitlines()[0] == '| SSIM | x2 | x4 | x6 |'
    assert _row(tables[1], 'liif') == ['0.9123', '0.7500', '0.6000']


@pytest.mark.parametrize('metrics, message', [
    ({'PSNR': 30.0}, 'not the --out file of a multi-scale test'),
    ({'x2/PSNR': 30.0}, 'no run has the metric SSIM'),
])
def test_plot_scales_errors(tmp_path, run_tool, metrics, message):
    run = _write_run(tmp_path / 'run.json', 'a.py', metrics)
    proc = run_tool([
        'tools/analysis_tools/plot_scales.py', run, '--out',
        str(tmp_path / 'p.png')
    ], check=False)
    assert proc.returncode != 0 and message in proc.stderr

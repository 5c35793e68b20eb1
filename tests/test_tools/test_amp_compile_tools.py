"""tools/test.py with ``--amp`` and with the config's ``compile`` switch."""
import json

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from pathsr.registry import MODELS

CONFIG = 'configs/liif/liif-edsr-tiny_demo_x1-4.py'


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory, repo):
    init_default_scope('pathsr')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(repo / CONFIG)).model)
    path = tmp_path_factory.mktemp('ckpt') / 'liif.pth'
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), path)
    return str(path)


def _test(run_tool, tmp_path, checkpoint, name, *extra):
    out = tmp_path / f'{name}.json'
    proc = run_tool([
        'tools/test.py', CONFIG, checkpoint, '--work-dir',
        str(tmp_path / name), '--out',
        str(out), '--cfg-options', 'test_cfg.scales=[2.5,4]', *extra
    ],
                    env=dict(OMP_NUM_THREADS='1'))
    return json.loads(out.read_text()), proc.stdout + proc.stderr


def test_amp_and_compile_keep_the_metrics(tmp_path, run_tool, checkpoint):
    fp32, _ = _test(run_tool, tmp_path, checkpoint, 'fp32')
    amp, _ = _test(run_tool, tmp_path, checkpoint, 'amp', '--amp')
    compiled, log = _test(run_tool, tmp_path, checkpoint, 'compiled',
                          'compile.backend=eager')
    assert amp['amp'] and not fp32['amp']
    psnr = [k for k in fp32['metrics'] if k.endswith('PSNR')]
    assert len(psnr) == 2
    for key in psnr:
        assert amp['metrics'][key] != fp32['metrics'][key]
        assert amp['metrics'][key] == pytest.approx(fp32['metrics'][key],
                                                    abs=0.05)
    assert 'compiled the networks of ImplicitSRModel' in log
    assert compiled['metrics'] == pytest.approx(fp32['metrics'], abs=1e-6)

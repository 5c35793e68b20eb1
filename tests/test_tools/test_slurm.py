"""The launch scripts (torchrun, Slurm) and ``--launcher slurm`` on the CPU.

The fake ``srun`` starts ``--ntasks`` copies of its command in the
background with Slurm's variables, as srun does on one node; the fake
``scontrol show hostname`` prints 127.0.0.1.
"""
import json
import os
import subprocess

import pytest
from mmengine.config import Config

from pathsr.apis.cli import main
from pathsr.utils.dist import export_slurm_env

FAKE_SRUN = r'''#!/usr/bin/env bash
echo "$@" > "$(dirname "$0")/srun_args"
ntasks=1
while [ $# -gt 0 ]; do
    case $1 in
        --ntasks=*) ntasks=${1#*=}; shift ;;
        -p) shift 2 ;;
        -*) shift ;;
        *) break ;;
    esac
done
pids=()
for ((i = 0; i < ntasks; i++)); do
    SLURM_PROCID=$i SLURM_LOCALID=$i SLURM_NTASKS=$ntasks \
        SLURM_NODELIST=fake-node "$@" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
'''

FAKE_SCONTROL = r'''#!/usr/bin/env bash
echo "$@" >> "$(dirname "$0")/scontrol_calls"
[ "$1 $2 $3" = "show hostname fake-node" ] && echo 127.0.0.1
'''


@pytest.fixture
def fake_slurm(tmp_path):
    """A folder with the fake ``srun`` and ``scontrol``, for PATH."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name, text in (('srun', FAKE_SRUN), ('scontrol', FAKE_SCONTROL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def test_slurm_test_equals_one_process(tmp_path, fake_slurm, run_tool, repo,
                                       write_model):
    """tools/slurm_test.sh with GPUS=2 runs two gloo ranks (rank, world and
    master from the Slurm variables) whose multi-scale metrics equal a
    one-process test; the set-up of test_dist_multi_scale_test_equals_one_
    process, with a checkpoint of the parameter-free Bicubic."""
    config = 'configs/bicubic/bicubic_demo_x1-4.py'
    _, checkpoint, _ = write_model(tmp_path, 'bicubic',
                                   Config.fromfile(repo / config).model)
    one, two = tmp_path / 'one.json', tmp_path / 'two.json'
    run_tool([
        'tools/test.py', config, checkpoint, '--work-dir',
        str(tmp_path / 'one'), '--out',
        str(one)
    ])
    env = dict(
        PATH=f'{fake_slurm}:{os.environ["PATH"]}',
        GPUS='2',
        MASTER_PORT='29661',
        OMP_NUM_THREADS='1')
    run_tool([
        'bash', 'tools/slurm_test.sh', 'part', 'job', config, checkpoint,
        '--work-dir',
        str(tmp_path / 'two'), '--out',
        str(two)
    ],
             env=env)
    srun_args = (fake_slurm / 'srun_args').read_text().split()
    for expected in ('part', '--job-name=job', '--ntasks=2',
                     '--ntasks-per-node=2', '--cpus-per-task=5',
                     '--kill-on-bad-exit=1', '--launcher', 'slurm'):
        assert expected in srun_args
    # each rank found the master with scontrol, as mmengine's launcher does
    assert (fake_slurm / 'scontrol_calls').read_text().splitlines() == \
        ['show hostname fake-node'] * 2
    single, dist = (json.loads(path.read_text()) for path in (one, two))
    assert len(dist['metrics']) == 10
    assert dist['metrics'] == pytest.approx(single['metrics'], abs=1e-9)
    logs = list((tmp_path / 'two').rglob('*.log'))
    assert logs and 'Distributed launcher: slurm' in logs[0].read_text()
    assert 'GPU number: 2' in logs[0].read_text()


def test_slurm_environment_is_exported(fake_slurm, monkeypatch):
    monkeypatch.setenv('PATH', f'{fake_slurm}:{os.environ["PATH"]}')
    # set, then delete: monkeypatch restores them after the test
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR',
                 'MASTER_PORT', 'SLURM_LOCALID'):
        monkeypatch.setenv(name, '')
        monkeypatch.delenv(name)
    monkeypatch.setenv('SLURM_PROCID', '3')
    monkeypatch.setenv('SLURM_NTASKS', '4')
    monkeypatch.setenv('SLURM_NODELIST', 'fake-node')
    with pytest.raises(RuntimeError, match='needs SLURM_LOCALID in the '
                       'environment: start the job with srun'):
        export_slurm_env()
    monkeypatch.setenv('SLURM_LOCALID', '1')
    export_slurm_env()
    assert [os.environ[name] for name in (
        'RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')
            ] == ['3', '4', '1', '127.0.0.1', '29500']
    monkeypatch.setenv('SLURM_NODELIST', 'unknown')
    monkeypatch.delenv('MASTER_ADDR')
    with pytest.raises(RuntimeError, match='set MASTER_ADDR'):
        export_slurm_env()


def test_infer_outside_srun_exits_with_a_message(monkeypatch, capsys):
    monkeypatch.setenv('SLURM_PROCID', '')
    monkeypatch.delenv('SLURM_PROCID')
    with pytest.raises(SystemExit) as error:
        main(['configs/bicubic/bicubic_histo_x4.py', 'img.png', '--out', 'o',
              '--launcher', 'slurm'])
    assert error.value.code == 1
    assert '--launcher slurm needs SLURM_PROCID' in capsys.readouterr().err


RECORD = '#!/usr/bin/env bash\necho "$@" >> "$(dirname "$0")/calls"\n'


@pytest.mark.parametrize('script, args, expected', [
    ('dist_train.sh', ['cfg.py', '2', '--amp'],
     ['tools/train.py', '--launcher', 'pytorch', 'cfg.py', '--amp']),
    ('dist_test.sh', ['cfg.py', 'ck.pth', '2', '--out', 'm.json'],
     ['tools/test.py', '--launcher', 'pytorch', 'cfg.py', 'ck.pth', '--out',
      'm.json']),
    ('dist_infer.sh', ['2', 'cfg.py', 'ck.pth', 'in/', '--out', 'o/'],
     ['tools/infer.py', '--launcher', 'pytorch', 'cfg.py', 'ck.pth', 'in/',
      '--out', 'o/']),
    ('slurm_train.sh', ['part', 'job', 'cfg.py', 'wd', '--amp'],
     ['tools/train.py', '--launcher', 'slurm', 'cfg.py', '--work-dir', 'wd',
      '--amp']),
    ('slurm_train.sh', ['part', 'job', 'cfg.py', '--amp'],
     ['tools/train.py', '--launcher', 'slurm', 'cfg.py', '--amp']),
    ('slurm_test.sh', ['part', 'job', 'cfg.py', 'ck.pth', '--out', 'm.json'],
     ['tools/test.py', '--launcher', 'slurm', 'cfg.py', 'ck.pth', '--out',
      'm.json']),
    ('slurm_infer.sh', ['part', 'job', 'cfg.py', 'in/', '--out', 'o/'],
     ['tools/infer.py', '--launcher', 'slurm', 'cfg.py', 'in/', '--out',
      'o/']),
])
def test_launch_scripts_pass_their_arguments(tmp_path, repo, script, args,
                                             expected):
    """Each dist_*/slurm_* script starts its tool through dist_launch.sh
    (torchrun with NNODES, NODE_RANK, MASTER_ADDR, PORT) or
    slurm_launch.sh (srun with GPUS, GPUS_PER_NODE), with the arguments in
    order; recorded by a fake ``python`` and ``srun``."""
    for name in ('python', 'srun'):
        (tmp_path / name).write_text(RECORD)
        (tmp_path / name).chmod(0o755)
    env = dict(os.environ, PATH=f'{tmp_path}:{os.environ["PATH"]}',
               NNODES='3', NODE_RANK='1', MASTER_ADDR='10.0.0.7',
               PORT='29777', GPUS='12', GPUS_PER_NODE='8')
    subprocess.run(['bash', f'tools/{script}', *args], cwd=repo, env=env,
                   check=True)
    call = (tmp_path / 'calls').read_text().split()
    tool = next(i for i, word in enumerate(call) if word.endswith('.py'))
    assert call[tool].endswith(expected[0])
    assert call[tool + 1:] == expected[1:]
    if script.startswith('dist'):
        assert call[:tool] == [
            '-m', 'torch.distributed.run', '--nnodes=3', '--node_rank=1',
            '--master_addr=10.0.0.7', '--master_port=29777',
            '--nproc_per_node=2'
        ]
    else:
        for option in ('-p', 'part', '--job-name=job', '--gres=gpu:8',
                       '--ntasks=12', '--ntasks-per-node=8',
                       '--kill-on-bad-exit=1', 'python', '-u'):
            assert option in call[:tool]


@pytest.mark.parametrize('script', ['dist_train.sh', 'dist_test.sh',
                                    'dist_infer.sh', 'slurm_train.sh',
                                    'slurm_test.sh', 'slurm_infer.sh'])
def test_launch_scripts_without_arguments_print_their_usage(repo, script):
    proc = subprocess.run(['bash', f'tools/{script}'], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f'usage: bash tools/{script}')

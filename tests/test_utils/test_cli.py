"""The one-line error report shared by the tools (pathsr.utils.cli.run_main)."""
import os
import subprocess
import sys

SCRIPT = ('import sys\n'
          'from pathsr.utils.cli import run_main\n'
          'def main():\n'
          '    assert "--debug" not in sys.argv\n'
          '    raise FileNotFoundError("config /no/such.py does not exist")\n'
          'run_main(main, "tool.py")\n')


def _run(args, env=None):
    full_env = {k: v for k, v in os.environ.items() if k != 'PATHSR_DEBUG'}
    full_env.update(env or {})
    return subprocess.run([sys.executable, '-c', SCRIPT] + args,
                          capture_output=True, text=True, env=full_env)


def test_error_is_one_line_naming_the_problem():
    proc = _run([])
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.splitlines()[0] == (
        'tool.py: error: FileNotFoundError: config /no/such.py does not exist')


def test_debug_flag_and_environment_show_the_traceback():
    for args, env in ((['--debug'], None), ([], {'PATHSR_DEBUG': '1'})):
        proc = _run(args, env)
        assert proc.returncode == 1
        assert 'Traceback' in proc.stderr
        assert 'FileNotFoundError: config /no/such.py' in proc.stderr

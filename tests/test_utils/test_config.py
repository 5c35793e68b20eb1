"""Reading configs: errors name their file and line, top-level keys that
nothing reads are refused, every shipped config passes."""
from pathlib import Path

import pytest

from pathsr.utils.config import ConfigError, load_config

DEMO = 'configs/edsr/edsr-tiny_demo_x4.py'


def _write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def test_every_shipped_config_passes_the_key_check(repo):
    configs = [
        p for p in sorted(repo.glob('configs/**/*.py')) +
        sorted(repo.glob('projects/*/configs/**/*.py'))
        if '_base_' not in p.parts
    ]
    assert len(configs) > 50
    for path in configs:
        load_config(str(path))


def test_top_level_typo_in_a_file_is_refused_with_the_closest_key(
        tmp_path, repo):
    path = _write(
        tmp_path, 'typo.py', f"_base_ = '{repo / DEMO}'\n"
        "data_rot = '/my/tiles'\n")
    with pytest.raises(ConfigError, match=r"typo\.py: nothing reads the "
                       r"top-level key 'data_rot' \(did you mean "
                       r"'data_root'\?\)"):
        load_config(path)


def test_helper_variables_of_a_user_config_are_accepted(tmp_path, repo):
    path = _write(
        tmp_path, 'helper.py', f"_base_ = '{repo / DEMO}'\n"
        "my_pipeline = [dict(type='LoadSRImage', key='gt'),\n"
        "               dict(type='PackSRInputs')]\n"
        "val_dataloader = dict(dataset=dict(pipeline=my_pipeline))\n")
    cfg = load_config(path)
    assert cfg.val_dataloader.dataset.pipeline == cfg.my_pipeline


def test_helper_variable_used_in_an_expression_is_accepted(tmp_path, repo):
    # its value (25) appears nowhere in the config, only 4 * 25 does
    path = _write(
        tmp_path, 'expr.py', f"_base_ = '{repo / DEMO}'\n"
        "iters_per_epoch = 25\n"
        "train_cfg = dict(max_iters=4 * iters_per_epoch)\n")
    assert load_config(path).train_cfg.max_iters == 100
    # an unused neighbour is still refused
    path = _write(tmp_path, 'expr2.py',
                  open(path).read() + "iters_per_epok = 30\n")
    with pytest.raises(ConfigError, match="'iters_per_epok'"):
        load_config(path)


@pytest.mark.parametrize('options, message', [
    (dict(data_rot='/x'), r"--cfg-options data_rot=\.\.\.: nothing reads "
     r"the top-level key 'data_rot' \(did you mean 'data_root'\?\)"),
    # the datasets copied scale=4 when the file was read
    (dict(scale=2), r"--cfg-options scale=\.\.\.: 'scale' is a helper "
     r'variable of .*changes nothing'),
])
def test_command_line_keys_that_change_nothing_are_refused(
        repo, options, message):
    with pytest.raises(ConfigError, match=message):
        load_config(str(repo / DEMO), options)


def test_command_line_keys_that_are_read_are_applied(repo):
    cfg = load_config(
        str(repo / DEMO), {
            'data_root': '/my/tiles',
            'train_cfg.max_iters': 7,
            'experiment_name': 'x'
        })
    assert cfg.train_cfg.max_iters == 7
    assert cfg.train_dataloader.dataset.data_root == '/my/tiles'


@pytest.mark.parametrize('text, line, kind', [
    ('x = 1\ny = (\n', 2, 'SyntaxError'),
    ('x = 1\n\ny = 1 / 0\n', 3, 'ZeroDivisionError'),
])
def test_config_that_does_not_parse_or_raises_names_file_and_line(
        tmp_path, text, line, kind):
    path = _write(tmp_path, 'broken.py', text)
    with pytest.raises(ConfigError,
                       match=f'config {path}, line {line}: {kind}'):
        load_config(path)


@pytest.mark.parametrize('text, kind', [
    ('x = 1\ny = undefined_name\n', "NameError: name 'undefined_name'"),
    ('x = 1\ny = [\n', 'SyntaxError'),
])
def test_error_in_a_base_config_names_the_base(tmp_path, text, kind):
    base = _write(tmp_path, 'base.py', text)
    child = _write(tmp_path, 'child.py', "_base_ = './base.py'\nz = 2\n")
    with pytest.raises(ConfigError, match=f'config {base}, line 2: {kind}'):
        load_config(child)


def test_work_dir_that_is_a_file_is_refused(repo, tmp_path):
    work_dir = tmp_path / 'file'
    work_dir.write_text('')
    with pytest.raises(NotADirectoryError,
                       match=f'the work dir {work_dir} is a file'):
        load_config(str(repo / DEMO), work_dir=str(work_dir))

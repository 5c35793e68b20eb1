import glob
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.visualization import Visualizer

from pathsr.engine.hooks import SRVisualizationHook
from pathsr.registry import HOOKS
from pathsr.structures import SRDataSample
from pathsr.visualization import SRVisualizer


def _batch(names, with_gt=True):
    inputs, samples = [], []
    for name in names:
        inputs.append(torch.randint(0, 256, (3, 4, 5), dtype=torch.uint8))
        sample = SRDataSample(
            metainfo=dict(gt_path=f'data/hr/{name}.tif', scale=2))
        sample.pred_img = torch.rand(3, 8, 10)
        if with_gt:
            sample.gt_img = torch.rand(3, 8, 10)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples), samples


def _runner(tmp_path, name, it=3):
    vis = SRVisualizer.get_instance(
        name=name,
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path))
    return SimpleNamespace(visualizer=vis, iter=it)


def _written(tmp_path):
    files = glob.glob(osp.join(tmp_path, '**', '*.png'), recursive=True)
    return {osp.basename(f): f for f in files}


def test_first_num_samples_are_written(tmp_path):
    init_default_scope('pathsr')
    hook = HOOKS.build(dict(type='SRVisualizationHook', num_samples=3))
    assert isinstance(hook, SRVisualizationHook) and hook.priority == 'NORMAL'
    runner = _runner(tmp_path, 'test_first_num_samples_are_written')
    batches = [_batch(['a', 'b']), _batch(['c', 'd'])]
    hook.before_val_epoch(runner)
    for idx, (data_batch, outputs) in enumerate(batches):
        hook.after_val_iter(runner, idx, data_batch, outputs)
    files = _written(tmp_path)
    assert sorted(files) == ['a_x2_3.png', 'b_x2_3.png', 'c_x2_3.png']
    # the file holds the panel of that sample
    plain = SRVisualizer.get_instance(name='plain_first_num_samples')
    data_batch, outputs = batches[1]
    expected = plain.add_sr_sample('c', data_batch['inputs'][0],
                                   outputs[0].pred_img, outputs[0].gt_img)
    written = cv2.cvtColor(cv2.imread(files['c_x2_3.png']), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(written, expected)
    assert expected.shape == (8, 4 * 10 + 3 * 2, 3)

    # a new run starts counting again
    runner.iter = 5
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, 0, *batches[1])
    assert sorted(_written(tmp_path)) == [
        'a_x2_3.png', 'b_x2_3.png', 'c_x2_3.png', 'c_x2_5.png', 'd_x2_5.png'
    ]


def test_interval_and_test_runs(tmp_path):
    hook = SRVisualizationHook(interval=2, num_samples=1, on_test=False)
    runner = _runner(tmp_path, 'test_interval_and_test_runs')
    data_batch, outputs = _batch(['x'], with_gt=False)
    for it in (1, 2, 3):
        runner.iter = it
        hook.before_val_epoch(runner)
        hook.after_val_iter(runner, 0, data_batch, outputs)
    hook.before_test_epoch(runner)
    hook.after_test_iter(runner, 0, data_batch, outputs)
    files = _written(tmp_path)
    assert sorted(files) == ['x_x2_2.png']  # the 2nd val run only
    # without gt the panel is [LR | SR]
    assert cv2.imread(files['x_x2_2.png']).shape == (8, 2 * 10 + 2, 3)

    hook = SRVisualizationHook(num_samples=1)
    runner.iter = 9
    hook.before_test_epoch(runner)
    hook.after_test_iter(runner, 0, data_batch, outputs)
    assert 'x_x2_9.png' in _written(tmp_path)


def test_needs_sr_visualizer():
    hook = SRVisualizationHook()
    runner = SimpleNamespace(
        visualizer=Visualizer.get_instance(name='test_needs_sr_visualizer'),
        iter=0)
    hook.before_val_epoch(runner)
    with pytest.raises(TypeError, match='SRVisualizer'):
        hook.after_val_iter(runner, 0, *_batch(['a']))
    with pytest.raises(ValueError, match='interval'):
        SRVisualizationHook(interval=0)

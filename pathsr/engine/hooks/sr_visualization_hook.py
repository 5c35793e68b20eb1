"""Hook that writes LR / SR / GT / error panels during val and test."""
import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook

from pathsr.registry import HOOKS
from pathsr.structures import SRDataSample
from pathsr.visualization import SRVisualizer


@HOOKS.register_module()
class SRVisualizationHook(Hook):
    """Draw the first images of a validation / test run with
    :meth:`SRVisualizer.add_sr_sample`.

    The panel of each image is named after the basename of its ``gt_path``
    (``lr_path`` when there is no GT) without extension, plus ``_x<scale>``
    when the sample has a scale, and stored at step ``runner.iter``;
    ``LocalVisBackend`` thus writes ``<name>_x<scale>_<iter>.png``.

    Args:
        interval (int): Draw during every ``interval``-th validation run
            (the ``interval``-th, ``2 * interval``-th, ...). Defaults to 1.
        num_samples (int): Number of images drawn per run, the first ones
            in dataloader order. Defaults to 4.
        error_gain (float): Gain of the absolute-error map. Defaults to 4.0.
        on_test (bool): Also draw during every test run. Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 1,
                 num_samples: int = 4,
                 error_gain: float = 4.0,
                 on_test: bool = True) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if num_samples < 0:
            raise ValueError(f'num_samples must be >= 0, got {num_samples}')
        self.interval = interval
        self.num_samples = num_samples
        self.error_gain = error_gain
        self.on_test = on_test
        self._val_runs = 0
        self._drawn = 0
        self._active = False

    def _before_epoch(self, runner, mode: str = 'train') -> None:
        """Decide whether this val/test run draws, and reset the count."""
        if mode == 'val':
            self._val_runs += 1
            self._active = self._val_runs % self.interval == 0
        elif mode == 'test':
            self._active = self.on_test
        self._drawn = 0

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch: Optional[dict] = None,
                    outputs: Optional[Sequence[SRDataSample]] = None,
                    mode: str = 'train') -> None:
        """Draw the samples of a val/test batch."""
        if mode != 'train':
            self._draw(runner, data_batch, outputs)

    def _draw(self, runner, data_batch: dict,
              outputs: Sequence[SRDataSample]) -> None:
        """Draw the samples of a batch until ``num_samples`` are drawn."""
        if not self._active or self._drawn >= self.num_samples:
            return
        visualizer = runner.visualizer
        if not isinstance(visualizer, SRVisualizer):
            raise TypeError(
                'SRVisualizationHook needs an SRVisualizer, set '
                "visualizer=dict(type='SRVisualizer', ...) in the config; "
                f'got {type(visualizer).__name__}')
        for lr, sample in zip(data_batch['inputs'], outputs):
            if self._drawn >= self.num_samples:
                return
            path = sample.metainfo.get('gt_path',
                                       sample.metainfo.get('lr_path'))
            if path is None:
                raise KeyError('SRVisualizationHook needs gt_path or lr_path '
                               'in the metainfo of every output sample')
            name = osp.splitext(osp.basename(path))[0]
            if 'scale' in sample.metainfo:
                name += f"_x{sample.metainfo['scale']:g}"
            visualizer.add_sr_sample(
                name=name,
                lr=lr,
                pred=sample.pred_img,
                gt=sample.gt_img if 'gt_img' in sample else None,
                step=runner.iter,
                error_gain=self.error_gain)
            self._drawn += 1

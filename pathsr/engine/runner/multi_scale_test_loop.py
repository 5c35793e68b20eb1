"""Test loop that evaluates one checkpoint at several SR scales."""
import copy
import os.path as osp
from typing import Dict, List, Sequence, Union

import torch
from mmengine.evaluator import Evaluator
from mmengine.runner import BaseLoop

from pathsr.datasets.transforms.degradation import check_scale
from pathsr.registry import LOOPS


@LOOPS.register_module()
class MultiScaleTestLoop(BaseLoop):
    """Run the test set once per scale and report a table over the scales.

    The test dataloader config is built once per scale with its dataset's
    ``scale`` key set (the pipeline degrades the HR images at that scale),
    and the evaluator config once per scale. Metrics are returned as
    ``x<scale>/<metric>`` (e.g. ``x2.5/PSNR``) and logged at the end as one
    Markdown row in the layout of the ISTE paper's Table 1: for each scale
    its metrics (PSNR, SSIM, and FID when configured).

    Args:
        runner: The runner.
        dataloader: Config of the test dataloader (a dict; its dataset must
            accept ``scale``).
        evaluator: Config of the evaluator (list of metric configs).
        scales: Scales to test; the default is ISTE's x2, x3, x4
            (in-distribution) and x6, x8 (out-of-distribution).
    """

    def __init__(self,
                 runner,
                 dataloader: dict,
                 evaluator: Union[dict, list],
                 scales: Sequence[float] = (2, 3, 4, 6, 8)) -> None:
        if not isinstance(dataloader, dict):
            raise TypeError('MultiScaleTestLoop needs the test dataloader '
                            'as a config dict, to build it once per scale')
        if not scales:
            raise ValueError('MultiScaleTestLoop needs at least one scale')
        self.scales: List[float] = [
            check_scale(scale, 'MultiScaleTestLoop') for scale in scales
        ]
        self.dataloaders: Dict[float, torch.utils.data.DataLoader] = {}
        self.evaluators: Dict[float, Evaluator] = {}
        for scale in self.scales:
            cfg = copy.deepcopy(dataloader)
            cfg['dataset']['scale'] = scale
            super().__init__(runner, cfg)
            self.dataloaders[scale] = self.dataloader
            self.evaluators[scale] = runner.build_evaluator(
                copy.deepcopy(evaluator))
            if hasattr(self.dataloader.dataset, 'metainfo'):
                self.evaluators[scale].dataset_meta = \
                    self.dataloader.dataset.metainfo
        self.evaluator = self.evaluators[self.scales[0]]

    def run(self) -> Dict[str, float]:
        """Test at every scale; return the metrics of all scales."""
        self.runner.call_hook('before_test')
        self.runner.model.eval()
        results: Dict[str, float] = {}
        for scale in self.scales:
            self.dataloader = self.dataloaders[scale]
            self.evaluator = self.evaluators[scale]
            self.runner.call_hook('before_test_epoch')
            for idx, data_batch in enumerate(self.dataloader):
                self.run_iter(idx, data_batch)
            metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
            metrics = {f'x{scale:g}/{k}': v for k, v in metrics.items()}
            results.update(metrics)
            self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.logger.info('\n' + self.table(results))
        self.runner.call_hook('after_test')
        return results

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: dict) -> None:
        """Predict one batch and feed it to the current evaluator."""
        self.runner.call_hook(
            'before_test_iter', batch_idx=idx, data_batch=data_batch)
        outputs = self.runner.model.test_step(data_batch)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(
            'after_test_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)

    def table(self, results: Dict[str, float]) -> str:
        """One Markdown row: the model, then each scale's metrics."""
        filename = self.runner.cfg.filename or 'model'
        name = osp.splitext(osp.basename(filename))[0]
        header, row = ['model'], [name]
        for key, value in results.items():
            header.append(key.replace('/', ' '))
            row.append(f'{value:.4f}' if abs(value) < 10 else f'{value:.2f}')
        lines = [header, ['---'] * len(header), row]
        return '\n'.join('| ' + ' | '.join(line) + ' |' for line in lines)

"""``SRManifestDataset``: real HR/LR patch pairs listed in a slide manifest."""
import csv
import os.path as osp
from typing import List, Optional

from mmengine.dataset import BaseDataset

from pathsr.registry import DATASETS
from .transforms.degradation import check_scale

SPLITS = ('train', 'val', 'test')


@DATASETS.register_module()
class SRManifestDataset(BaseDataset):
    """Patch pairs from the manifest of ``tools/dataset_converters/
    slides_to_patches.py``.

    The manifest (CSV, one row per HR patch) holds the columns ``slide``,
    ``split``, ``hr_path`` and one ``lr_x<s>_path`` column per LR
    magnification (the same slide region read at 1/s of the HR
    magnification); paths are relative to ``data_root``. The rows of
    ``split`` become data infos ``dict(gt_path, scale, slide)``, plus
    ``lr_path`` from the column of ``scale`` when ``paired`` (real LR
    patches, as MiHATP uses: 20x/10x/5x for x2/x4/x8). Without ``paired``
    the pipeline degrades the HR patches itself.

    Args:
        data_root: The patch folder (the tool's ``OUT_DIR``).
        ann_file: The manifest, relative to ``data_root``.
        split: ``'train'``, ``'val'`` or ``'test'`` (the tool splits by slide).
        scale: SR scale, also selecting the LR column ``lr_x<scale>_path``.
        paired: Read the real LR patches of the manifest.
        **kwargs: The other arguments of mmengine's ``BaseDataset``
            (``pipeline``, ``test_mode``, ``serialize_data``, ...).
    """

    METAINFO = dict(dataset_type='sr_manifest')

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = 'manifest.csv',
                 split: str = 'train',
                 scale: Optional[float] = None,
                 paired: bool = True,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if paired and scale is None:
            raise ValueError('SRManifestDataset with paired=True needs the '
                             'scale that selects the LR column')
        self.split = split
        self.scale = None if scale is None else check_scale(
            scale, 'SRManifestDataset')
        self.paired = paired
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the rows of ``split`` from the manifest."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'manifest not found: {self.ann_file!r}')
        with open(self.ann_file, newline='', encoding='utf-8') as file:
            reader = csv.DictReader(file)
            columns = reader.fieldnames or []
            rows = [row for row in reader if row.get('split') == self.split]
        lr_column = f'lr_x{self.scale:g}_path' if self.paired else None
        for column in ('slide', 'split', 'hr_path', lr_column):
            if column is not None and column not in columns:
                raise KeyError(f'manifest {self.ann_file!r} has no column '
                               f'{column!r}; its columns are {columns}')
        if not rows:
            raise ValueError(f'manifest {self.ann_file!r} has no patch in '
                             f'split {self.split!r}')
        data_list = []
        for row in rows:
            info = dict(
                gt_path=osp.join(self.data_root, row['hr_path']),
                slide=row['slide'])
            if self.scale is not None:
                info['scale'] = self.scale
            if lr_column is not None:
                info['lr_path'] = osp.join(self.data_root, row[lr_column])
            data_list.append(info)
        return data_list

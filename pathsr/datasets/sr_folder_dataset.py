"""``SRFolderDataset``: HR images, and optional LR partners, from folders."""
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from pathsr.registry import DATASETS
from .transforms.degradation import check_scale

IMG_EXTENSIONS = ('.png', '.tif', '.tiff', '.jpg', '.jpeg', '.bmp')
SPLITS = ('train', 'val', 'test')


@DATASETS.register_module()
class SRFolderDataset(BaseDataset):
    """A folder of HR images, optionally paired with a folder of LR images.

    Each data info is ``dict(gt_path=str)``, plus ``lr_path`` (str) when
    ``data_prefix`` has an ``lr`` folder and ``scale`` (float) when the
    dataset has one; ``sample_idx`` is added by
    :class:`~mmengine.dataset.BaseDataset`. Putting the SR scale on the
    dataset lets x2/x3/x4 configs, and multi-scale tests, differ only in it.

    Images: the files of the HR folder (top level only) whose extension is
    one of ``.png .tif .tiff .jpg .jpeg .bmp`` (case-insensitive), sorted by
    name. With ``ann_file``, the images are instead the lines of that text
    file, each a file name relative to the HR folder; blank lines and lines
    starting with ``#`` are skipped.

    LR partners: the file of the LR folder (same sub-folder as in the HR
    name) with the same stem as the HR file and any supported extension,
    e.g. ``hr/a.png`` -> ``lr/a.tif``.

    Splits, so that ``data_root`` may point at any folder of images: when
    ``split`` is set and the ``gt`` prefix is ``''`` (the default),

    - if ``data_root/<split>/`` exists, the images are all those of it
      (``'test'`` falls back to ``data_root/val/`` when there is no
      ``test/`` but a ``val/``);
    - otherwise the images come from ``data_root`` itself, split
      deterministically: with ``k = round(1 / val_fraction)``, the files of
      sorted index ``0, k, 2k, ...`` (so at least one) are held out for
      ``'val'`` and ``'test'`` (the same files for both), the others are
      ``'train'``.

    With an explicit ``gt`` prefix, ``split`` does not change the folder;
    with ``ann_file``, the ann file is the split and is not subdivided.

    With ``lr_optional``, a missing LR folder is not an error: the samples
    then have no ``lr_path`` (a pipeline can synthesise LR, see
    :class:`~pathsr.datasets.transforms.IfKeyPresent`) and the dataset logs
    which folder it did not find. An LR folder that exists must still hold
    a partner for every HR image.

    Args:
        data_root (str): Root folder; relative prefixes and ``ann_file`` are
            joined to it. Defaults to ``''``.
        data_prefix (dict, optional): ``gt`` (HR folder, default ``''``) and
            optional ``lr`` (LR folder). Defaults to ``dict(gt='')``.
        ann_file (str): Optional list of HR file names. Defaults to ``''``.
        split (str, optional): ``'train'``, ``'val'``, ``'test'`` or None.
            Defaults to None.
        val_fraction (float): Held-out fraction of the deterministic split,
            in (0, 0.5]. Defaults to 0.1.
        scale (float, optional): SR scale given to every sample (read by
            :class:`~pathsr.datasets.transforms.BicubicDegradation`).
            Defaults to None.
        lr_optional (bool): Allow the ``lr`` folder of ``data_prefix`` to
            be absent. Defaults to False.
        metainfo (dict, optional): Extra meta information.
        indices (int or Sequence[int], optional): Keep only these samples.
        serialize_data (bool): Serialize the data list. Defaults to True.
        pipeline (Sequence[dict or Callable]): Transforms. Defaults to ().
        test_mode (bool): Test mode of BaseDataset. Defaults to False.
        lazy_init (bool): Defer loading the data list. Defaults to False.
        max_refetch (int): Refetch limit of BaseDataset. Defaults to 1000.

    Raises:
        FileNotFoundError: The HR or LR folder, the ann file, a listed file
            or an LR partner does not exist; the message names it.
        ValueError: A folder holds no image, a split is empty, an HR file has
            several LR partners, or an argument is invalid.
    """

    METAINFO = dict(dataset_type='sr_folder')

    def __init__(self,
                 data_root: str = '',
                 data_prefix: Optional[Dict[str, str]] = None,
                 ann_file: str = '',
                 split: Optional[str] = None,
                 val_fraction: float = 0.1,
                 scale: Optional[float] = None,
                 lr_optional: bool = False,
                 metainfo: Optional[dict] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = True,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000) -> None:
        data_prefix = {'gt': '', **(data_prefix or {})}
        unknown = sorted(set(data_prefix) - {'gt', 'lr'})
        if unknown:
            raise ValueError(f'data_prefix accepts the keys gt and lr, got '
                             f'unknown keys {unknown}')
        if split not in (None, ) + SPLITS:
            raise ValueError(
                f'split must be one of {SPLITS} or None, got {split!r}')
        if not 0 < val_fraction <= 0.5:
            raise ValueError(
                f'val_fraction must be in (0, 0.5], got {val_fraction!r}')
        self.split = split
        self.val_fraction = val_fraction
        self.scale = None if scale is None else check_scale(
            scale, 'SRFolderDataset')
        self.lr_optional = lr_optional
        self._split_root = split is not None and data_prefix['gt'] == ''
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            indices=indices,
            serialize_data=serialize_data,
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)

    def load_data_list(self) -> List[dict]:
        """List ``dict(gt_path[, lr_path])`` for every image."""
        gt_dir, subdivide = self._resolve_gt_dir()
        if self.ann_file:
            names = self._read_ann_file(gt_dir)
        else:
            names = self._list_images(gt_dir)
            if not names:
                raise ValueError(
                    f'no image in folder {gt_dir!r}: accepted extensions are '
                    f'{IMG_EXTENSIONS} (case-insensitive); point the config '
                    'at your images with --cfg-options data_root=<folder>')
            if subdivide:
                names = self._split_names(names, gt_dir)
        data_list = [dict(gt_path=osp.join(gt_dir, name)) for name in names]
        if self.scale is not None:
            for info in data_list:
                info['scale'] = self.scale
        if self._has_lr_folder():
            lr_index: Dict[str, Dict[str, List[str]]] = {}
            for info, name in zip(data_list, names):
                info['lr_path'] = self._find_lr_partner(
                    name, info['gt_path'], lr_index)
        return data_list

    def _has_lr_folder(self) -> bool:
        """Whether samples get LR partners (see ``lr_optional``)."""
        if 'lr' not in self.data_prefix:
            return False
        if self.lr_optional and not osp.isdir(self.data_prefix['lr']):
            print_log(
                f'SRFolderDataset: no LR folder {self.data_prefix["lr"]!r}; '
                'the samples have no lr_path (LR is made by the pipeline)',
                logger='current')
            return False
        return True

    def _resolve_gt_dir(self) -> Tuple[str, bool]:
        """Return the HR folder and whether it must be split by index."""
        gt_dir = self.data_prefix['gt']
        if not osp.isdir(gt_dir):
            raise FileNotFoundError(
                f'image folder not found: {gt_dir!r} (data_root='
                f'{self.data_root!r}, data_prefix={self.data_prefix}); '
                'point the config at your images with --cfg-options '
                'data_root=<folder>')
        if not self._split_root:
            return gt_dir, False
        for split in (self.split, 'val') if self.split == 'test' \
                else (self.split, ):
            split_dir = osp.join(gt_dir, split)
            if osp.isdir(split_dir):
                return split_dir, False
        return gt_dir, True

    @staticmethod
    def _list_images(folder: str) -> List[str]:
        """Sorted names of the image files at the top level of ``folder``."""
        return sorted(
            entry.name for entry in os.scandir(folder) if entry.is_file()
            and osp.splitext(entry.name)[1].lower() in IMG_EXTENSIONS)

    def _split_names(self, names: List[str], folder: str) -> List[str]:
        """Keep the names of ``self.split`` (every k-th one is held out)."""
        k = round(1 / self.val_fraction)
        if self.split != 'train':
            return names[::k]
        kept = [name for index, name in enumerate(names) if index % k]
        if not kept:
            raise ValueError(
                f'split {self.split!r} of folder {folder!r} is empty: its '
                f'{len(names)} image(s) are all held out for val/test '
                f'(every {k}-th file, val_fraction={self.val_fraction})')
        return kept

    def _read_ann_file(self, gt_dir: str) -> List[str]:
        """Read the HR file names listed in ``self.ann_file``."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'annotation file not found: {self.ann_file!r}')
        with open(self.ann_file, encoding='utf-8') as file:
            lines = [line.strip() for line in file]
        names = [line for line in lines if line and not line.startswith('#')]
        if not names:
            raise ValueError(f'annotation file {self.ann_file!r} lists no '
                             'image')
        for name in names:
            if not osp.isfile(osp.join(gt_dir, name)):
                raise FileNotFoundError(
                    f'image {name!r} listed in annotation file '
                    f'{self.ann_file!r} not found in folder {gt_dir!r}')
        return names

    def _find_lr_partner(self, name: str, gt_path: str,
                         lr_index: Dict[str, Dict[str, List[str]]]) -> str:
        """Find the LR file with the stem of the HR file ``name``.

        ``lr_index`` caches, per LR folder, the image names by stem.
        """
        subdir, base = osp.split(name)
        folder = osp.join(self.data_prefix['lr'], subdir)
        if folder not in lr_index:
            if not osp.isdir(folder):
                raise FileNotFoundError(f'LR folder not found: {folder!r}')
            by_stem: Dict[str, List[str]] = {}
            for lr_name in self._list_images(folder):
                by_stem.setdefault(osp.splitext(lr_name)[0],
                                   []).append(lr_name)
            lr_index[folder] = by_stem
        stem = osp.splitext(base)[0]
        partners = lr_index[folder].get(stem, [])
        if not partners:
            raise FileNotFoundError(
                f'no LR partner of HR file {gt_path!r} in LR folder '
                f'{folder!r}: expected {stem}.<ext> with ext in '
                f'{IMG_EXTENSIONS}')
        if len(partners) > 1:
            raise ValueError(f'HR file {gt_path!r} has several LR partners '
                             f'in LR folder {folder!r}: {partners}')
        return osp.join(folder, partners[0])

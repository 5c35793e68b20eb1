"""Frechet Inception Distance between the SR and the ground-truth images."""
import os
import warnings
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import pytorch_fid
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from pytorch_fid.fid_score import calculate_frechet_distance
from pytorch_fid.inception import (FID_WEIGHTS_URL, FIDInceptionA,
                                   FIDInceptionC, FIDInceptionE_1,
                                   FIDInceptionE_2)
from torchvision.models import inception_v3

from pathsr.registry import METRICS

# The blocks of torchvision's Inception3 that pytorch-fid replaces by the
# TensorFlow-compatible ones of the FID Inception, with their arguments.
_FID_BLOCKS = (
    ('Mixed_5b', FIDInceptionA, (192, 32)),
    ('Mixed_5c', FIDInceptionA, (256, 64)),
    ('Mixed_5d', FIDInceptionA, (288, 64)),
    ('Mixed_6b', FIDInceptionC, (768, 128)),
    ('Mixed_6c', FIDInceptionC, (768, 160)),
    ('Mixed_6d', FIDInceptionC, (768, 160)),
    ('Mixed_6e', FIDInceptionC, (768, 192)),
    ('Mixed_7b', FIDInceptionE_1, (1280, )),
    ('Mixed_7c', FIDInceptionE_2, (2048, )),
)
# Layers of Inception3 from the input to the pool3 features (2048-d).
_POOL3_LAYERS = ('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3',
                 'maxpool1', 'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'maxpool2',
                 'Mixed_5b', 'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b',
                 'Mixed_6c', 'Mixed_6d', 'Mixed_6e', 'Mixed_7a', 'Mixed_7b',
                 'Mixed_7c', 'avgpool')


@METRICS.register_module()
class FID(BaseMetric):
    """Frechet Inception Distance (Heusel et al. 2017) of the set of SR
    images to the set of ground-truth images, with pytorch-fid's network and
    formula.

    Each element of ``data_samples`` given to :meth:`process` is a dict with
    ``pred_img`` and ``gt_img``: float tensors of shape ``(3, H, W)``, RGB,
    range ``[0, 1]``, of the same shape. Each image (or each tile, see
    ``crop_size``) is one sample. It is resized to ``299 x 299`` (bilinear,
    ``align_corners=False``, no antialiasing), mapped to ``[-1, 1]`` and
    passed through pytorch-fid's FID Inception (torchvision's Inception3 with
    the TensorFlow-compatible blocks of pytorch-fid) up to the final average
    pool, which gives a 2048-d feature in float32; this is
    ``pytorch_fid.inception.InceptionV3([3], resize_input=True,
    normalize_input=True, use_fid_inception=True)``. Only the features are
    kept in :attr:`results`, so memory grows with the number of samples,
    not pixels. :meth:`compute_metrics` takes the mean and covariance
    (float64) of the SR and GT features and returns pytorch-fid's
    ``calculate_frechet_distance``,
    ``||mu_sr - mu_gt||^2 + Tr(S_sr + S_gt - 2 (S_sr S_gt)^(1/2))``, as
    ``FID`` (0 for identical sets, larger is worse); scipy's square root of
    the 2048 x 2048 matrix takes about 15 s on a 2-core CPU. The backend,
    versions, weights and sample count are stored in :attr:`backend_info`
    and logged.

    FID needs at least 2 samples and is biased upwards below 2048 (the
    feature dimension): the covariances are then rank-deficient. Only values
    computed with the same weights, ``crop_size`` and sample count compare.

    Args:
        weights_path (str, optional): A local copy of pytorch-fid's Inception
            weights, ``pt_inception-2015-12-05-6726825d.pth``. None looks for
            it in the torch hub cache,
            ``torch.hub.get_dir()/checkpoints/`` (``$TORCH_HOME/hub``), where
            pytorch-fid itself puts it. Defaults to None.
        allow_download (bool): Download the weights from
            :data:`pytorch_fid.inception.FID_WEIGHTS_URL` into the hub cache
            when ``weights_path`` is None and the cache lacks them. Off by
            default because machines of pathology sites are often offline:
            a missing file then raises a ``FileNotFoundError`` at build time
            that says where to put it. Defaults to False.
        random_init (bool): Use a randomly initialised FID Inception (fixed
            seed, He-normal convolutions) instead of the weights, for tests
            and offline smoke runs. Its values are not comparable to any
            published FID. Defaults to False.
        crop_size (int, optional): Cut every image into non-overlapping
            ``crop_size x crop_size`` tiles in row-major order (the remainder
            at the right and bottom is dropped) and use each tile as one
            sample. Recommended (e.g. 256) when the test set has few large
            images: it gives more samples for the covariances and avoids
            downscaling a large image to 299 without antialiasing. None uses
            each whole image as one sample. Defaults to None.
        batch_size (int): Images per forward pass of the Inception.
            Defaults to 50 (pytorch-fid's default).
        device (str): Device of the Inception; ``'auto'`` picks ``'cuda'``
            when available, else ``'cpu'``. Defaults to ``'auto'``.
        collect_device (str): Device used to collect results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric name in the results,
            e.g. ``'x4'`` gives ``'x4/FID'``. Defaults to None (no prefix).
    """

    default_prefix: Optional[str] = ''
    metric_name = 'FID'
    feature_dim = 2048
    input_size = 299
    random_init_seed = 0
    weights_name = os.path.basename(FID_WEIGHTS_URL)

    def __init__(self,
                 weights_path: Optional[str] = None,
                 allow_download: bool = False,
                 random_init: bool = False,
                 crop_size: Optional[int] = None,
                 batch_size: int = 50,
                 device: str = 'auto',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if crop_size is not None and (not isinstance(crop_size, int)
                                      or crop_size < 1):
            raise ValueError('crop_size must be None or a positive int, got '
                             f'{crop_size!r}')
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f'batch_size must be a positive int, got {batch_size!r}')
        if random_init and weights_path is not None:
            raise ValueError('random_init=True ignores weights; do not also '
                             f'give weights_path={weights_path!r}')
        if random_init:
            warnings.warn(
                'FID with a randomly initialised Inception (random_init='
                'True): the values are only for tests and smoke runs and '
                'are not comparable to published FID', UserWarning)
            self.weights = 'random-init'
        else:
            self.weights = self._find_weights(weights_path, allow_download)
        if device == 'auto':
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        self.device = torch.device(device)
        self.crop_size = crop_size
        self.batch_size = batch_size
        self.inception = self._build_inception(
            None if random_init else self.weights)
        self.inception.to(self.device)
        self._pool3 = nn.Sequential(
            *(getattr(self.inception, name) for name in _POOL3_LAYERS),
            nn.Flatten())
        self.backend_info: dict = {}

    def _find_weights(self, weights_path: Optional[str],
                      allow_download: bool) -> str:
        """The path of the Inception weights: ``weights_path``, else the hub
        cache, downloaded there if allowed."""
        if weights_path is not None:
            if not os.path.isfile(weights_path):
                raise FileNotFoundError(
                    f'FID weights_path {weights_path!r} does not exist; '
                    f'it should be pytorch-fid\'s {self.weights_name} from '
                    f'{FID_WEIGHTS_URL}')
            return weights_path
        cached = os.path.join(torch.hub.get_dir(), 'checkpoints',
                              self.weights_name)
        if os.path.isfile(cached):
            return cached
        if not allow_download:
            raise FileNotFoundError(
                'FID needs pytorch-fid\'s Inception weights and found '
                f'neither weights_path (not given) nor {cached} (torch hub '
                f'cache). Download {FID_WEIGHTS_URL} on a machine with '
                'internet and pass weights_path=<file> or copy it to that '
                'cache path; or set allow_download=True when online')
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        try:
            torch.hub.download_url_to_file(FID_WEIGHTS_URL, cached)
        except Exception as err:
            raise RuntimeError(
                f'Could not download the FID Inception weights from '
                f'{FID_WEIGHTS_URL} to {cached} ({err!r}). Without internet, '
                'fetch the file elsewhere and pass weights_path=<file> or '
                'copy it to that path') from err
        return cached

    @classmethod
    def _build_inception(cls, weights_path: Optional[str]) -> nn.Module:
        """pytorch-fid's FID Inception: torchvision's Inception3 (1008
        classes, no aux head) with the FID blocks, in eval mode, without
        gradients; weights from ``weights_path`` or, if None, seeded He-normal
        convolutions. The global RNG is left untouched. This is the network
        of ``pytorch_fid.inception.fid_inception_v3``, which always fetches
        its weights from the URL instead of taking a file."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cls.random_init_seed)
            inception = inception_v3(
                weights=None,
                num_classes=1008,
                aux_logits=False,
                init_weights=False)
            for name, block, args in _FID_BLOCKS:
                setattr(inception, name, block(*args))
            if weights_path is None:
                for module in inception.modules():
                    if isinstance(module, nn.Conv2d):
                        nn.init.kaiming_normal_(
                            module.weight, nonlinearity='relu')
        if weights_path is not None:
            state_dict = torch.load(
                weights_path, map_location='cpu', weights_only=True)
            try:
                inception.load_state_dict(state_dict)
            except RuntimeError as err:
                raise RuntimeError(
                    f'{weights_path} is not pytorch-fid\'s Inception '
                    f'({cls.weights_name}): {err}') from err
        inception.requires_grad_(False)
        return inception.eval()

    def extract_features(
            self, imgs: Union[torch.Tensor,
                              Sequence[torch.Tensor]]) -> np.ndarray:
        """Pool3 features of images (whole, not tiled).

        Args:
            imgs (Tensor | Sequence[Tensor]): ``(N, 3, H, W)`` or ``N``
                tensors of shape ``(3, H_i, W_i)``, float RGB in ``[0, 1]``.

        Returns:
            np.ndarray: float32 features of shape ``(N, 2048)``.
        """
        for index, img in enumerate(imgs):
            self._check_image(img, f'image {index}')
        return self._features(list(imgs))

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store the features of the SR and GT images (or tiles) of every
        sample as ``dict(pred=(k, 2048), gt=(k, 2048))`` float32 arrays in
        :attr:`results`.

        Args:
            data_batch (dict): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): The model outputs as dicts with
                ``pred_img`` and ``gt_img``.
        """
        preds: List[torch.Tensor] = []
        gts: List[torch.Tensor] = []
        counts: List[int] = []
        for index, data_sample in enumerate(data_samples):
            name = data_sample.get('gt_path', f'sample {index}')
            for key in ('pred_img', 'gt_img'):
                if key not in data_sample:
                    raise KeyError(f'FID needs {key!r} in every data sample; '
                                   f'got keys {sorted(data_sample)}')
                self._check_image(data_sample[key], f'{name}: {key}')
            pred, gt = data_sample['pred_img'], data_sample['gt_img']
            if pred.shape != gt.shape:
                raise ValueError(f'{name}: pred_img shape {tuple(pred.shape)}'
                                 ' does not match gt_img shape '
                                 f'{tuple(gt.shape)}')
            pred_tiles = self._tiles(pred, name)
            preds.extend(pred_tiles)
            gts.extend(self._tiles(gt, name))
            counts.append(len(pred_tiles))
        pred_feats = np.split(self._features(preds), np.cumsum(counts)[:-1])
        gt_feats = np.split(self._features(gts), np.cumsum(counts)[:-1])
        for pred_feat, gt_feat in zip(pred_feats, gt_feats):
            self.results.append(dict(pred=pred_feat, gt=gt_feat))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """FID of the SR features to the GT features.

        Args:
            results (list): ``dict(pred=(k, 2048), gt=(k, 2048))`` of every
                image.

        Returns:
            dict: ``{'FID': value}``.
        """
        num_samples = sum(len(result['pred']) for result in results)
        if num_samples < 2:
            raise ValueError(
                f'FID needs at least 2 samples (images, or tiles with '
                f'crop_size) to estimate a covariance, got {num_samples}')
        if num_samples < self.feature_dim:
            warnings.warn(
                f'FID from {num_samples} samples (< {self.feature_dim}, the '
                'feature dimension): the covariances are rank-deficient and '
                'FID is biased upwards; compare only values computed from '
                'the same number of samples', UserWarning)
        fid = self.frechet_distance(
            np.concatenate([result['pred'] for result in results]),
            np.concatenate([result['gt'] for result in results]))
        self.backend_info = dict(
            backend='pytorch-fid',
            pytorch_fid=pytorch_fid.__version__,
            torch=torch.__version__,
            weights=self.weights,
            crop_size=self.crop_size,
            num_samples=num_samples)
        print_log(f'FID {fid:.4f} with {self.backend_info}', logger='current')
        return {self.metric_name: fid}

    @staticmethod
    def frechet_distance(feats1: np.ndarray, feats2: np.ndarray) -> float:
        """pytorch-fid's Frechet distance of two feature sets.

        Args:
            feats1 (np.ndarray): Features ``(N1, D)``, ``N1 >= 2``.
            feats2 (np.ndarray): Features ``(N2, D)``, ``N2 >= 2``.

        Returns:
            float: ``calculate_frechet_distance`` of the float64 means and
            covariances (``np.cov``, ``N - 1`` normalisation) of the sets.
        """
        stats = []
        for feats in (feats1, feats2):
            feats = np.asarray(feats, dtype=np.float64)
            stats += [feats.mean(axis=0), np.cov(feats, rowvar=False)]
        return float(calculate_frechet_distance(*stats))

    @torch.no_grad()
    def _features(self, imgs: List[torch.Tensor]) -> np.ndarray:
        """Features ``(N, 2048)`` of checked ``(3, H, W)`` images, in batches
        of :attr:`batch_size`."""
        if len(imgs) == 0:
            raise ValueError('FID got no image to extract features from')
        feats = []
        for start in range(0, len(imgs), self.batch_size):
            batch = torch.cat([
                F.interpolate(
                    img[None].to(self.device, torch.float32),
                    size=(self.input_size, self.input_size),
                    mode='bilinear',
                    align_corners=False)
                for img in imgs[start:start + self.batch_size]
            ])
            feats.append(self._pool3(2 * batch - 1).cpu())
        return torch.cat(feats).numpy()

    def _tiles(self, img: torch.Tensor, name: str) -> List[torch.Tensor]:
        """The samples of a ``(3, H, W)`` image: itself, or its
        ``crop_size`` tiles in row-major order."""
        if self.crop_size is None:
            return [img]
        size = self.crop_size
        rows, cols = img.shape[1] // size, img.shape[2] // size
        if rows == 0 or cols == 0:
            raise ValueError(f'{name}: crop_size={size} is larger than the '
                             f'image ({img.shape[1]}x{img.shape[2]})')
        return [
            img[:, i * size:(i + 1) * size, j * size:(j + 1) * size]
            for i in range(rows) for j in range(cols)
        ]

    @staticmethod
    def _check_image(img: torch.Tensor, name: str) -> None:
        """Raise if ``img`` is not a float ``(3, H, W)`` tensor in
        ``[0, 1]``."""
        if not isinstance(img, torch.Tensor) or not img.is_floating_point():
            raise TypeError(
                f'{name} must be a float tensor in [0, 1], got '
                f'{type(img).__name__} {getattr(img, "dtype", "")}')
        if img.ndim != 3 or img.shape[0] != 3:
            raise ValueError(
                f'{name} must have shape (3, H, W), got {tuple(img.shape)}')
        low, high = img.min().item(), img.max().item()
        if low < 0 or high > 1:
            raise ValueError(f'{name} has values in [{low}, {high}], '
                             'expected the range [0, 1]')

import time
import urllib.error

import numpy as np
import pytest
import pytorch_fid
import torch
import torch.nn.functional as F
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from pytorch_fid import inception as pytorch_fid_inception
from pytorch_fid.inception import FID_WEIGHTS_URL, InceptionV3

from pathsr.evaluation import FID
from pathsr.evaluation.metrics import fid as fid_module
from pathsr.registry import METRICS
from pathsr.structures import SRDataSample

# scipy's sqrtm of a 2048x2048 matrix (pytorch-fid's formula) takes ~15 s on
# a 2-core CPU, so only test_matches_pytorch_fid runs it; the other tests
# replace FID.frechet_distance by this exact low-rank equivalent, checked
# against pytorch-fid there: Tr (S1 S2)^(1/2) is the sum of the singular
# values of A1 A2^T, with A the centred features / sqrt(N - 1).


def _lowrank_frechet_distance(feats1, feats2):
    centred = []
    for feats in (feats1, feats2):
        feats = np.asarray(feats, dtype=np.float64)
        centred.append((feats - feats.mean(0)) / np.sqrt(len(feats) - 1))
    a1, a2 = centred
    diff = np.mean(feats1, 0, dtype=np.float64) - np.mean(
        feats2, 0, dtype=np.float64)
    cross = np.linalg.svd(a1 @ a2.T, compute_uv=False).sum()
    return float(diff @ diff + (a1 * a1).sum() + (a2 * a2).sum() - 2 * cross)


@pytest.fixture
def fast_fid(monkeypatch):
    monkeypatch.setattr(FID, 'frechet_distance',
                        staticmethod(_lowrank_frechet_distance))


def _random_init_fid(**kwargs):
    with pytest.warns(UserWarning, match='not comparable to published FID'):
        return FID(random_init=True, batch_size=8, **kwargs)


def _blur(imgs, k):
    return F.avg_pool2d(F.pad(imgs, (k // 2, ) * 4, mode='reflect'), k, 1)


@pytest.fixture(scope='module')
def metric():
    return _random_init_fid()


@pytest.fixture(scope='module')
def images():
    """Smooth random 32x32 textures and degraded copies, 4 of each."""
    gen = torch.Generator().manual_seed(0)
    low = torch.rand(4, 3, 8, 8, generator=gen)
    gt = F.interpolate(low, size=(32, 32), mode='bicubic').clamp(0, 1)
    noise = torch.randn(gt.shape, generator=gen)
    return dict(
        gt=gt,
        noisy=(gt + 0.02 * noise).clamp(0, 1),
        noisier=(gt + 0.2 * noise).clamp(0, 1),
        blurred=_blur(gt, 7))


@pytest.fixture(scope='module')
def features(metric, images):
    return {key: metric.extract_features(imgs) for key, imgs in images.items()}


def _samples(preds, gts):
    return [
        dict(pred_img=pred, gt_img=gt, gt_path=f'{i}.png')
        for i, (pred, gt) in enumerate(zip(preds, gts))
    ]


def test_matches_pytorch_fid(metric, images, features, monkeypatch):
    metric.results.clear()
    metric.process({}, _samples(images['noisier'], images['gt']))
    calls = []
    pytorch_fid_distance = fid_module.calculate_frechet_distance

    def spy(*stats):
        calls.append((stats, pytorch_fid_distance(*stats)))
        return calls[-1][1]

    monkeypatch.setattr(fid_module, 'calculate_frechet_distance', spy)
    with pytest.warns(UserWarning, match='4 samples.*rank-deficient'):
        value = metric.compute_metrics(metric.results)['FID']
    # the metric gives pytorch-fid the mean and covariance of the features
    # of metric.extract_features and returns pytorch-fid's value
    (stats, expected), = calls
    reference = []
    for key in ('noisier', 'gt'):
        feats = features[key].astype(np.float64)
        reference += [feats.mean(0), np.cov(feats, rowvar=False)]
    for got, ref in zip(stats, reference):
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-12)
    assert value == pytest.approx(float(expected), rel=1e-6)
    assert value > 1
    # the stand-in of the other tests agrees (sqrtm's own error is ~1e-6
    # absolute, so a small FID would agree only to that)
    assert _lowrank_frechet_distance(features['noisier'],
                                     features['gt']) == pytest.approx(
                                         value, rel=1e-5)
    # (g) backend and versions recorded with the result
    assert metric.backend_info == dict(
        backend='pytorch-fid',
        pytorch_fid=pytorch_fid.__version__,
        torch=torch.__version__,
        weights='random-init',
        crop_size=None,
        num_samples=4)


def test_network_is_pytorch_fid_inception(metric, images, features,
                                          monkeypatch):
    # pytorch-fid's InceptionV3 (resize to 299, [-1, 1], FID blocks, pool3)
    # around the metric's weights gives the metric's features
    monkeypatch.setattr(pytorch_fid_inception, 'fid_inception_v3',
                        lambda: metric.inception)
    reference = InceptionV3([3],
                            resize_input=True,
                            normalize_input=True,
                            use_fid_inception=True).eval()
    with torch.no_grad():
        expected = reference(images['gt'][:2])[0].flatten(1).numpy()
    np.testing.assert_allclose(
        features['gt'][:2], expected, rtol=1e-5, atol=1e-6)
    assert features['gt'].shape == (4, 2048)
    assert features['gt'].dtype == np.float32


def test_random_init_is_deterministic_and_keeps_global_rng(metric):
    state = torch.get_rng_state()
    other = _random_init_fid()
    assert torch.equal(torch.get_rng_state(), state)
    for (name, param), other_param in zip(
            metric.inception.state_dict().items(),
            other.inception.state_dict().values()):
        assert torch.equal(param, other_param), name


def test_set_with_itself_is_zero(metric, features, fast_fid):
    feats = features['gt']
    with pytest.warns(UserWarning, match='rank-deficient'):
        value = metric.compute_metrics([dict(pred=feats, gt=feats)])['FID']
    assert abs(value) < 1e-3


def test_grows_with_degradation(metric, features, fast_fid):

    def fid(key):
        with pytest.warns(UserWarning, match='rank-deficient'):
            return metric.compute_metrics(
                [dict(pred=features[key], gt=features['gt'])])['FID']

    assert 0 < fid('noisy') < fid('noisier')
    assert fid('noisy') < fid('blurred')


def test_crop_size_tiles(images, fast_fid):
    metric = _random_init_fid(crop_size=32)
    # 48x70 with 32 px tiles: 1 x 2 tiles each, the remainder is dropped
    gts = [F.interpolate(img[None], size=(48, 70))[0] for img in images['gt']]
    preds = [_blur(gt[None], 3)[0] for gt in gts[:2]]
    metric.process({}, _samples(preds, gts[:2]))
    assert len(metric.results) == 2
    assert [r['pred'].shape for r in metric.results] == [(2, 2048)] * 2
    tiles = [pred[:, :32, j:j + 32] for pred in preds for j in (0, 32)]
    stored = np.concatenate([r['pred'] for r in metric.results])
    np.testing.assert_allclose(
        stored, metric.extract_features(tiles), rtol=1e-5, atol=1e-6)
    with pytest.warns(UserWarning, match='4 samples'):
        metric.compute_metrics(metric.results)
    assert metric.backend_info['num_samples'] == 4
    assert metric.backend_info['crop_size'] == 32
    with pytest.raises(ValueError, match=r'big\.png: crop_size=32.*16x40'):
        metric.process({}, [
            dict(
                pred_img=torch.rand(3, 16, 40),
                gt_img=torch.rand(3, 16, 40),
                gt_path='big.png')
        ])


def test_missing_weights_fail_fast(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))

    def no_network(*args, **kwargs):
        raise AssertionError('FID tried to download')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_network)
    cached = tmp_path / 'hub' / 'checkpoints' / FID.weights_name
    start = time.perf_counter()
    with pytest.raises(FileNotFoundError) as error:
        FID()
    assert time.perf_counter() - start < 0.5
    assert str(cached) in str(error.value)
    assert FID_WEIGHTS_URL in str(error.value)
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        FID(weights_path=str(tmp_path / 'nowhere.pth'))


def test_weights_from_file_cache_and_download(metric, tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    weights = tmp_path / 'inception.pth'
    torch.save(metric.inception.state_dict(), weights)

    def check(built, path):
        assert built.weights == str(path)
        for name, param in built.inception.state_dict().items():
            assert torch.equal(param, metric.inception.state_dict()[name])

    check(FID(weights_path=str(weights)), weights)
    # offline download: a clear error naming the URL
    cached = tmp_path / 'hub' / 'checkpoints' / FID.weights_name

    def offline(url, dst, *args, **kwargs):
        raise urllib.error.URLError('no route to host')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    with pytest.raises(RuntimeError, match='Could not download.*github'):
        FID(allow_download=True)
    assert not cached.exists()

    def download(url, dst, *args, **kwargs):
        assert url == FID_WEIGHTS_URL
        torch.save(metric.inception.state_dict(), dst)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', download)
    check(FID(allow_download=True), cached)
    # found in the hub cache, no download needed
    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    check(FID(), cached)
    torch.save(dict(weight=torch.zeros(1)), weights)
    with pytest.raises(RuntimeError, match='inception.pth is not pytorch'):
        FID(weights_path=str(weights))


def test_registry_and_evaluator_order(images, fast_fid):
    init_default_scope('pathsr')
    with pytest.warns(UserWarning, match='not comparable'):
        metric = METRICS.build(dict(type='FID', random_init=True))
    assert isinstance(metric, FID) and metric.device.type in ('cpu', 'cuda')
    with pytest.warns(UserWarning, match='not comparable'):
        evaluator = Evaluator([
            dict(type='PSNR'),
            dict(type='FID', random_init=True),
            dict(type='SSIM')
        ])
    samples = []
    for i, gt in enumerate(images['gt'][:2]):
        sample = SRDataSample(metainfo=dict(gt_path=f'{i}.png', scale=2))
        sample.gt_img = gt
        sample.pred_img = images['noisy'][i]
        samples.append(sample)
    evaluator.process(samples, dict(inputs=[], data_samples=samples))
    with pytest.warns(UserWarning, match='2 samples'):
        result = evaluator.evaluate(2)
    assert list(result) == ['PSNR', 'FID', 'SSIM']
    assert result['FID'] > 0


def test_errors(metric):
    with pytest.raises(ValueError, match='crop_size'):
        FID(random_init=True, crop_size=0)
    with pytest.raises(ValueError, match='batch_size'):
        FID(random_init=True, batch_size=0)
    with pytest.raises(ValueError, match='weights_path'):
        FID(random_init=True, weights_path='x.pth')
    feats = np.zeros((1, 2048), dtype=np.float32)
    with pytest.raises(ValueError, match='at least 2 samples.*got 1'):
        metric.compute_metrics([dict(pred=feats, gt=feats)])
    with pytest.raises(ValueError, match='at least 2 samples.*got 0'):
        metric.compute_metrics([])
    gt = torch.rand(3, 8, 8)
    with pytest.raises(ValueError, match=r'0\.png: pred_img shape'):
        metric.process({}, _samples([torch.rand(3, 8, 9)], [gt]))
    with pytest.raises(ValueError, match=r'0\.png: gt_img has values'):
        metric.process({}, _samples([gt], [gt + 1]))
    with pytest.raises(ValueError, match=r'\(3, H, W\), got \(1, 8, 8\)'):
        metric.process({}, _samples([gt[:1]], [gt[:1]]))
    with pytest.raises(TypeError, match='float tensor'):
        metric.extract_features([torch.zeros(3, 8, 8, dtype=torch.uint8)])
    with pytest.raises(KeyError, match='gt_img'):
        metric.process({}, [dict(pred_img=gt)])

import math

import pytest
import torch

from pathsr.models.losses import (TransformationPoolContrastiveLoss,
                                  VGGFeatureExtractor)
from pathsr.registry import MODELS


def _vec(*values):
    """(1, 1, C, 1, 1) sample from channel values."""
    return torch.tensor(values).view(1, 1, -1, 1, 1)


def _image_loss(**kwargs):
    return TransformationPoolContrastiveLoss(extractor=None,
                                             loss_weight=1.0,
                                             **kwargs)


# anchor [1, 0]; positive cos 0.6; negatives cos 0.8 and 0; tau 0.05
ANCHOR = torch.tensor([1., 0.]).view(1, 2, 1, 1)
POS = _vec(0.6, 0.8)
NEG = torch.cat([_vec(0.8, 0.6), _vec(0., 1.)], dim=1)


def test_hand_computed_value():
    expected = -math.log(
        math.exp(12) / (math.exp(12) + math.exp(16) + math.exp(0)))
    assert _image_loss()(ANCHOR, POS, NEG).item() == pytest.approx(expected)
    weighted = TransformationPoolContrastiveLoss(extractor=None)
    assert weighted(ANCHOR, POS, NEG).item() == pytest.approx(0.01 * expected)


def test_two_positives_are_averaged():
    pos = torch.cat([POS, _vec(1., 0.)], dim=1)
    denominator_neg = math.exp(16) + 1
    expected = 0.5 * (math.log(1 + denominator_neg / math.exp(12)) +
                      math.log(1 + denominator_neg / math.exp(20)))
    assert _image_loss()(ANCHOR, pos, NEG).item() == pytest.approx(expected)


def test_absent_pool_similarity_is_one():
    loss = _image_loss()
    no_neg = -math.log(math.exp(12) / (math.exp(12) + math.exp(20)))
    no_pos = -math.log(
        math.exp(20) / (math.exp(20) + math.exp(16) + math.exp(0)))
    assert loss(ANCHOR, POS, None).item() == pytest.approx(no_neg, rel=1e-4)
    assert loss(ANCHOR, None, NEG).item() == pytest.approx(no_pos, rel=1e-4)
    with pytest.raises(ValueError, match='both None'):
        loss(ANCHOR, None, None)


def test_loss_falls_as_anchor_approaches_positive():
    g = torch.Generator().manual_seed(0)
    anchor = torch.rand(2, 3, 8, 8, generator=g)
    pos = torch.rand(2, 2, 3, 8, 8, generator=g)
    neg = torch.rand(2, 3, 3, 8, 8, generator=g)
    loss = _image_loss()
    values = [
        loss(anchor + t * (pos[:, 0] - anchor), pos, neg).item()
        for t in (0., 0.5, 1.)
    ]
    assert values[0] > values[1] > values[2]


def test_layer_weights_and_errors():
    loss = _image_loss(layer_weights=[2.0])
    assert loss(ANCHOR, POS, NEG).item() == pytest.approx(
        2 * _image_loss()(ANCHOR, POS, NEG).item())
    with pytest.raises(ValueError, match='layer_weights'):
        _image_loss(layer_weights=[1., 1.])(ANCHOR, POS, NEG)
    with pytest.raises(ValueError, match='negatives'):
        _image_loss()(ANCHOR, POS, NEG[0])
    with pytest.raises(ValueError, match='no space'):
        TransformationPoolContrastiveLoss(extractor=None, image_space=False)


def test_vgg_random_init_maps():
    with pytest.warns(UserWarning, match='NOT ImageNet-pretrained'):
        vgg = VGGFeatureExtractor(random_init=True)
    feats = vgg(torch.rand(1, 3, 32, 32))
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512, 512]
    assert [f.shape[-1] for f in feats] == [32, 16, 8, 4, 2]
    # frozen weights are buffers kept out of optimizers and checkpoints
    assert list(vgg.parameters()) == [] and vgg.state_dict() == {}
    assert len(list(vgg.buffers())) == 2 + 2 * 13  # mean, std, 13 convs
    vgg.train()
    assert not vgg.training
    with pytest.raises(ValueError, match='increasing depth'):
        VGGFeatureExtractor(layers=('relu2_1', 'relu1_1'), random_init=True)


def test_vgg_loads_local_weights_on_first_use(tmp_path):
    with pytest.warns(UserWarning):
        source = VGGFeatureExtractor(layers=('relu2_1', ), random_init=True)
    # slicing keeps torchvision's indices: slices.<i>.<index>.<name>
    features = {
        key.split('.', 1)[1]: value + 1  # differ from the seeded init
        for key, value in source.slices.named_buffers()
    }
    path = tmp_path / 'vgg19_features.pth'
    torch.save(features, path)
    loaded = VGGFeatureExtractor(layers=('relu2_1', ), weights_path=str(path))
    assert torch.equal(loaded.slices[1][3].weight, source.slices[1][3].weight)
    image = torch.rand(1, 3, 8, 8)
    loaded(image)  # the first forward reads the file
    assert torch.equal(loaded.slices[1][3].weight, features['5.weight'])
    full = {f'features.{key}': value for key, value in features.items()}
    full['classifier.0.bias'] = torch.zeros(2)
    torch.save(full, path)
    loaded = VGGFeatureExtractor(layers=('relu1_1', ), weights_path=str(path))
    loaded.load_weights()
    assert torch.equal(loaded.slices[0][0].weight, features['0.weight'])
    torch.save({'features.0.weight': torch.zeros(1)}, path)
    bad = VGGFeatureExtractor(layers=('relu1_1', ), weights_path=str(path))
    with pytest.raises(RuntimeError, match=r'not a VGG19 state dict.*0\.weight'):
        bad(image)


def test_vgg_missing_weights_fail_at_first_use(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    # building needs no file: models holding the loss can be tested anywhere
    vgg = VGGFeatureExtractor()
    with pytest.raises(FileNotFoundError, match='random_init=True') as info:
        vgg(torch.rand(1, 3, 8, 8))
    assert str(tmp_path) in str(info.value)
    missing = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        VGGFeatureExtractor(weights_path=str(missing)).load_weights()


def test_loss_with_vgg_backpropagates_to_anchor():
    with pytest.warns(UserWarning):
        loss = MODELS.build(
            dict(type='TransformationPoolContrastiveLoss',
                 extractor=dict(type='VGGFeatureExtractor',
                                layers=('relu1_1', 'relu2_1'),
                                random_init=True)))
    g = torch.Generator().manual_seed(0)
    anchor = torch.rand(2, 3, 16, 16, generator=g, requires_grad=True)
    pos = torch.rand(2, 1, 3, 16, 16, generator=g, requires_grad=True)
    neg = torch.rand(2, 3, 3, 16, 16, generator=g)
    value = loss(anchor, pos, neg)
    value.backward()
    assert value.item() > 0
    assert anchor.grad.abs().sum() > 0 and pos.grad.abs().sum() > 0

"""Frozen ImageNet VGG19 feature extractor for feature-space losses."""
import os
import warnings
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from torchvision.models.vgg import cfgs, make_layers

from pathsr.registry import MODELS

# torchvision ``vgg19().features`` index ranges ending at each relu*_1.
_LAYER_SLICES = {
    'relu1_1': (0, 2),
    'relu2_1': (2, 7),
    'relu3_1': (7, 12),
    'relu4_1': (12, 21),
    'relu5_1': (21, 30),
}
_HUB_FILE = 'vgg19-dcbb9e9d.pth'
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


@MODELS.register_module()
class VGGFeatureExtractor(nn.Module):
    """Frozen VGG19 returning the relu*_1 activations (AECR-Net / PCL).

    Inputs in [0, 1] are normalised with the ImageNet mean and std. Layer
    ``relu{i}_1`` has 64, 128, 256, 512, 512 channels for i = 1..5 and
    stride 1, 2, 4, 8, 16. The module stays in eval mode and gradients flow
    to the input only: its weights are non-persistent buffers, so they
    never reach an optimizer or a checkpoint and still follow
    ``.to(device)``.

    Weights come from ``weights_path``, a local torchvision VGG19 state dict
    (keys ``features.N.weight`` or features-only keys ``N.weight``), else
    from the torch hub cache file ``<torch.hub.get_dir()>/checkpoints/
    vgg19-dcbb9e9d.pth``. Nothing is downloaded. They are read on the first
    forward call (or :meth:`load_weights`), so a model whose training loss
    holds the extractor can be built, tested and used for inference on a
    machine without the file; training there fails at its first step with
    an error naming both places.

    Args:
        layers: relu*_1 names in increasing depth.
        weights_path: Local VGG19 state dict file.
        random_init: Use a deterministic (seed 0) random init instead of
            pretrained weights, for tests only; warns.
    """

    def __init__(self,
                 layers: Sequence[str] = ('relu1_1', 'relu2_1', 'relu3_1',
                                          'relu4_1', 'relu5_1'),
                 weights_path: Optional[str] = None,
                 random_init: bool = False) -> None:
        super().__init__()
        names = list(_LAYER_SLICES)
        unknown = [layer for layer in layers if layer not in _LAYER_SLICES]
        depths = [names.index(layer) for layer in layers if not unknown]
        if not layers or unknown or depths != sorted(set(depths)):
            raise ValueError('VGGFeatureExtractor: layers must be distinct '
                             f'names from {names} in increasing depth, got '
                             f'{tuple(layers)}')
        if random_init and weights_path is not None:
            raise ValueError('VGGFeatureExtractor: give weights_path or '
                             'random_init=True, not both')
        self.layers = tuple(layers)

        # torchvision's VGG19 ``features`` (config 'E') with VGG's init,
        # seeded so random_init is deterministic; global RNG untouched
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            features = make_layers(cfgs['E'])[:_LAYER_SLICES[layers[-1]][1]]
            for module in features.modules():
                if isinstance(module, nn.Conv2d):
                    nn.init.kaiming_normal_(module.weight,
                                            mode='fan_out',
                                            nonlinearity='relu')
                    nn.init.zeros_(module.bias)
        if random_init:
            warnings.warn('VGGFeatureExtractor: random_init=True, the '
                          'features are NOT ImageNet-pretrained')
        self.weights_path = weights_path
        self._weights_loaded = random_init

        # run every slice up to the deepest requested layer
        self.slices = nn.ModuleList(
            features[start:end]
            for start, end in list(_LAYER_SLICES.values())[:depths[-1] + 1])
        self._outputs = set(depths)
        mean = torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer('mean', mean, persistent=False)
        self.register_buffer('std', std, persistent=False)
        for module in self.slices.modules():
            if isinstance(module, nn.Conv2d):
                for name in ('weight', 'bias'):
                    value = getattr(module, name).detach()
                    delattr(module, name)
                    module.register_buffer(name, value, persistent=False)
        self.eval()

    def load_weights(self) -> None:
        """Copy the pretrained VGG19 weights into the buffers (once).

        Raises:
            FileNotFoundError: Neither ``weights_path`` nor the hub cache
                file exists.
            RuntimeError: The file is not a VGG19 state dict (a layer is
                missing or has another shape).
        """
        if self._weights_loaded:
            return
        hub_path = os.path.join(torch.hub.get_dir(), 'checkpoints', _HUB_FILE)
        path = self.weights_path if self.weights_path is not None \
            else hub_path
        if not os.path.isfile(path):
            given = (f'weights_path={self.weights_path!r} does not exist'
                     if self.weights_path is not None else
                     'no weights_path given')
            raise FileNotFoundError(
                f'VGGFeatureExtractor: no VGG19 weights ({given}; torch hub '
                f'cache file {hub_path} absent). Put torchvision\'s '
                f'{_HUB_FILE} there or pass weights_path; random_init=True '
                'is the explicit alternative for tests.')
        state = torch.load(path, map_location='cpu', weights_only=True)
        if any(key.startswith('features.') for key in state):
            state = {
                key[len('features.'):]: value
                for key, value in state.items() if key.startswith('features.')
            }
        # buffer 'slice.N.weight' holds features layer N's weight
        targets = {
            name.split('.', 1)[1]: buffer
            for name, buffer in self.slices.named_buffers()
        }
        for key, buffer in targets.items():
            value = state.get(key)
            if value is None or value.shape != buffer.shape:
                found = 'missing' if value is None else tuple(value.shape)
                raise RuntimeError(
                    f'VGGFeatureExtractor: {path} is not a VGG19 state dict: '
                    f'{key} should be {tuple(buffer.shape)}, found {found}')
        with torch.no_grad():
            for key, buffer in targets.items():
                buffer.copy_(state[key])
        self._weights_loaded = True

    def train(self, mode: bool = True) -> 'VGGFeatureExtractor':
        """Stay in eval mode: the extractor is frozen."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Map (N, 3, H, W) images in [0, 1] to the requested activations,
        a list of (N, C_l, H / s_l, W / s_l) tensors (floor division)."""
        if x.dim() != 4 or x.size(1) != 3:
            raise ValueError('VGGFeatureExtractor: expected (N, 3, H, W) '
                             f'images, got {tuple(x.shape)}')
        self.load_weights()
        x = (x - self.mean) / self.std
        outputs = []
        for depth, block in enumerate(self.slices):
            x = block(x)
            if depth in self._outputs:
                outputs.append(x)
        return outputs

"""Reversible transformation pool (RTP) of MiHATP: the dihedral group D4."""
import numbers
from typing import Callable, List, Optional, Tuple

import torch
import torch.nn as nn

from pathsr.registry import MODELS

Transform = Callable[[torch.Tensor], torch.Tensor]


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _hflip(x: torch.Tensor) -> torch.Tensor:
    return x.flip(-1)


def _vflip(x: torch.Tensor) -> torch.Tensor:
    return x.flip(-2)


def _rot90(x: torch.Tensor) -> torch.Tensor:
    return torch.rot90(x, 1, dims=(-2, -1))


def _rot180(x: torch.Tensor) -> torch.Tensor:
    return torch.rot90(x, 2, dims=(-2, -1))


def _rot270(x: torch.Tensor) -> torch.Tensor:
    return torch.rot90(x, -1, dims=(-2, -1))


def _transpose(x: torch.Tensor) -> torch.Tensor:
    return x.transpose(-2, -1)


def _anti_transpose(x: torch.Tensor) -> torch.Tensor:
    return x.transpose(-2, -1).flip(-2, -1)


# index -> (name, forward, inverse); flips, rot180 and both transposes are
# involutions, rot90 and rot270 invert each other.
_TRANSFORMS: Tuple[Tuple[str, Transform, Transform], ...] = (
    ('identity', _identity, _identity),
    ('hflip', _hflip, _hflip),
    ('vflip', _vflip, _vflip),
    ('rot90', _rot90, _rot270),
    ('rot180', _rot180, _rot180),
    ('rot270', _rot270, _rot90),
    ('transpose', _transpose, _transpose),
    ('anti_transpose', _anti_transpose, _anti_transpose),
)


@MODELS.register_module()
class ReversibleTransformPool(nn.Module):
    """The 8 dihedral transforms of an image, each with its exact inverse.

    MiHATP's positives are ``T^-1(F_con(T(I_LR)))`` with ``T`` drawn from
    this pool. Index ``k`` names a transform: 0 identity, 1 horizontal flip,
    2 vertical flip, 3 rot90 (counter-clockwise), 4 rot180, 5 rot270,
    6 transpose (main diagonal), 7 anti-transpose (anti-diagonal).

    The transforms act on the last two dimensions of a tensor of any leading
    shape, e.g. (B, C, H, W) or (B, K, C, H, W). rot90, rot270, transpose and
    anti-transpose swap H and W of a non-square image; ``inverse`` restores
    the original (H, W), so ``inverse(forward(x, k), k)`` equals ``x``
    exactly for every ``k``.

    Args:
        num_samples: Number of distinct transforms returned by
            :meth:`sample`, in [1, 8].
    """

    names: Tuple[str, ...] = tuple(name for name, _, _ in _TRANSFORMS)

    def __init__(self, num_samples: int = 1) -> None:
        super().__init__()
        if not 1 <= num_samples <= len(_TRANSFORMS):
            raise ValueError('ReversibleTransformPool: num_samples must be in '
                             f'[1, {len(_TRANSFORMS)}], got {num_samples}')
        self.num_samples = num_samples

    def __len__(self) -> int:
        return len(_TRANSFORMS)

    def sample(self, generator: Optional[torch.Generator] = None) -> List[int]:
        """Draw ``num_samples`` transform indices uniformly without
        replacement (torch RNG, CPU generator if given)."""
        order = torch.randperm(len(_TRANSFORMS), generator=generator)
        return order[:self.num_samples].tolist()

    def forward(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """Apply transform ``k`` to ``x`` (..., H, W) -> (..., H', W')."""
        return _TRANSFORMS[self._check(x, k)][1](x)

    def inverse(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """Undo transform ``k`` on ``x`` (..., H', W') -> (..., H, W)."""
        return _TRANSFORMS[self._check(x, k)][2](x)

    def _check(self, x: torch.Tensor, k: int) -> int:
        if x.dim() < 2:
            raise ValueError('ReversibleTransformPool: expected a tensor with '
                             f'spatial dims (..., H, W), got {tuple(x.shape)}')
        is_int = isinstance(k, numbers.Integral) and not isinstance(k, bool)
        if not is_int or not 0 <= k < len(_TRANSFORMS):
            raise ValueError('ReversibleTransformPool: transform index must '
                             f'be an int in [0, {len(_TRANSFORMS) - 1}], '
                             f'got {k!r}')
        return int(k)

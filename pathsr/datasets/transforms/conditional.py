"""Choose a transform chain by whether a key is in the results."""
from typing import Callable, List, Optional, Sequence, Union

from mmcv.transforms import BaseTransform

from pathsr.registry import TRANSFORMS

TransformCfg = Union[dict, Callable[[dict], Optional[dict]]]


@TRANSFORMS.register_module()
class IfKeyPresent(BaseTransform):
    """Run ``transforms`` when ``key`` is in the results, else
    ``else_transforms``.

    One pipeline then serves data with and without an optional field, e.g.
    real LR partners (``lr_path``, loaded and cropped with the HR) or
    LR synthesised from the HR::

        dict(type='IfKeyPresent', key='lr_path',
             transforms=[dict(type='LoadSRImage', key='lr'),
                         dict(type='PairedRandomCrop', gt_patch_size=192)],
             else_transforms=[dict(type='RandomCrop', crop_size=192,
                                   keys=['gt']),
                              dict(type='BicubicDegradation')])

    A transform returning ``None`` (a dropped sample) ends the chain with
    ``None``, as in mmcv's ``Compose``.

    Args:
        key: The results key that selects the branch.
        transforms: Configs (built from pathsr's registry) or callables run
            when ``key`` is present.
        else_transforms: The same, run otherwise; none by default.
    """

    def __init__(self,
                 key: str,
                 transforms: Sequence[TransformCfg],
                 else_transforms: Sequence[TransformCfg] = ()) -> None:
        self.key = key
        self.transforms = self._build(transforms)
        self.else_transforms = self._build(else_transforms)

    @staticmethod
    def _build(transforms: Sequence[TransformCfg]) -> List[Callable]:
        return [
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in transforms
        ]

    def transform(self, results: dict) -> Optional[dict]:
        """Apply the branch chosen by ``key``."""
        chain = self.transforms if self.key in results \
            else self.else_transforms
        for transform in chain:
            results = transform(results)
            if results is None:
                return None
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(key={self.key!r}, '
                f'transforms={self.transforms}, '
                f'else_transforms={self.else_transforms})')

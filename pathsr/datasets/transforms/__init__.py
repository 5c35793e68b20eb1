from .conditional import IfKeyPresent
from .crop import PairedRandomCrop, RandomCrop
from .degradation import BicubicDegradation, bicubic_resize, iste_blur
from .flip import RandomFlipTranspose
from .formatting import PackSRInputs
from .loading import LoadSRImage
from .random_scale_degradation import RandomScaleDegradation

__all__ = [
    'LoadSRImage', 'RandomCrop', 'PairedRandomCrop', 'RandomFlipTranspose',
    'BicubicDegradation', 'RandomScaleDegradation', 'bicubic_resize',
    'iste_blur', 'IfKeyPresent', 'PackSRInputs'
]

from .crop import PairedRandomCrop, RandomCrop
from .degradation import BicubicDegradation, bicubic_resize
from .flip import RandomFlipTranspose
from .formatting import PackSRInputs
from .loading import LoadSRImage

__all__ = [
    'LoadSRImage', 'RandomCrop', 'PairedRandomCrop', 'RandomFlipTranspose',
    'BicubicDegradation', 'bicubic_resize', 'PackSRInputs'
]

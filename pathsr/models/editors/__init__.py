from .base_sr_model import BaseSRModel
from .fixed_scale_sr_model import FixedScaleSRModel
from .implicit_sr_model import ImplicitSRModel
from .interpolation_sr_model import InterpolationSRModel
from .mihatp import MiHATP

__all__ = [
    'BaseSRModel', 'FixedScaleSRModel', 'ImplicitSRModel',
    'InterpolationSRModel', 'MiHATP'
]

from .bicubic import Bicubic
from .edsr import EDSR
from .srcnn import SRCNN

__all__ = ['Bicubic', 'EDSR', 'SRCNN']

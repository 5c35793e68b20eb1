from .bicubic import Bicubic
from .edsr import EDSR
from .li_wsisr import LiWSISR
from .srcnn import SRCNN
from .swinir import SwinIR

__all__ = ['Bicubic', 'EDSR', 'SRCNN', 'LiWSISR', 'SwinIR']

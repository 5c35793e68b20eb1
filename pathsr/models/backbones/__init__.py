from .bicubic import Bicubic
from .edsr import EDSR
from .hat import HAT
from .li_wsisr import LiWSISR
from .srcnn import SRCNN
from .swinir import SwinIR

__all__ = ['Bicubic', 'EDSR', 'HAT', 'SRCNN', 'LiWSISR', 'SwinIR']

from .coordinates import MAX_OUTPUT_PIXELS, make_coord, output_shape
from .sr_data_sample import SRDataSample

__all__ = ['MAX_OUTPUT_PIXELS', 'SRDataSample', 'make_coord', 'output_shape']

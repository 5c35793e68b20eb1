"""Whole-slide images: readers, tissue masks and patch grids."""
from .integrity import SlideFileError, check_slide_file
from .patching import tissue_patch_coords
from .pyramid_writer import pyramid_shapes, read_provenance, write_pyramid
from .slide_reader import (OpenSlideReader, SlideReader, TiffSlideReader,
                           composite_on_white, open_slide)
from .tissue_mask import glass_colour, mask_overlay, segment_tissue

__all__ = [
    'SlideReader', 'OpenSlideReader', 'TiffSlideReader', 'open_slide',
    'composite_on_white', 'SlideFileError', 'check_slide_file',
    'glass_colour', 'segment_tissue', 'mask_overlay', 'tissue_patch_coords',
    'pyramid_shapes', 'write_pyramid', 'read_provenance'
]

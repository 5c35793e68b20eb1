"""Inference on images, folders, arrays and slide regions (seam-free tiles)."""
from .color_correction import correct_color
from .inferencer import (LRImage, SlideRegion, SRInferencer, init_model,
                         output_paths, read_slide_region, save_image,
                         select_device)
from .slide_sr import SlideSRResult, super_resolve_slide
from .tiled_inference import (DEFAULT_TILE_PIXELS, Tile, default_halo, hr_span,
                              iter_sr_tiles, plan_tiles, resolve_out_shape,
                              tile_alignment, tile_geometry, tiled_sr)

__all__ = [
    'SRInferencer', 'SlideRegion', 'LRImage', 'init_model', 'output_paths',
    'read_slide_region', 'save_image', 'select_device', 'DEFAULT_TILE_PIXELS',
    'Tile', 'default_halo', 'hr_span', 'iter_sr_tiles', 'plan_tiles',
    'resolve_out_shape', 'tile_alignment', 'tile_geometry', 'tiled_sr',
    'SlideSRResult', 'super_resolve_slide', 'correct_color'
]

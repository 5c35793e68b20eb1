"""``SRInferencer``: super-resolve images, folders, arrays and slide regions.

A model is built from a pathsr config and loaded strictly from a checkpoint
(:func:`init_model`). Each input becomes a uint8 RGB LR image ``(h, w, 3)``
(:meth:`SRInferencer.load`), its output size ``(H, W)`` is computed once
from a scale, a size, or a target resolution (:meth:`SRInferencer.resolve`),
and it is super-resolved by seam-free tiled inference
(:func:`~pathsr.apis.tiled_inference.tiled_sr`) into a uint8 RGB array
``(H, W, 3)``, optionally colour-corrected against its LR
(:func:`~pathsr.apis.color_correction.correct_color`) and saved as PNG or
TIFF (:func:`save_image`). The stain-colour fidelity of each output, the
mean CIEDE2000 between it downscaled back to the LR size and the LR input,
is kept in :attr:`SRInferencer.last_report`.

Resolutions: a slide region is read at an mpp or magnification, which is
the resolution of its LR image; an image file or array may be given one
(``in_mpp``/``in_magnification``). A target ``mpp`` then means the scale
``in_mpp / mpp``, a target ``magnification`` the scale ``magnification /
in_magnification``; the output's mpp (written into TIFF resolution tags) is
``in_mpp * h / H`` per axis.
"""
import math
import os.path as osp
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from collections import OrderedDict
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import tifffile
import torch
from PIL import Image
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader, load_state_dict

from pathsr.datasets.transforms import LoadSRImage
from pathsr.engine.runner import CheckpointMismatchError
from pathsr.evaluation.metrics.color_difference import delta_e_to_lr
from pathsr.registry import MODELS
from pathsr.slides import open_slide
from pathsr.structures import MAX_OUTPUT_PIXELS
from pathsr.utils import allow_mmengine_globals
from pathsr.utils.atomic import atomic_path
from .color_correction import correct_color
from .tiled_inference import (DEFAULT_TILE_PIXELS, resolve_out_shape,
                              tile_geometry, tiled_sr)

#: Suffixes of the image files taken from an input folder.
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.tif', '.tiff', '.bmp', '.webp')
#: Formats outputs are saved in (JPEG at quality :data:`JPEG_QUALITY`).
SAVE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.tif', '.tiff')
#: Quality of JPEG outputs.
JPEG_QUALITY = 95
#: Image files whose pixels are rotated or flipped per EXIF orientation
#: 2-8: ``(quarter turns counter-clockwise, flip left-right after)``.
EXIF_ORIENTATIONS = {
    2: (0, True),
    3: (2, False),
    4: (2, True),
    5: (3, True),
    6: (3, False),
    7: (1, True),
    8: (1, False)
}


@dataclass(frozen=True)
class SlideRegion:
    """A region of a whole-slide image, read at a resolution.

    Args:
        path: The slide file (any format of :func:`pathsr.slides.open_slide`).
        location: Level-0 ``(x, y)`` of the top-left corner.
        size: Level-0 ``(w, h)`` extent; the LR image has
            ``round(size / downsample)`` pixels, ``downsample`` the level-0
            pixels per pixel of the reading resolution.
        mpp: Microns per pixel to read at (exactly one of ``mpp`` and
            ``magnification``).
        magnification: Objective magnification to read at.
        slide_mpp: Level-0 mpp replacing the file's (for slides without one).
        backend: ``'auto'``, ``'openslide'`` or ``'tiffslide'``.
    """
    path: str
    location: Tuple[int, int]
    size: Tuple[int, int]
    mpp: Optional[float] = None
    magnification: Optional[float] = None
    slide_mpp: Optional[float] = None
    backend: str = 'auto'


class LRImage(NamedTuple):
    """A loaded input: ``name`` (for output files), the uint8 RGB ``img``
    ``(h, w, 3)``, its resolution when known, and whether it is a slide
    region."""
    name: str
    img: np.ndarray
    mpp: Optional[float] = None
    magnification: Optional[float] = None
    from_slide: bool = False


InputType = Union[str, Path, np.ndarray, SlideRegion]


class InputItem(NamedTuple):
    """One input listed by :meth:`SRInferencer.list_inputs`, not read yet:
    the ``name`` of its output, its ``source`` (an image file, a uint8 RGB
    array or a :class:`SlideRegion`) and whether it is a slide region."""
    name: str
    source: Union[Path, np.ndarray, SlideRegion]
    from_slide: bool = False


def select_device(device: Optional[str] = None) -> str:
    """``device``, or CUDA when available else the CPU; a CUDA device on a
    machine without CUDA falls back to the CPU with a warning.

    Raises:
        ValueError: A device that is not ``cpu``, ``cuda``, ``cuda:N``
            (``N`` below the number of GPUs) or an available ``mps``.
    """
    if device is None:
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    try:
        parsed = torch.device(str(device))
    except RuntimeError:
        parsed = None
    if parsed is None or parsed.type not in ('cpu', 'cuda', 'mps'):
        raise ValueError(f'unknown device {device!r}: use cpu, cuda or '
                         'cuda:N')
    if parsed.type == 'cuda' and not torch.cuda.is_available():
        warnings.warn(f'device {device} was asked for but CUDA is not '
                      'available: running on the CPU')
        return 'cpu'
    if parsed.type == 'cuda' and parsed.index is not None \
            and parsed.index >= torch.cuda.device_count():
        raise ValueError(f'device {device} does not exist: this machine has '
                         f'{torch.cuda.device_count()} GPU(s), cuda:0 to '
                         f'cuda:{torch.cuda.device_count() - 1}')
    if parsed.type == 'mps' and not torch.backends.mps.is_available():
        raise ValueError(f'device {device} is not available on this machine')
    return str(device)


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build ``config``'s model, load ``checkpoint`` strictly, move it to
    ``device`` and set eval mode.

    Loading is that of :class:`~pathsr.engine.runner.SRRunner`: mmengine's
    loader with ``weights_only`` safe globals for plain mmengine
    checkpoints, the ``module.`` prefix of wrapped models stripped, and any
    missing, unexpected or mis-shaped parameter an error. A checkpoint holds
    the EMA weights under ``state_dict`` when the model was trained with
    EMA.

    Raises:
        FileNotFoundError: The config or the checkpoint does not exist.
        ValueError: No checkpoint for a model with parameters, or a file
            that is not a checkpoint.
        CheckpointMismatchError: The checkpoint does not fit the model.
    """
    if isinstance(config, Config):
        cfg, name = config, config.filename or 'the given config'
    else:
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        cfg, name = Config.fromfile(str(config)), str(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'pathsr'))
    model = MODELS.build(cfg.model)
    if checkpoint is None:
        if any(p.numel() for p in model.parameters()):
            raise ValueError(
                f'{name} builds {type(model).__name__}, a model with '
                'trainable parameters: give the checkpoint to load')
    else:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint file not found: {checkpoint}')
        allow_mmengine_globals()
        try:
            state = CheckpointLoader.load_checkpoint(
                str(checkpoint), map_location='cpu')
        except Exception as error:
            raise ValueError(f'cannot read checkpoint {checkpoint}: '
                             f'{type(error).__name__}: {error}') from error
        if not isinstance(state, dict):
            raise ValueError(f'checkpoint {checkpoint} holds a '
                             f'{type(state).__name__}, not a state dict')
        state = state.get('state_dict', state)
        weights = OrderedDict((re.sub(r'^module\.', '', key), value)
                              for key, value in state.items())
        weights._metadata = getattr(state, '_metadata', OrderedDict())
        try:
            load_state_dict(model, weights, strict=True)
        except RuntimeError as error:
            raise CheckpointMismatchError(
                f'checkpoint {checkpoint} does not match the model '
                f'{type(model).__name__} built from {name}: {error}') \
                from None
    return model.to(device).eval()


def _check_array(img: np.ndarray, name: str) -> np.ndarray:
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3 \
            or img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f'{name} must be a uint8 RGB array (h, w, 3), got '
                         f'{img.dtype} {img.shape}')
    return img


def _positive(value: Optional[float], name: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(
            value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f'{name} must be a positive number, got {value!r}')
    return float(value)


def _region_box(region: SlideRegion) -> Tuple[int, int, int, int]:
    """The level-0 ``(x, y, w, h)`` of ``region``, checked."""
    if len(region.location) != 2 or len(region.size) != 2 or any(
            int(v) != v for v in (*region.location, *region.size)) or any(
                v < 1 for v in region.size):
        raise ValueError(
            f'slide region of {region.path} needs a level-0 location (x, y) '
            f'and a positive size (w, h) in pixels, got location='
            f'{tuple(region.location)}, size={tuple(region.size)}')
    x, y = (int(v) for v in region.location)
    width, height = (int(v) for v in region.size)
    return x, y, width, height


def _region_name(region: SlideRegion) -> str:
    """The output name of ``region``: ``<slide stem>_x<x>_y<y>_w<w>_h<h>``."""
    x, y, width, height = _region_box(region)
    return f'{Path(region.path).stem}_x{x}_y{y}_w{width}_h{height}'


def read_slide_region(region: SlideRegion) -> LRImage:
    """Read ``region`` as an :class:`LRImage` with the reading resolution
    (its mpp needs the slide's level-0 mpp, its magnification the slide's
    objective power or mpp; unknown ones are None)."""
    x, y, width, height = _region_box(region)
    with open_slide(region.path, region.backend, region.slide_mpp) as reader:
        downsample = reader.target_downsample(region.mpp, region.magnification)
        lr_size = (max(1, round(width / downsample)),
                   max(1, round(height / downsample)))
        img = reader.read_region((x, y), lr_size, region.mpp,
                                 region.magnification)
        try:
            mpp = reader.mpp * downsample
        except ValueError:
            mpp = None
        try:
            magnification = reader.objective_power / downsample
        except ValueError:
            magnification = None
    return LRImage(_region_name(region), img, mpp, magnification,
                   from_slide=True)


def output_paths(images: Sequence[Union[LRImage, InputItem]],
                 out: Union[str, Path],
                 out_format: Optional[str] = None) -> List[Path]:
    """Where the outputs of ``images`` (loaded, or only listed) go: ``out``
    itself when it ends in a :data:`SAVE_SUFFIXES` suffix (one image only),
    else ``out/<name>_sr.<fmt>`` with ``fmt`` = ``out_format``, or ``tiff``
    for slide regions (it keeps the mpp) and ``png`` for the rest.

    Raises:
        ValueError: A file ``out`` for several images; an ``out`` with the
            suffix of an image format that is not saved (``.bmp``,
            ``.webp``); two outputs with one name.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix in SAVE_SUFFIXES:
        if len(images) != 1:
            raise ValueError(f'--out {out} is a file but there are '
                             f'{len(images)} outputs: give a folder')
        return [out]
    if suffix in IMAGE_SUFFIXES:
        raise ValueError(f'cannot save {out}: outputs are '
                         f'{", ".join(SAVE_SUFFIXES)} files (or a folder)')
    if out_format is not None and f'.{out_format}' not in SAVE_SUFFIXES:
        raise ValueError(f'out_format must be png, jpg, tif or tiff, got '
                         f'{out_format!r}')
    paths = []
    for image in images:
        fmt = out_format or ('tiff' if image.from_slide else 'png')
        paths.append(out / f'{image.name}_sr.{fmt}')
    if len(set(paths)) != len(paths):
        raise ValueError(f'two inputs would be saved to the same file in '
                         f'{out}: {sorted(str(p) for p in paths)}')
    return paths


def _input_paths(inputs: Union[InputType, Sequence[InputType]]) -> List[Path]:
    """The resolved files and folders named by ``inputs``."""
    given = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    paths = []
    for item in given:
        if isinstance(item, SlideRegion):
            paths.append(Path(item.path).resolve())
        elif isinstance(item, (str, Path)):
            paths.append(Path(item).resolve())
    return paths


def check_outputs(paths: Sequence[Path],
                  inputs: Union[InputType, Sequence[InputType]],
                  overwrite: bool = False) -> None:
    """Check, before anything is computed, that the output ``paths`` may
    be written.

    Raises:
        ValueError: An output that is (or resolves to) an input file, or
            lies in a folder given as input (a rerun would read it back);
            an output that is a folder.
        FileExistsError: An output that exists, without ``overwrite``.
    """
    sources = _input_paths(inputs)
    for path in paths:
        target = Path(path).resolve()
        for source in sources:
            if target == source or (source.is_dir()
                                    and target.parent == source):
                raise ValueError(
                    f'--out {path} would overwrite or join the input '
                    f'{source}: give an output outside the inputs')
        if target.is_dir():
            raise ValueError(f'the output {path} is a folder')
        if target.exists() and not overwrite:
            raise FileExistsError(f'{path} exists: pass --overwrite '
                                  '(overwrite=True) to replace it')


def save_image(path: Union[str, Path],
               img: np.ndarray,
               mpp: Optional[Tuple[float, float]] = None) -> Path:
    """Write the uint8 RGB ``img`` to ``path`` (``.png``; ``.jpg``/
    ``.jpeg`` at quality :data:`JPEG_QUALITY`; or ``.tif``/``.tiff``: zlib,
    256-px tiles, and ``mpp`` (x, y) as CENTIMETER resolution tags when
    given). Parent folders are created. The file is written under a
    temporary name beside ``path`` and renamed when complete, so ``path``
    never holds a partial image."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SAVE_SUFFIXES:
        raise ValueError(f'cannot save {path}: use '
                         f'{", ".join(SAVE_SUFFIXES)}')
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, path.with_name(
            f'.{path.stem}.partial{path.suffix}')) as partial:
        if suffix in ('.tif', '.tiff'):
            options = dict(photometric='rgb', compression='zlib',
                           tile=(256, 256))
            if mpp is not None:
                options.update(
                    resolution=(1e4 / mpp[0], 1e4 / mpp[1]),
                    resolutionunit='CENTIMETER')
            tifffile.imwrite(partial, img, **options)
        else:
            params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] \
                if suffix != '.png' else []
            if not cv2.imwrite(
                    str(partial), cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                    params):
                raise OSError(f'cannot write {path}')
    return path


def _check_image_file(path: Path) -> int:
    """Check the header of the image file ``path`` and return its EXIF
    orientation (1 when none); a grey image (with or without alpha) gets a
    warning that it is replicated to RGB.

    Raises:
        ValueError: A TIFF with several full-resolution pages, or whose
            pages have a channel count other than 1, 3 or 4.
    """
    if path.suffix.lower() in ('.tif', '.tiff'):
        try:
            with tifffile.TiffFile(path) as tif:
                pages = [p for p in tif.pages if not p.subfiletype & 1]
                samples = tif.pages[0].samplesperpixel
                tag = tif.pages[0].tags.get('Orientation')
                orientation = 1 if tag is None else int(tag.value)
        except (tifffile.TiffFileError, OSError, ValueError):
            return 1  # not a TIFF after all: the decoder decides
        if len(pages) > 1:
            raise ValueError(
                f'{path} has {len(pages)} pages (images): super-resolve one '
                'image per file (--whole-slide or --region for a slide)')
        if samples not in (1, 3, 4):
            raise ValueError(
                f'{path} has {samples} channels: images must have 1 (grey), '
                '3 (RGB) or 4 (RGBA)')
        grey = samples == 1
    else:
        try:
            with Image.open(path) as pil:
                frames = getattr(pil, 'n_frames', 1)
                orientation = pil.getexif().get(0x0112, 1)
                grey = pil.mode in ('1', 'L', 'LA', 'La', 'I', 'I;16', 'F')
        except Exception:  # noqa: BLE001 - the decoder below names the error
            return 1
        if frames > 1:
            raise ValueError(f'{path} has {frames} frames: super-resolve one '
                             'image per file')
    if grey:
        warnings.warn(f'{path} is a grey image: its channel is replicated '
                      'to RGB (alpha, if any, composited on white)')
    return orientation if orientation in EXIF_ORIENTATIONS else 1


def _read_image(path: Path) -> np.ndarray:
    """The image file ``path`` as uint8 RGB, read by :class:`LoadSRImage`
    (16-bit, grey and RGBA files are converted; unreadable files raise),
    turned upright per its EXIF orientation (with a warning)."""
    orientation = _check_image_file(path)
    img = LoadSRImage(key='lr').transform(dict(lr_path=str(path)))['lr']
    if orientation != 1:
        turns, flip = EXIF_ORIENTATIONS[orientation]
        img = np.rot90(img, turns)
        if flip:
            img = img[:, ::-1]
        img = np.ascontiguousarray(img)
        warnings.warn(f'{path} has EXIF orientation {orientation}: its '
                      'pixels are turned upright as image viewers show them')
    return img


class SRInferencer:
    """Super-resolve images with a pathsr model, seam-free tile by tile.

    Inputs (one or a list): an image file, a folder (its
    :data:`IMAGE_SUFFIXES` files, sorted), a uint8 RGB array ``(h, w, 3)``,
    or a :class:`SlideRegion`. Output size: one of ``scale`` (any real
    number > 1 for implicit and interpolation models, the model's own for
    fixed-scale ones), ``size`` ``(H, W)``, a target ``mpp`` or
    ``magnification`` (see the module docstring); a fixed-scale model may
    take none of them.

    Example::

        >>> inferencer = SRInferencer(
        ...     'configs/liif/liif-edsr-tiny_demo_x1-4.py', 'iter_400.pth')
        >>> sr = inferencer('tile.png', scale=2.5)[0]  # uint8 (H, W, 3)
        >>> region = SlideRegion('slide.svs', (20000, 15000), (2048, 2048),
        ...                      magnification=10)
        >>> inferencer(region, magnification=40, out='sr/')  # sr/*_sr.tiff
        >>> inferencer('tile.png', scale=2, out='tile_sr.jpg')  # one file

    Args:
        config: Config file (or :class:`~mmengine.config.Config`).
        checkpoint: Checkpoint file; None only for models without
            parameters (Bicubic).
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``...; None picks CUDA when
            available; CUDA without a GPU falls back to the CPU.
        tile: LR core side of the tiles; None derives it from
            ``tile_pixels``.
        halo: LR halo of the tiles; None picks
            :func:`~pathsr.apis.tiled_inference.default_halo`. The config
            may set both as ``infer_cfg = dict(tile=..., halo=...)``;
            arguments win.
        tile_pixels: LR pixels (halo included) of one forward call, the
            memory budget when ``tile`` is None.
        batch_size: Tiles of one shape per forward call.
        amp: bf16 autocast (fp16 on GPUs without bf16).
        compile: Compile the model's networks
            (:meth:`~pathsr.models.BaseSRModel.compile_networks`); the
            first tiles are slow while kernels are generated.
        progress: Show a progress bar over the tiles of each image.
        max_pixels: Largest output, in pixels, that is accepted.
        cfg_options: Overrides of config keys, e.g.
            ``{'model.eval_chunk': 10000}``.
        color_correction: Replace the low frequencies of each output's
            colour by those of its LR input
            (:func:`~pathsr.apis.color_correction.correct_color`).

    Attributes:
        last_report (list[dict]): One dict per output of the last call:
            ``name``, ``delta_e_lr`` (mean CIEDE2000 between the output
            downscaled to the LR size by torch's uint8 antialiased bicubic,
            PIL's kernel, and the LR input) and,
            with ``color_correction``, ``delta_e_lr_uncorrected``.
    """

    def __init__(self,
                 config: Union[str, Path, Config],
                 checkpoint: Optional[str] = None,
                 device: Optional[str] = None,
                 tile: Optional[int] = None,
                 halo: Optional[int] = None,
                 tile_pixels: int = DEFAULT_TILE_PIXELS,
                 batch_size: int = 1,
                 amp: bool = False,
                 compile: bool = False,
                 progress: bool = False,
                 max_pixels: int = MAX_OUTPUT_PIXELS,
                 cfg_options: Optional[dict] = None,
                 color_correction: bool = False) -> None:
        if not isinstance(config, Config):
            if not osp.isfile(config):
                raise FileNotFoundError(f'config file not found: {config}')
            config = Config.fromfile(str(config))
        if cfg_options:
            config.merge_from_dict(cfg_options)
        infer_cfg = config.get('infer_cfg') or {}
        tile = infer_cfg.get('tile') if tile is None else tile
        halo = infer_cfg.get('halo') if halo is None else halo
        self.device = select_device(device)
        self.model = init_model(config, checkpoint, self.device)
        if compile:
            self.model.compile_networks()
        self.tile, self.halo = tile_geometry(self.model, tile, halo,
                                             tile_pixels, batch_size)
        self.batch_size = batch_size
        self.amp = amp
        self.progress = progress
        self.max_pixels = max_pixels
        self.color_correction = color_correction
        self.last_report: List[dict] = []

    def list_inputs(
            self, inputs: Union[InputType, Sequence[InputType]]
    ) -> List[InputItem]:
        """List ``inputs`` one image at a time, without reading pixels: a
        folder becomes its :data:`IMAGE_SUFFIXES` files, sorted; arrays and
        slide regions are checked.

        Raises:
            FileNotFoundError: A folder without images.
            ValueError: No input, an array that is not uint8 RGB ``(h, w,
                3)``, a slide region without a location and a positive size.
            TypeError: An input of another type.
        """
        given = list(inputs) if isinstance(inputs, (list, tuple)) \
            else [inputs]
        if not given:
            raise ValueError('no input to super-resolve')
        items = []
        for index, item in enumerate(given):
            if isinstance(item, SlideRegion):
                items.append(InputItem(_region_name(item), item, True))
            elif isinstance(item, np.ndarray):
                img = _check_array(item, f'input array {index}')
                items.append(InputItem(f'array_{index}', img))
            elif isinstance(item, (str, Path)):
                path = Path(item)
                files = [path]
                if path.is_dir():
                    files = sorted(
                        p for p in path.iterdir()
                        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
                    if not files:
                        raise FileNotFoundError(
                            f'no image file ({", ".join(IMAGE_SUFFIXES)}) in '
                            f'the folder {path}')
                items.extend(InputItem(f.stem, f) for f in files)
            else:
                raise TypeError(
                    'inputs are image paths, folders, uint8 arrays or '
                    f'SlideRegion, got {type(item).__name__}')
        return items

    def read(self,
             item: InputItem,
             in_mpp: Optional[float] = None,
             in_magnification: Optional[float] = None) -> LRImage:
        """Read the listed ``item`` as an LR image; ``in_mpp``/
        ``in_magnification`` are the resolution of image files and arrays
        (slide regions carry their own).

        Raises:
            FileNotFoundError: A missing image file or slide.
            ValueError: An unreadable image, a bad slide region, a
                non-positive resolution.
        """
        in_mpp = _positive(in_mpp, 'in_mpp')
        in_magnification = _positive(in_magnification, 'in_magnification')
        if isinstance(item.source, SlideRegion):
            return read_slide_region(item.source)
        img = item.source if isinstance(item.source, np.ndarray) else \
            _read_image(item.source)
        return LRImage(item.name, img, in_mpp, in_magnification)

    def load(self,
             inputs: Union[InputType, Sequence[InputType]],
             in_mpp: Optional[float] = None,
             in_magnification: Optional[float] = None) -> List[LRImage]:
        """Read ``inputs`` as LR images (:meth:`list_inputs`, then
        :meth:`read`); ``in_mpp``/``in_magnification`` are the resolution of
        image files and arrays (slide regions carry their own).

        Raises:
            FileNotFoundError: A missing file, or a folder without images.
            ValueError: An unreadable image, an array that is not uint8 RGB
                ``(h, w, 3)``, a bad slide region, a non-positive
                resolution.
            TypeError: An input of another type.
        """
        return [
            self.read(item, in_mpp, in_magnification)
            for item in self.list_inputs(inputs)
        ]

    def resolve(
        self,
        image: LRImage,
        scale: Optional[float] = None,
        size: Optional[Sequence[int]] = None,
        mpp: Optional[float] = None,
        magnification: Optional[float] = None
    ) -> Tuple[Tuple[int, int], Optional[Tuple[float, float]]]:
        """The output ``(H, W)`` of ``image`` and its mpp ``(x, y)`` (None
        when the input's is unknown), from at most one of ``scale``,
        ``size``, ``mpp`` and ``magnification``.

        Raises:
            ValueError: Several targets; a scale that is not a finite number
                > 1 (also as a ratio of resolutions); a size that does not
                enlarge the input; a target resolution for an input of
                unknown resolution; an output beyond ``max_pixels``; another
                scale than a fixed-scale model's own.
        """
        given = [
            name
            for name, value in (('scale', scale), ('size', size), ('mpp', mpp),
                                ('magnification', magnification))
            if value is not None
        ]
        if len(given) > 1:
            raise ValueError('give one of scale, size, mpp and '
                             f'magnification, got {", ".join(given)}')
        height, width = image.img.shape[:2]
        if mpp is not None or magnification is not None:
            name = 'mpp' if mpp is not None else 'magnification'
            target = _positive(mpp if mpp is not None else magnification,
                               f'target {name}')
            source = image.mpp if mpp is not None else image.magnification
            if source is None:
                raise ValueError(
                    f'a target {name} needs the {name} of the input '
                    f'{image.name}: give in_{name} (--in-{name}) for images '
                    'and arrays, or read the slide at a known resolution')
            scale = source / target if mpp is not None else target / source
            if not scale > 1:
                raise ValueError(
                    f'target {name} {target:g} is not finer than the '
                    f'input\'s {source:g} (scale {scale:g} <= 1)')
        shape = resolve_out_shape(self.model, (height, width), scale, size,
                                  self.max_pixels)
        out_mpp = None if image.mpp is None else (image.mpp * width / shape[1],
                                                  image.mpp * height /
                                                  shape[0])
        return shape, out_mpp

    def run(self, img: np.ndarray, out_shape: Sequence[int]) -> np.ndarray:
        """Super-resolve the uint8 RGB ``img`` to ``out_shape`` in tiles:
        uint8 RGB ``(H, W, 3)``."""
        return tiled_sr(
            self.model,
            img,
            out_shape=out_shape,
            tile=self.tile,
            halo=self.halo,
            batch_size=self.batch_size,
            amp=self.amp,
            progress=self.progress,
            max_pixels=self.max_pixels)

    def color_check(self, image: LRImage,
                    sr: np.ndarray) -> Tuple[np.ndarray, dict]:
        """Colour-correct the output ``sr`` of ``image`` (with
        ``color_correction``) and measure its stain-colour fidelity.

        Returns:
            tuple: ``sr``, corrected or not, and its report ``dict(name,
            delta_e_lr[, delta_e_lr_uncorrected])`` (see
            :attr:`last_report`).
        """
        report = dict(name=image.name)
        if self.color_correction:
            report['delta_e_lr_uncorrected'] = delta_e_to_lr(sr, image.img)
            sr = correct_color(sr, image.img)
        report['delta_e_lr'] = delta_e_to_lr(sr, image.img)
        return sr, report

    def __call__(self,
                 inputs: Union[InputType, Sequence[InputType]],
                 scale: Optional[float] = None,
                 size: Optional[Sequence[int]] = None,
                 mpp: Optional[float] = None,
                 magnification: Optional[float] = None,
                 in_mpp: Optional[float] = None,
                 in_magnification: Optional[float] = None,
                 out: Optional[Union[str, Path]] = None,
                 out_format: Optional[str] = None,
                 overwrite: bool = False) -> List[np.ndarray]:
        """Super-resolve ``inputs`` (see the class docstring).

        Every input is loaded, every output size checked and every output
        path checked (:func:`check_outputs`: not an input, not existing
        unless ``overwrite``) before the first image is super-resolved.
        With ``out`` the outputs are saved (:func:`output_paths`,
        :func:`save_image`).

        Returns:
            list[np.ndarray]: One uint8 RGB ``(H, W, 3)`` array per image
            (a folder gives one per file); their colour fidelity is in
            :attr:`last_report`.
        """
        images = self.load(inputs, in_mpp, in_magnification)
        plans = [
            self.resolve(image, scale, size, mpp, magnification)
            for image in images
        ]
        if out is not None:
            paths = output_paths(images, out, out_format)
            check_outputs(paths, inputs, overwrite)
        else:
            paths = [None] * len(images)
        results = []
        self.last_report = []
        for image, (shape, out_mpp), path in zip(images, plans, paths):
            sr, report = self.color_check(image, self.run(image.img, shape))
            self.last_report.append(report)
            if path is not None:
                save_image(path, sr, out_mpp)
            results.append(sr)
        return results

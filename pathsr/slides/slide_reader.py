"""Whole-slide readers: one interface over OpenSlide and tiffslide."""
import math
import os.path as osp
from abc import ABC, abstractmethod
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from .integrity import SlideFileError, check_slide_file

# a level is used for a target downsample it exceeds by at most this factor
# (reduced levels of odd-sized slides have downsamples such as 2.0019)
LEVEL_TOLERANCE = 1.01
# a read may be finer than level 0 by at most this factor (a scan of
# 0.2525 um/px read at 0.25 um/px); finer reads would invent detail
UPSAMPLE_TOLERANCE = 1.1
# side in level pixels of the blocks a read is made of, which bounds the
# memory of reading a large region (e.g. the thumbnail of a flat TIFF)
READ_BLOCK = 512
# a level box of at most this many pixels (12 MB) is resized whole with
# cv2.INTER_AREA (fast); a larger one is area-summed block by block
MAX_WHOLE_BOX = (4 * READ_BLOCK)**2


def _is_url(path: str) -> bool:
    """Whether ``path`` is an fsspec URL such as ``s3://bucket/slide.svs``."""
    return '://' in path


def _positive(value: object) -> Optional[float]:
    """``float(value)`` if it is a positive finite number, else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def composite_on_white(region: np.ndarray) -> np.ndarray:
    """Bring a uint8 (H, W, 3|4) region to RGB (H, W, 3).

    RGBA is composited on white, ``rgb * a + 255 * (1 - a)`` with
    ``a = alpha / 255``, rounded to the nearest integer.
    """
    if region.shape[2] == 3:
        return region
    alpha = region[..., 3:].astype(np.float32) / 255
    rgb = region[..., :3].astype(np.float32) * alpha + 255 * (1 - alpha)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


class SlideReader(ABC):
    """A whole-slide image read by resolution (mpp or magnification).

    Coordinates are level-0 pixels ``(x, y)``; sizes are ``(w, h)``.
    Subclasses open the file, pass the backend's slide object to
    :meth:`_adopt` and implement :meth:`_read_level` and :meth:`close`.

    Args:
        path: The slide file (or URL for backends that read them).
        mpp: Level-0 microns per pixel that replaces the file's value, for
            slides that do not record it. Defaults to None.
    """

    backend = ''

    def __init__(self, path: str, mpp: Optional[float] = None) -> None:
        self._path = str(path)
        if mpp is not None and _positive(mpp) is None:
            raise ValueError(f'mpp of slide {self._path} must be a positive '
                             f'number, got {mpp!r}')
        self._mpp_override = None if mpp is None else float(mpp)
        self._level_dimensions: Tuple[Tuple[int, int], ...] = ()
        self._level_downsamples: Tuple[float, ...] = ()
        self._properties: Mapping[str, object] = {}

    @property
    def path(self) -> str:
        """The slide path as given."""
        return self._path

    @property
    def dimensions(self) -> Tuple[int, int]:
        """Level-0 size ``(W, H)`` in pixels."""
        return self._level_dimensions[0]

    @property
    def level_dimensions(self) -> Tuple[Tuple[int, int], ...]:
        """``(W, H)`` of every pyramid level, finest first."""
        return self._level_dimensions

    @property
    def level_downsamples(self) -> Tuple[float, ...]:
        """Level-0 pixels per pixel of every level, finest first."""
        return self._level_downsamples

    @property
    def mpp(self) -> float:
        """Level-0 microns per pixel: the ``mpp`` override, else the file's
        ``openslide.mpp-x`` / ``tiffslide.mpp-x`` property (square pixels
        assumed)."""
        if self._mpp_override is not None:
            return self._mpp_override
        value = self._property('mpp-x')
        mpp = _positive(value)
        if mpp is None:
            raise ValueError(
                f'slide {self._path} records no microns per pixel '
                f'({self.backend}.mpp-x is {value!r}): pass its '
                'level-0 mpp, e.g. open_slide(path, mpp=0.25)')
        return mpp

    @property
    def objective_power(self) -> float:
        """Objective magnification of level 0.

        The file's ``<backend>.objective-power`` property when present,
        else derived from the resolution as ``round(10 / mpp)``
        (the usual scanner convention: 40x ~ 0.25 um/px, 20x ~ 0.5 um/px).
        """
        power = _positive(self._property('objective-power'))
        if power is not None:
            return power
        return float(round(10 / self.mpp))

    def _adopt(self, slide: object) -> None:
        """Take the levels and properties of an OpenSlide-like ``slide``
        (``level_dimensions``, ``level_downsamples``, ``properties``)."""
        self._level_dimensions = tuple(
            (int(w), int(h)) for w, h in slide.level_dimensions)
        self._level_downsamples = tuple(
            float(ds) for ds in slide.level_downsamples)
        self._properties = slide.properties

    def associated_images(self) -> Dict[str, np.ndarray]:
        """The file's associated images (``thumbnail``, ``label``,
        ``macro``, ... as the backend names them), uint8 RGB ``(h, w, 3)``
        (alpha composited on white)."""
        return {
            str(name): composite_on_white(np.asarray(image.convert('RGBA')))
            for name, image in self._slide.associated_images.items()
        }

    def _property(self, name: str) -> object:
        """The property ``<backend>.<name>`` (str or number), or None."""
        return self._properties.get(f'{self.backend}.{name}')

    @abstractmethod
    def _read_level(self, location: Tuple[int, int], level: int,
                    size: Tuple[int, int]) -> np.ndarray:
        """Read ``size`` (w, h) pixels of ``level`` at the level-0
        ``location``, inside the level's bounds, as uint8 (h, w, 3|4)."""

    @abstractmethod
    def close(self) -> None:
        """Release the file."""

    def __enter__(self) -> 'SlideReader':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(path={self._path!r}, '
                f'dimensions={self.dimensions}, '
                f'levels={len(self._level_dimensions)})')

    def target_downsample(self,
                          mpp: Optional[float] = None,
                          magnification: Optional[float] = None) -> float:
        """Level-0 pixels per output pixel for ``mpp`` (``mpp / self.mpp``)
        or ``magnification`` (``objective_power / magnification``); exactly
        one of them must be given, not finer than level 0 by more than
        ``UPSAMPLE_TOLERANCE`` (a ValueError names both resolutions)."""
        if (mpp is None) == (magnification is None):
            raise ValueError(
                f'reading slide {self._path} needs exactly one of mpp and '
                f'magnification, got mpp={mpp!r}, '
                f'magnification={magnification!r}')
        name = 'mpp' if mpp is not None else 'magnification'
        given = mpp if mpp is not None else magnification
        value = _positive(given)
        if value is None:
            raise ValueError(f'{name} for slide {self._path} must be a '
                             f'positive number, got {given!r}')
        downsample = value / self.mpp if mpp is not None \
            else self.objective_power / value
        self._check_resolution(downsample)
        return downsample

    def best_level(self, downsample: float) -> int:
        """The coarsest level whose downsample does not exceed
        ``downsample`` (by more than 1 %), i.e. the finest-enough level."""
        limit = downsample * LEVEL_TOLERANCE
        fits = [i for i, ds in enumerate(self._level_downsamples)
                if ds <= limit]
        return max(fits, key=lambda i: self._level_downsamples[i]) \
            if fits else 0

    def read_region(self,
                    location: Sequence[int],
                    size: Sequence[int],
                    mpp: Optional[float] = None,
                    magnification: Optional[float] = None) -> np.ndarray:
        """Read the region at level-0 ``location`` (x, y) as ``size`` (w, h)
        pixels at the resolution ``mpp`` (um/px) or ``magnification``.

        The region covers ``size * downsample`` level-0 pixels, with
        ``downsample`` from :meth:`target_downsample`; see
        :meth:`read_downsampled` for how it is read and what is refused.

        Returns:
            np.ndarray: uint8 RGB of shape (h, w, 3).
        """
        downsample = self.target_downsample(mpp, magnification)
        return self.read_downsampled(location, size, downsample)

    def thumbnail(self, max_size: Union[int, Sequence[int]]) -> np.ndarray:
        """The whole slide, downsampled to fit ``max_size`` (w, h) or a
        square of side ``max_size`` (never upsampled), as uint8 RGB
        (h, w, 3). Memory stays bounded by blocks of the level it is read
        from (see :meth:`read_downsampled`), also for a flat TIFF."""
        max_w, max_h = (max_size, max_size) if isinstance(max_size, int) \
            else max_size
        width, height = self.dimensions
        downsample = max(width / max_w, height / max_h, 1.0)
        size = (max(1, round(width / downsample)),
                max(1, round(height / downsample)))
        return self.read_downsampled((0, 0), size, downsample)

    def read_downsampled(self, location: Sequence[int], size: Sequence[int],
                         downsample: float) -> np.ndarray:
        """Read ``size`` (w, h) output pixels of ``downsample`` level-0
        pixels each, from level-0 ``location``, as uint8 RGB (h, w, 3).

        Every output pixel must start inside the slide: the level-0 box
        ``[x, x + w * downsample) x [y, y + h * downsample)`` may pass the
        right or bottom edge by less than one output pixel (the rounding of
        a size to whole output pixels; that sliver is white). The box is
        read from :meth:`best_level` in blocks of at most ``READ_BLOCK``
        squared level pixels and resized to ``size`` with area averaging:
        ``cv2.INTER_AREA`` for a box of at most ``MAX_WHOLE_BOX`` pixels,
        the same weights summed block by block for a larger one, so that
        memory is bounded by ``MAX_WHOLE_BOX``, a block and the output, not
        by the box.

        Raises:
            ValueError: The size is not positive, the box is outside the
                slide, ``downsample`` is finer than level 0 by more than
                ``UPSAMPLE_TOLERANCE``, or the backend fails to read.
        """
        x, y = (int(v) for v in location)
        width, height = (int(v) for v in size)
        if width < 1 or height < 1:
            raise ValueError(f'region size of slide {self._path} must be '
                             f'positive, got {tuple(size)}')
        self._check_resolution(downsample)
        self._check_inside(x, y, width, height, downsample)
        level = self.best_level(downsample)
        level_ds = self._level_downsamples[level]
        # the region in level pixels
        lx = math.floor(x / level_ds + 0.5)
        ly = math.floor(y / level_ds + 0.5)
        lw = max(1, round(width * downsample / level_ds))
        lh = max(1, round(height * downsample / level_ds))
        if (lw, lh) == (width, height):
            return self._read_box(level, lx, ly, lw, lh)
        if lw < width or lh < height or lw * lh <= MAX_WHOLE_BOX:
            return cv2.resize(self._read_box(level, lx, ly, lw, lh),
                              (width, height), interpolation=cv2.INTER_AREA)
        total = np.zeros((height, width, 3), np.float64)
        for by in range(0, lh, READ_BLOCK):
            bh = min(READ_BLOCK, lh - by)
            for bx in range(0, lw, READ_BLOCK):
                bw = min(READ_BLOCK, lw - bx)
                block = self._read_box(level, lx + bx, ly + by, bw, bh)
                top, rows = _area_sums(block, by, lh / height, height)
                left, cells = _area_sums(
                    rows.transpose(1, 0, 2), bx, lw / width, width)
                total[top:top + cells.shape[1],
                      left:left + cells.shape[0]] += cells.transpose(1, 0, 2)
        return np.clip(np.rint(total), 0, 255).astype(np.uint8)

    def _check_resolution(self, downsample: float) -> None:
        """Refuse reading finer than level 0 beyond ``UPSAMPLE_TOLERANCE``."""
        if downsample * UPSAMPLE_TOLERANCE >= 1:
            return
        try:
            detail = (f'{self.mpp * downsample:.4g} um/px asked, level 0 is '
                      f'{self.mpp:.4g} um/px')
        except ValueError:
            detail = f'downsample {downsample:.4g}'
        raise ValueError(
            f'cannot read slide {self._path} {1 / downsample:.3g}x finer '
            f'than its level 0 ({detail}): the reader does not upsample a '
            'scan; read at the level-0 resolution or coarser and let the '
            'model (or a resize of your own) enlarge it')

    def _check_inside(self, x: int, y: int, width: int, height: int,
                      downsample: float) -> None:
        """Refuse the ``width`` x ``height`` output pixels of ``downsample``
        level-0 pixels at level-0 (x, y) unless each of them starts inside
        the slide."""
        slide_w, slide_h = self.dimensions
        if not (0 <= x and 0 <= y and x + (width - 1) * downsample < slide_w
                and y + (height - 1) * downsample < slide_h):
            raise ValueError(
                f'region at level-0 (x={x}, y={y}) of {width}x{height} px at '
                f'downsample {downsample:g} ({width * downsample:g}x'
                f'{height * downsample:g} level-0 px) is not inside the '
                f'{slide_w}x{slide_h} px slide {self._path}')

    def _read_box(self, level: int, lx: int, ly: int, lw: int,
                  lh: int) -> np.ndarray:
        """The ``lw`` x ``lh`` pixels of ``level`` at level pixel
        ``(lx, ly)`` as uint8 RGB (lh, lw, 3), read in blocks of at most
        ``READ_BLOCK`` px a side; parts outside the level are white."""
        level_ds = self._level_downsamples[level]
        level_w, level_h = self._level_dimensions[level]
        region = np.full((lh, lw, 3), 255, np.uint8)
        x0, y0 = max(lx, 0), max(ly, 0)
        x1, y1 = min(lx + lw, level_w), min(ly + lh, level_h)
        for by in range(y0, y1, READ_BLOCK):
            bh = min(READ_BLOCK, y1 - by)
            for bx in range(x0, x1, READ_BLOCK):
                bw = min(READ_BLOCK, x1 - bx)
                try:
                    block = self._read_level(
                        (round(bx * level_ds), round(by * level_ds)), level,
                        (bw, bh))
                except Exception as error:
                    raise ValueError(
                        f'cannot read slide {self._path}: level {level}, '
                        f'{bw}x{bh} px at level pixel ({bx}, {by}): '
                        f'{type(error).__name__}: {error}') from error
                region[by - ly:by - ly + bh, bx - lx:bx - lx + bw] = \
                    composite_on_white(block)
        return region


def _area_sums(block: np.ndarray, start: int, scale: float,
               count: int) -> Tuple[int, np.ndarray]:
    """Area-averaging along axis 0 of the part held by ``block``.

    Output pixel ``i`` (of ``count``) averages the input rows
    ``[i * scale, (i + 1) * scale)``, weighting a row by its covered
    fraction as ``cv2.INTER_AREA`` does; ``block`` (n, ...) holds the input
    rows ``[start, start + n)``. The contribution of those rows is the
    difference of their cumulative sum at the clipped pixel edges.

    Returns:
        tuple: The first output pixel touched and the float64 partial sums
        (m, ...) of the ``m`` output pixels touched by the block.
    """
    stop = start + block.shape[0]
    first = int(start // scale)
    last = min(count, math.ceil(stop / scale))
    edges = np.clip(np.arange(first, last + 1) * scale, start, stop) - start
    whole = np.minimum(np.floor(edges).astype(np.int64), block.shape[0])
    frac = (edges - whole).reshape((-1, ) + (1, ) * (block.ndim - 1))
    cumsum = np.zeros((block.shape[0] + 1, ) + block.shape[1:], np.float64)
    np.cumsum(block, axis=0, dtype=np.float64, out=cumsum[1:])
    # frac is 0 where an edge is the block's end (whole == n)
    integral = cumsum[whole] + frac * block[np.minimum(
        whole, block.shape[0] - 1)]
    return first, np.diff(integral, axis=0) / scale


class OpenSlideReader(SlideReader):
    """A slide read with OpenSlide (openslide-python): SVS, NDPI, MRXS, SCN,
    generic tiled TIFF and the other OpenSlide formats; local files only.

    Raises:
        FileNotFoundError: The file does not exist.
        SlideFileError: A TIFF-based file is truncated or corrupt
            (:func:`~pathsr.slides.integrity.check_slide_file`).
        ValueError: OpenSlide cannot open the file.
    """

    backend = 'openslide'

    def __init__(self, path: str, mpp: Optional[float] = None) -> None:
        super().__init__(path, mpp)
        import openslide
        if _is_url(self._path):
            raise ValueError(f'cannot open slide {self._path}: OpenSlide '
                             'reads local files only, use tiffslide')
        if not osp.isfile(self._path):
            raise FileNotFoundError(f'slide file not found: {self._path}')
        check_slide_file(self._path)
        try:
            self._slide = openslide.OpenSlide(self._path)
        except openslide.OpenSlideError as error:
            raise ValueError(
                f'cannot open slide {self._path}: OpenSlide: {error}') \
                from error
        self._adopt(self._slide)

    def _read_level(self, location: Tuple[int, int], level: int,
                    size: Tuple[int, int]) -> np.ndarray:
        return np.asarray(self._slide.read_region(location, level, size))

    def close(self) -> None:
        self._slide.close()


class TiffSlideReader(SlideReader):
    """A slide read with tiffslide: SVS, generic TIFF, SCN (NDPI partly);
    local files or fsspec URLs.

    Raises:
        FileNotFoundError: The local file does not exist.
        SlideFileError: A TIFF-based file is truncated or corrupt
            (:func:`~pathsr.slides.integrity.check_slide_file`).
        ValueError: tiffslide cannot open the file.
    """

    backend = 'tiffslide'

    def __init__(self, path: str, mpp: Optional[float] = None) -> None:
        super().__init__(path, mpp)
        import tiffslide
        if not _is_url(self._path) and not osp.isfile(self._path):
            raise FileNotFoundError(f'slide file not found: {self._path}')
        check_slide_file(self._path)
        try:
            self._slide = tiffslide.TiffSlide(self._path)
        except FileNotFoundError:
            raise
        except Exception as error:
            raise ValueError(f'cannot open slide {self._path}: tiffslide: '
                             f'{type(error).__name__}: {error}') from error
        self._adopt(self._slide)

    def _read_level(self, location: Tuple[int, int], level: int,
                    size: Tuple[int, int]) -> np.ndarray:
        region = np.asarray(
            self._slide.read_region(location, level, size, as_array=True))
        if region.ndim == 2:
            region = np.repeat(region[..., None], 3, axis=2)
        return region.astype(np.uint8, copy=False)

    def close(self) -> None:
        self._slide.close()


BACKENDS = dict(openslide=OpenSlideReader, tiffslide=TiffSlideReader)


def open_slide(path: str,
               backend: str = 'auto',
               mpp: Optional[float] = None) -> SlideReader:
    """Open the slide ``path`` with ``backend``.

    Args:
        path: Slide file, or fsspec URL (tiffslide only).
        backend: ``'openslide'``, ``'tiffslide'`` or ``'auto'`` (OpenSlide
            if it can open the file, else tiffslide). Defaults to ``'auto'``.
            Every backend first checks that a TIFF-based file is not
            truncated; ``'auto'`` does not fall back on such a file.
        mpp: Level-0 microns per pixel replacing the file's value.

    Raises:
        FileNotFoundError: The local file does not exist.
        SlideFileError: The file is truncated or corrupt.
        ValueError: Unknown backend, or no backend can open the file.
    """
    path = str(path)
    if backend != 'auto':
        if backend not in BACKENDS:
            raise ValueError(f'backend must be auto, openslide or tiffslide, '
                             f'got {backend!r}')
        return BACKENDS[backend](path, mpp)
    if not _is_url(path) and not osp.isfile(path):
        raise FileNotFoundError(f'slide file not found: {path}')
    errors = []
    for reader in BACKENDS.values():
        try:
            return reader(path, mpp)
        except SlideFileError:
            raise
        except ValueError as error:
            errors.append(str(error).replace(f'cannot open slide {path}: ',
                                             ''))
    raise ValueError(f'cannot open slide {path}: ' + '; '.join(errors))

"""Whole-slide readers: one interface over OpenSlide and tiffslide."""
import math
import os.path as osp
from abc import ABC, abstractmethod
from typing import Mapping, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

# a level is used for a target downsample it exceeds by at most this factor
# (reduced levels of odd-sized slides have downsamples such as 2.0019)
LEVEL_TOLERANCE = 1.01


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
        one of them must be given."""
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
        if mpp is not None:
            return value / self.mpp
        return self.objective_power / value

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
        ``downsample`` from :meth:`target_downsample`. It is read from
        :meth:`best_level` and resized to ``size`` with ``cv2.INTER_AREA``
        (upsampled when the target is finer than level 0). Parts outside the
        slide are white.

        Returns:
            np.ndarray: uint8 RGB of shape (h, w, 3).
        """
        downsample = self.target_downsample(mpp, magnification)
        return self.read_downsampled(location, size, downsample)

    def thumbnail(self, max_size: Union[int, Sequence[int]]) -> np.ndarray:
        """The whole slide, downsampled to fit ``max_size`` (w, h) or a
        square of side ``max_size`` (never upsampled), as uint8 RGB
        (h, w, 3)."""
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
        pixels each, from level-0 ``location``, as uint8 RGB (h, w, 3)."""
        x, y = (int(v) for v in location)
        width, height = (int(v) for v in size)
        if width < 1 or height < 1:
            raise ValueError(f'region size of slide {self._path} must be '
                             f'positive, got {tuple(size)}')
        level = self.best_level(downsample)
        level_ds = self._level_downsamples[level]
        level_w, level_h = self._level_dimensions[level]
        # the region in level pixels, and its part inside the level
        lx = math.floor(x / level_ds + 0.5)
        ly = math.floor(y / level_ds + 0.5)
        lw = max(1, round(width * downsample / level_ds))
        lh = max(1, round(height * downsample / level_ds))
        x0, y0 = max(lx, 0), max(ly, 0)
        x1, y1 = min(lx + lw, level_w), min(ly + lh, level_h)
        region = np.full((lh, lw, 3), 255, np.uint8)
        if x1 > x0 and y1 > y0:
            try:
                inside = self._read_level(
                    (round(x0 * level_ds), round(y0 * level_ds)), level,
                    (x1 - x0, y1 - y0))
            except Exception as error:
                raise ValueError(
                    f'cannot read slide {self._path}: level {level}, '
                    f'{x1 - x0}x{y1 - y0} px at level-0 ({x}, {y}): '
                    f'{type(error).__name__}: {error}') from error
            region[y0 - ly:y1 - ly, x0 - lx:x1 - lx] = \
                composite_on_white(inside)
        if (lw, lh) != (width, height):
            region = cv2.resize(
                region, (width, height), interpolation=cv2.INTER_AREA)
        return region


class OpenSlideReader(SlideReader):
    """A slide read with OpenSlide (openslide-python): SVS, NDPI, MRXS, SCN,
    generic tiled TIFF and the other OpenSlide formats; local files only.

    Raises:
        FileNotFoundError: The file does not exist.
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
        ValueError: tiffslide cannot open the file.
    """

    backend = 'tiffslide'

    def __init__(self, path: str, mpp: Optional[float] = None) -> None:
        super().__init__(path, mpp)
        import tiffslide
        if not _is_url(self._path) and not osp.isfile(self._path):
            raise FileNotFoundError(f'slide file not found: {self._path}')
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
        mpp: Level-0 microns per pixel replacing the file's value.

    Raises:
        FileNotFoundError: The local file does not exist.
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
        except ValueError as error:
            errors.append(str(error).replace(f'cannot open slide {path}: ',
                                             ''))
    raise ValueError(f'cannot open slide {path}: ' + '; '.join(errors))

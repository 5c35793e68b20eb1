"""Stream a tiled, compressed BigTIFF pyramid tile by tile.

Level 0, ``(H, W, 3)`` uint8 RGB, arrives as an iterable of ``(T, T, 3)``
tiles in raster order over the ``ceil(H / T) x ceil(W / T)`` grid of the
TIFF tiles (edge tiles may be cropped; they are padded by edge replication).
Level ``k + 1`` is level ``k`` halved, ``(floor(H_k / 2), floor(W_k / 2))``,
by the mean of 2 x 2 blocks (``cv2.INTER_AREA`` at exactly 2x, rounded half
up), as long as both sides stay >= 1.

Layouts (``docs/inference.md``, "Whole-slide super-resolution"):

- Aperio SVS (default): top-level IFDs in the Aperio order: level 0, a
  stripped thumbnail (the block mean of level 0, at most ``THUMBNAIL`` px
  a side), the reduced levels (tiled, ``subfiletype=0``), then the
  ``associated`` label (``subfiletype=1``) and macro (``subfiletype=9``).
  The ImageDescription of level 0 begins with ``Aperio Image Library`` and
  holds ``|MPP = x|AppMag = y`` and the ``description`` fields
  (``|key = value``, values percent-quoted, :func:`read_provenance`);
  every level also carries CENTIMETER resolution tags (``1e4 / mpp`` px
  per cm). OpenSlide (vendor ``aperio``, 3.4 and 4.x), tiffslide and
  tifffile read every level, the mpp, the objective power and the
  associated images.
- OME-TIFF (``ome=True``): level 0 in the main IFD with the OME XML
  (``PhysicalSizeX/Y`` in um), the reduced levels as its SubIFDs. Bio-
  Formats/QuPath, tiffslide and tifffile see every level; OpenSlide sees
  level 0 only; no associated images, description or magnification.

Memory: tifffile encodes one tile at a time; while level ``k`` is written
its half-size copy is accumulated in an uncompressed ``.npy`` memory map in
``scratch_dir`` (a quarter of level ``k``'s raw size on disk, paged by the
operating system), which is then streamed as level ``k + 1`` and deleted.
Its blocks are allocated before use (``os.posix_fallocate``), so a full
disk ends in ``OSError`` (ENOSPC) rather than SIGBUS.
The process holds a few tiles in memory, whatever the image size, plus the
Aperio thumbnail while level 0 streams: ``(H / f) x (W / f)`` px, ``f`` the
largest power of two dividing ``T`` that leaves >= ``THUMBNAIL`` px (so
about ``THUMBNAIL`` px a side with ``T = 512`` up to 512k px slides).
"""
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union
from urllib.parse import quote, unquote

import cv2
import numpy as np
import tifffile

#: Compressions the writer offers (``jpeg``: lossy, ``quality``; ``zlib``:
#: lossless). Both are read by OpenSlide, tiffslide and tifffile.
COMPRESSIONS = ('jpeg', 'zlib')
#: Longest side of the thumbnail of an Aperio layout, in pixels.
THUMBNAIL = 1024
#: Associated images an Aperio layout carries, and their ``subfiletype``
#: and compression (those of Aperio's scanners).
ASSOCIATED = dict(label=(1, 'lzw'), macro=(9, 'jpeg'))
#: First line of the ImageDescriptions of an Aperio layout.
APERIO_HEADER = 'Aperio Image Library pathsr'


def pyramid_shapes(shape: Sequence[int],
                   tile: int,
                   levels: Optional[int] = None) -> List[Tuple[int, int]]:
    """The ``(H, W)`` of every level of a pyramid over an ``shape`` image.

    Each level halves the previous one (floor). Without ``levels``, halving
    stops at the first level that fits in one ``tile x tile`` tile.

    Raises:
        ValueError: ``levels < 1``, or more levels than halvings leaving at
            least one pixel per side.
    """
    height, width = (int(n) for n in shape)
    if height < 1 or width < 1:
        raise ValueError(f'the image must have pixels, got {height}x{width}')
    shapes = [(height, width)]
    if levels is None:
        while max(shapes[-1]) > tile and min(shapes[-1]) >= 2:
            shapes.append((shapes[-1][0] // 2, shapes[-1][1] // 2))
        return shapes
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ValueError(f'levels must be an integer >= 1, got {levels!r}')
    for _ in range(levels - 1):
        if min(shapes[-1]) < 2:
            raise ValueError(
                f'a {height}x{width} image has at most {len(shapes)} levels '
                f'(each half the previous), not {levels}')
        shapes.append((shapes[-1][0] // 2, shapes[-1][1] // 2))
    return shapes


def _block_mean(block: np.ndarray, factor: int) -> np.ndarray:
    """Mean of the ``factor x factor`` blocks of uint8 ``(h, w, 3)`` ->
    ``(h // factor, w // factor, 3)``, rounded half up; the rows and
    columns past the last whole block are dropped."""
    rows, cols = block.shape[0] // factor, block.shape[1] // factor
    total = block[:factor * rows, :factor * cols].reshape(
        rows, factor, cols, factor, 3).sum((1, 3), np.uint32)
    area = factor * factor
    return ((total + area // 2) // area).astype(np.uint8)


def _thumbnail_factor(shape: Tuple[int, int], side: int) -> int:
    """The largest power of two that divides ``side``, keeps at least one
    pixel per axis and at least ``THUMBNAIL`` px on the longest one (or 1):
    the block of level 0 averaged into one thumbnail pixel."""
    factor = 1
    while side % (2 * factor) == 0 and 2 * factor <= min(shape) and max(
            shape) // (2 * factor) >= THUMBNAIL:
        factor *= 2
    return factor


def _check_tile(tile: np.ndarray, index: Tuple[int, int],
                shape: Tuple[int, int], side: int) -> np.ndarray:
    """``tile`` padded to ``(side, side, 3)`` after checking it covers the
    valid part of tile ``index`` of an image of ``shape``."""
    row, col = index
    need = (min(side, shape[0] - row * side), min(side, shape[1] - col * side))
    if not isinstance(tile, np.ndarray) or tile.dtype != np.uint8 \
            or tile.ndim != 3 or tile.shape[2] != 3 \
            or not need[0] <= tile.shape[0] <= side \
            or not need[1] <= tile.shape[1] <= side:
        desc = f'{tile.dtype} {tile.shape}' if isinstance(
            tile, np.ndarray) else type(tile).__name__
        raise ValueError(
            f'tile (row {row}, col {col}) must be uint8 RGB with at least '
            f'{need[0]}x{need[1]} and at most {side}x{side} pixels, got '
            f'{desc}')
    if tile.shape[:2] == (side, side):
        return tile
    return np.pad(
        tile, ((0, side - tile.shape[0]), (0, side - tile.shape[1]), (0, 0)),
        mode='edge')


def _stream(tiles: Iterable[np.ndarray], shape: Tuple[int, int], side: int,
            half: Optional[np.ndarray],
            thumb: Optional[Tuple[np.ndarray, int]] = None
            ) -> Iterator[np.ndarray]:
    """Yield the checked, padded tiles of a level and, when ``half`` (the
    next level's array) is given, write their 2 x 2 means into it; when
    ``thumb`` (an ``(H // f, W // f, 3)`` array and ``f``, a divisor of
    ``side``) is given, their ``f x f`` means into the array."""
    rows, cols = -(-shape[0] // side), -(-shape[1] // side)
    source = iter(tiles)
    for row in range(rows):
        for col in range(cols):
            try:
                tile = next(source)
            except StopIteration:
                raise ValueError(
                    f'the tiles ended at tile (row {row}, col {col}) of a '
                    f'{rows}x{cols} grid of {side} px tiles over '
                    f'{shape[0]}x{shape[1]}') from None
            tile = _check_tile(tile, (row, col), shape, side)
            valid = tile[:min(side, shape[0] - row * side), :min(
                side, shape[1] - col * side)]
            if thumb is not None:
                small = _block_mean(valid, thumb[1])
                top, left = row * side // thumb[1], col * side // thumb[1]
                thumb[0][top:top + small.shape[0],
                         left:left + small.shape[1]] = small
            if half is not None:
                small = _block_mean(valid, 2)
                top, left = row * side // 2, col * side // 2
                bottom = min(top + small.shape[0], half.shape[0])
                right = min(left + small.shape[1], half.shape[1])
                half[top:bottom, left:right] = \
                    small[:bottom - top, :right - left]
            yield tile
    if next(source, None) is not None:
        raise ValueError(f'more tiles than the {rows}x{cols} grid of {side} '
                         f'px tiles over {shape[0]}x{shape[1]}')


def _allocate(path: Path, shape: Tuple[int, int]) -> np.ndarray:
    """A uint8 ``(*shape, 3)`` ``.npy`` memory map at ``path`` whose blocks
    are allocated on disk first (``os.posix_fallocate``): a full disk then
    raises ``OSError`` (ENOSPC) here, not SIGBUS at a page write later.

    Raises:
        OSError: The filesystem has no room for the map; the message names
            the file and its size.
    """
    array = np.lib.format.open_memmap(path, 'w+', np.uint8, (*shape, 3))
    size = os.path.getsize(path)
    try:
        with open(path, 'r+b') as file:
            os.posix_fallocate(file.fileno(), 0, size)
    except OSError as error:
        if error.errno in (errno.EOPNOTSUPP, errno.EINVAL):
            return array  # the filesystem cannot preallocate
        os.remove(path)  # the map is released with this frame
        raise OSError(
            error.errno, f'cannot allocate the {size} bytes of the level map '
            f'{path}: {os.strerror(error.errno)}') from None
    except AttributeError:  # no posix_fallocate (macOS, Windows)
        pass
    return array


def _array_tiles(array: np.ndarray, side: int) -> Iterator[np.ndarray]:
    """The ``side`` tiles of ``array`` in raster order (edges cropped)."""
    for top in range(0, array.shape[0], side):
        for left in range(0, array.shape[1], side):
            yield np.ascontiguousarray(array[top:top + side,
                                             left:left + side])


def check_tiling(tile: int, compression: str) -> None:
    """Raise ``ValueError`` unless ``tile`` is a multiple of 16 (a TIFF
    rule) and ``compression`` one of :data:`COMPRESSIONS`."""
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < 16 \
            or tile % 16:
        raise ValueError(f'tile must be a multiple of 16 >= 16 (TIFF), got '
                         f'{tile!r}')
    if compression not in COMPRESSIONS:
        raise ValueError(f'compression must be one of {COMPRESSIONS}, got '
                         f'{compression!r}')


def _field(key: str, value: object) -> str:
    """``|key = value`` of an Aperio description, the value percent-quoted
    (``|``, ``%``, line breaks and non-ASCII characters escaped)."""
    if not key or any(c in key for c in '|=%\r\n') or not key.isascii():
        raise ValueError(f'description key {key!r} must be non-empty ASCII '
                         'without "|", "=", "%" or line breaks')
    return f'|{key} = {quote(str(value), safe=" !#$&()*+,-./:;<>?@[]^_{}~")}'


def _aperio_description(lines: Sequence[str], fields: dict,
                        newline: str = '\r\n') -> str:
    """An Aperio ImageDescription: the header, ``lines`` and ``fields``.

    Associated images take ``newline='\\n'`` as Aperio writes them:
    OpenSlide 3.4 names them by the second line split at ``\\r`` or
    ``\\n``, which a ``\\r\\n`` leaves empty.
    """
    return newline.join([APERIO_HEADER, *lines]) + ''.join(
        _field(key, value) for key, value in fields.items())


def read_provenance(path: Union[str, Path]) -> dict:
    """The ``key = value`` fields of level 0's Aperio ImageDescription of
    the TIFF ``path`` (values unquoted, as str), e.g. ``MPP``, ``AppMag``
    and the provenance that whole-slide SR writes (``pathsr``,
    ``pathsr.version``, ``pathsr.checkpoint_sha256``, ...).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not a TIFF with an Aperio description.
    """
    try:
        with tifffile.TiffFile(path) as tif:
            text = tif.pages.first.description
    except tifffile.TiffFileError as error:
        raise ValueError(f'{path} is not a readable TIFF: {error}') from None
    if not text.startswith('Aperio '):
        raise ValueError(f'{path} has no Aperio ImageDescription (an OME-TIFF'
                         ' or other layout carries no provenance)')
    fields = {}
    for item in text.split('|')[1:]:
        key, sep, value = item.partition('=')
        if sep:
            fields[key.strip()] = unquote(value.strip())
    return fields


def write_pyramid(path: Union[str, Path],
                  tiles: Iterable[np.ndarray],
                  shape: Sequence[int],
                  mpp: Optional[Union[float, Sequence[float]]] = None,
                  tile: int = 512,
                  levels: Optional[int] = None,
                  compression: str = 'jpeg',
                  quality: int = 90,
                  ome: bool = False,
                  magnification: Optional[float] = None,
                  description: Optional[dict] = None,
                  associated: Optional[dict] = None,
                  scratch_dir: Optional[Union[str, Path]] = None
                  ) -> List[Tuple[int, int]]:
    """Write a pyramidal tiled BigTIFF from level-0 ``tiles``.

    Args:
        path: The TIFF file (overwritten).
        tiles: Level-0 uint8 RGB tiles ``(tile, tile, 3)`` in raster order
            (see the module docstring); consumed once, lazily.
        shape: Level-0 ``(H, W)``.
        mpp: Level-0 microns per pixel, one value or ``(x, y)``; written as
            resolution tags and the Aperio ``MPP`` (x; or OME physical
            sizes). None writes none.
        tile: TIFF tile side in pixels, a multiple of 16.
        levels: Number of levels; None halves until one tile holds the
            level (:func:`pyramid_shapes`).
        compression: ``'jpeg'`` or ``'zlib'``.
        quality: JPEG quality, 1-100.
        ome: Write an OME-TIFF with the reduced levels as SubIFDs instead
            of the Aperio layout.
        magnification: Level-0 objective power, the Aperio ``AppMag``.
        description: Fields ``{key: value}`` added to level 0's Aperio
            description (:func:`read_provenance` reads them back).
        associated: ``{'label': array, 'macro': array}`` (either or both,
            uint8 RGB ``(h, w, 3)``), written after the levels.
        scratch_dir: Folder for the half-size memory maps (default: a
            temporary folder beside ``path``, removed afterwards).

    Returns:
        list[tuple[int, int]]: The ``(H, W)`` of the levels written.

    Raises:
        ValueError: A bad tile size, compression, quality, mpp,
            magnification, number of levels, description key or associated
            image, or tiles that do not match the grid.
    """
    check_tiling(tile, compression)
    if compression == 'jpeg' and (isinstance(quality, bool) or not isinstance(
            quality, int) or not 1 <= quality <= 100):
        raise ValueError(f'JPEG quality must be an integer in [1, 100], got '
                         f'{quality!r}')
    if mpp is not None:
        mpp_xy = (mpp, mpp) if np.isscalar(mpp) else tuple(mpp)
        if len(mpp_xy) != 2 or not all(
                np.isfinite(v) and v > 0 for v in mpp_xy):
            raise ValueError(f'mpp must be a positive number or (x, y), got '
                             f'{mpp!r}')
        mpp_xy = tuple(float(v) for v in mpp_xy)
    if magnification is not None and not (
            np.isscalar(magnification) and np.isfinite(magnification)
            and magnification > 0):
        raise ValueError(f'magnification must be a positive number, got '
                         f'{magnification!r}')
    associated = dict(associated or {})
    for name, image in associated.items():
        if name not in ASSOCIATED:
            raise ValueError(f'associated images are {tuple(ASSOCIATED)}, '
                             f'got {name!r}')
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 \
                or image.ndim != 3 or image.shape[2] != 3 or not image.size:
            got = getattr(image, 'shape', image)
            raise ValueError(f'the associated {name} must be a uint8 RGB '
                             f'(h, w, 3) array, got {got!r}')
    shapes = pyramid_shapes(shape, tile, levels)
    fields = {}
    if not ome:
        if mpp is not None:
            fields['MPP'] = f'{mpp_xy[0]:.6g}'
        if magnification is not None:
            fields['AppMag'] = f'{float(magnification):g}'
        for key, value in (description or {}).items():
            _field(key, value)  # check the keys before any work
            fields[key] = value
    options = dict(
        tile=(tile, tile),
        dtype=np.uint8,
        photometric='rgb',
        compression=compression,
        compressionargs=dict(level=quality) if compression == 'jpeg' else
        None)
    if mpp is not None:
        options['resolutionunit'] = 'CENTIMETER'
    codec = f'{compression.upper()}/RGB' + (
        f' Q={quality}' if compression == 'jpeg' else '')
    height, width = shapes[0]
    thumb = None
    if not ome:
        factor = _thumbnail_factor(shapes[0], tile)
        thumb = (np.zeros((height // factor, width // factor, 3), np.uint8),
                 factor)
    own_scratch = scratch_dir is None
    scratch = Path(
        tempfile.mkdtemp(prefix='.pyramid_', dir=Path(path).parent)
        if own_scratch else scratch_dir)
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        with tifffile.TiffWriter(path, bigtiff=True, ome=ome) as writer:
            source: Iterable[np.ndarray] = tiles
            for index, level_shape in enumerate(shapes):
                half = None
                if index + 1 < len(shapes):
                    half = _allocate(scratch / f'level{index + 1}.npy',
                                     shapes[index + 1])
                extra = dict(metadata=None)
                if mpp is not None:
                    extra['resolution'] = tuple(
                        1e4 * level_shape[axis] / (shapes[0][axis] *
                                                   mpp_xy[1 - axis])
                        for axis in (1, 0))
                if ome:
                    extra['subfiletype'] = 1 if index else 0
                    if index == 0:
                        meta = {'axes': 'YXS'}
                        if mpp is not None:
                            meta.update(
                                PhysicalSizeX=mpp_xy[0],
                                PhysicalSizeXUnit='µm',
                                PhysicalSizeY=mpp_xy[1],
                                PhysicalSizeYUnit='µm')
                        extra.update(metadata=meta, subifds=len(shapes) - 1)
                elif index == 0:
                    extra['description'] = _aperio_description(
                        [f'{width}x{height} [0,0 {width}x{height}] '
                         f'({tile}x{tile}) {codec}'], fields)
                else:
                    extra['description'] = _aperio_description(
                        [f'{width}x{height} [0,0 {width}x{height}] '
                         f'({tile}x{tile}) -> {level_shape[1]}x'
                         f'{level_shape[0]} {codec}'], {})
                writer.write(
                    _stream(source, level_shape, tile, half,
                            thumb if index == 0 else None),
                    shape=(*level_shape, 3),
                    **extra,
                    **options)
                if index == 0 and thumb is not None:
                    _write_associated(writer, 'thumbnail',
                                      _fit(thumb[0], THUMBNAIL),
                                      (width, height))
                if index:
                    del source
                    os.remove(scratch / f'level{index}.npy')
                if half is not None:
                    half.flush()
                    source = _array_tiles(half, tile)
                    del half
            for name in ASSOCIATED:  # label, then macro: Aperio's order
                if name in associated:
                    _write_associated(writer, name, associated[name],
                                      (width, height))
    finally:
        if own_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return shapes


def _fit(image: np.ndarray, side: int) -> np.ndarray:
    """``image`` shrunk (``cv2.INTER_AREA``) so that its longest side is at
    most ``side``; unchanged when it already is."""
    height, width = image.shape[:2]
    if max(height, width) <= side:
        return image
    ratio = side / max(height, width)
    return cv2.resize(image, (max(1, round(width * ratio)),
                              max(1, round(height * ratio))),
                      interpolation=cv2.INTER_AREA)


def _write_associated(writer: tifffile.TiffWriter, name: str,
                      image: np.ndarray, size: Tuple[int, int]) -> None:
    """Write the stripped Aperio page of the associated image ``name``
    (``thumbnail``, ``label`` or ``macro``) of a ``size`` (w, h) level 0."""
    height, width = image.shape[:2]
    if name == 'thumbnail':
        subfiletype, compression = 0, 'jpeg'
        line = f'{size[0]}x{size[1]} -> {width}x{height} - '
    else:
        subfiletype, compression = ASSOCIATED[name]
        line = f'{name} {width}x{height}'
    writer.write(
        np.ascontiguousarray(image),
        photometric='rgb',
        compression=compression,
        compressionargs=dict(level=90) if compression == 'jpeg' else None,
        subfiletype=subfiletype,
        description=_aperio_description([line], {}, newline='\n'),
        metadata=None)

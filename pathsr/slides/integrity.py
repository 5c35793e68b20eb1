"""Structural check of TIFF-based slide files before any pixel is decoded.

A truncated or cut TIFF can still open: tifffile (and so tiffslide) stops at
the first directory (IFD) that lies past the end of the file and reads the
tiles it still finds, including those whose bytes are cut, which decode as
garbage. :func:`check_slide_file` refuses such a file up front.
"""
import logging
import os
import struct
from typing import BinaryIO, Iterator

import numpy as np

TIFF_MAGIC = (b'II*\x00', b'MM\x00*', b'II+\x00', b'MM\x00+')


class SlideFileError(ValueError):
    """The slide file is truncated or structurally corrupt."""


def _next_ifd_offset(handle: BinaryIO, tiff: object, offset: int) -> int:
    """The offset of the IFD that follows the IFD at ``offset``."""
    handle.seek(offset)
    count, = struct.unpack(tiff.tagnoformat,
                           handle.read(tiff.tagnosize))
    handle.seek(offset + tiff.tagnosize + count * tiff.tagsize)
    data = handle.read(tiff.offsetsize)
    if len(data) < tiff.offsetsize:
        return -1
    return struct.unpack(tiff.offsetformat, data)[0]


def _pages(tif: object) -> Iterator[object]:
    """Every image directory of ``tif``: the main IFD chain, then the
    pyramid levels of its series (SubIFDs), each once."""
    seen = set()
    pages = list(tif.pages)
    for series in tif.series:
        for level in series.levels:
            pages.extend(page for page in level.pages if page is not None)
    for page in pages:
        if page.offset not in seen:
            seen.add(page.offset)
            yield page


def check_slide_file(path: str) -> None:
    """Refuse a TIFF-based slide (TIFF, SVS, NDPI, SCN, BIF ...) whose
    directory chain or tile/strip data runs past the end of the file.

    Checks that the main IFD chain ends with a zero offset (it is not cut
    short) and that for every image directory each tile or strip
    ``[offset, offset + bytecount)`` lies inside the file (sparse tiles with
    zero bytes are allowed). Files that are not TIFFs (MRXS, VMS ...) are
    left to their reader. The cost is one pass over the directories, no
    pixel is decoded.

    Args:
        path: Slide file, or fsspec URL (read through ``fsspec``; the
            directories are fetched, not the tiles).

    Raises:
        SlideFileError: The file is truncated or its TIFF structure is
            unreadable; the message names the file, the directory (level)
            and the first tile out of the file.
    """
    if '://' in path:
        # fsspec comes with tiffslide, the backend that reads URLs
        import fsspec
        filesystem, location = fsspec.core.url_to_fs(path)
        handle, size = (filesystem.open(location, 'rb'),
                        filesystem.size(location))
    else:
        handle, size = open(path, 'rb'), os.path.getsize(path)
    with handle:
        if handle.read(4) not in TIFF_MAGIC:
            return
        handle.seek(0)
        _check_tiff(handle, path, size)


def _check_tiff(handle: BinaryIO, path: str, size: int) -> None:
    """:func:`check_slide_file` of the TIFF open as ``handle``, of ``size``
    bytes."""
    import tifffile
    # tifffile logs a cut directory chain as a warning and goes on; it is
    # reported here as an error instead
    log = logging.getLogger('tifffile')
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        with tifffile.TiffFile(handle) as tif:
            pages = list(_pages(tif))
            last = tif.pages[len(tif.pages) - 1].offset
            following = _next_ifd_offset(tif.filehandle, tif.tiff, last)
            if following != 0:
                raise SlideFileError(
                    f'cannot open slide {path}: truncated or corrupt file: '
                    f'its TIFF directory chain is cut after '
                    f'{len(tif.pages)} directories (the next one would be '
                    f'at byte {following}, the file has {size} bytes)')
            for index, page in enumerate(pages):
                offsets = np.asarray(page.dataoffsets, np.int64)
                counts = np.asarray(page.databytecounts, np.int64)
                ends = np.where(counts > 0, offsets + counts, 0)
                outside = np.flatnonzero(ends > size)
                if outside.size:
                    tile = int(outside[0])
                    shape = 'x'.join(str(v) for v in page.shape[:2][::-1])
                    raise SlideFileError(
                        f'cannot open slide {path}: truncated or corrupt '
                        f'file: directory {index} ({shape} px) has '
                        f'{outside.size} of {offsets.size} tiles/strips '
                        f'past the end of the file, the first #{tile} at '
                        f'bytes {offsets[tile]}-{ends[tile]} (the file has '
                        f'{size} bytes)')
    except SlideFileError:
        raise
    except Exception as error:  # tifffile: unreadable directory or tag
        raise SlideFileError(
            f'cannot open slide {path}: truncated or corrupt file: '
            f'tifffile: {type(error).__name__}: {error}') from error
    finally:
        log.setLevel(level)

"""Whole-slide super-resolution into a pyramidal tiled BigTIFF.

A slide, or a level-0 region ``(x, y, w, h)`` of it, is read at a reading
resolution (level 0 by default) as an LR image of ``(h', w')`` pixels that is
never held whole; its output ``(H, W)`` is fixed once
(:func:`~pathsr.apis.tiled_inference.resolve_out_shape`). The output is
produced in the ``T x T`` tiles of the TIFF grid (``T = tile``, output
pixels), in raster order:

- **Ownership**: output row ``i`` belongs to LR row ``floor((i + 1/2) h' /
  H)``, the rule of :func:`~pathsr.apis.tiled_inference.hr_span`. A TIFF
  tile's *core* is the LR box owning its pixels, its *window* the core
  plus ``halo`` LR pixels per side (clipped to the region), read from the
  slide on its own. The model computes exactly the tile's output pixels
  from the window, with the global geometry of the whole region, so the
  tiles equal the in-memory tiled inference of the region (up to float
  rounding, see ``docs/inference.md``).
- **Tissue only**: a tissue mask of the slide thumbnail
  (:func:`~pathsr.slides.segment_tissue`) decides per tile: a tile whose
  window covers no tissue is not super-resolved but filled with the LR
  upsampled (bicubic, ``cv2.INTER_CUBIC`` on the same output-to-LR pixel
  map as the model, from the tile's core plus 2 LR pixels). No pixel of
  the input is lost whatever the mask misses, and the background keeps
  the glass colour across skipped and computed tiles (no seams).
- **Resumable**: every super-resolved tile is saved, atomically, as
  ``<out>.parts/r<row>_c<col>.npy`` (uint8 ``(h, w, 3)``, the tile's part
  inside the image) next to ``settings.json``, a fingerprint of everything
  that changes the pixels (slide file, region, resolutions, tile, halo,
  mask, model architecture and weights). A rerun with the same
  fingerprint reuses the saved tiles and computes the missing ones; a
  different fingerprint discards them with a warning.
- **Layout**: an Aperio SVS pyramid (:func:`~pathsr.slides.write_pyramid`)
  with the output mpp and objective power, a thumbnail of the output, the
  source's label and macro images, and a provenance record in level 0's
  description (``pathsr.*`` fields, :func:`~pathsr.slides.read_provenance`):
  "super-resolved by pathsr", pathsr version, date (UTC, or
  ``SOURCE_DATE_EPOCH``), source, region, scale, model, config,
  checkpoint and its sha256.
- **Atomic output**: the pyramid is streamed to ``<out>.tmp``, renamed to
  ``<out>`` when complete, and the parts folder is removed.
- **Distributed** (``distributed=True`` in every rank of a process group):
  rank 0 prepares the parts folder and lists the tissue tiles without a
  saved part, in raster order; rank ``r`` of ``n`` computes block ``r`` of
  ``n`` contiguous blocks of that list (sizes differ by one tile at most)
  and saves its tiles as parts; after a barrier rank 0 writes the pyramid
  from the parts, as a resumed run does, and removes them. Blocks rather
  than every ``n``-th tile: a rank reads a compact band of the slide, and
  the file tiles that neighbouring windows share are read and decoded
  once (OpenSlide's tile cache, the page cache). The output is
  byte-identical to one process's; the ranks must share the filesystem of
  ``out``.

Memory holds a few windows and tiles (``batch_size`` of them), whatever the
slide size; the reduced levels are accumulated in memory maps on disk.
"""
import errno
import hashlib
import itertools
import json
import math
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import (Callable, Iterator, List, NamedTuple, Optional, Sequence,
                    Tuple, Union)

import cv2
import numpy as np
import torch
import torch.nn as nn
from mmengine.dist import (all_gather_object, broadcast_object_list,
                           get_dist_info)

from pathsr.slides import SlideReader, open_slide, segment_tissue
from pathsr.slides.pyramid_writer import (ASSOCIATED, check_tiling,
                                          pyramid_shapes, write_pyramid)
from pathsr.utils.atomic import atomic_path
from pathsr.version import __version__
from .distributed import contiguous_block
from .inferencer import SRInferencer
from .tiled_inference import (Tile, autocast_context, batch_tiles,
                              model_kind, predict_tiles, resolve_out_shape,
                              tile_geometry)

#: Output suffixes of whole-slide SR.
TIFF_SUFFIXES = ('.tif', '.tiff')
#: Suffixes of the slide files taken from an input folder.
SLIDE_SUFFIXES = ('.svs', '.tif', '.tiff', '.ndpi', '.mrxs', '.scn', '.vms',
                  '.vmu', '.bif', '.svslide')
#: Largest output accepted by default (pixels): a 1 Mpx x 1 Mpx slide.
MAX_SLIDE_PIXELS = 1 << 40


class SlideSRResult(NamedTuple):
    """What :func:`super_resolve_slide` wrote: the file, the LR ``(h, w)``
    read, the output ``(H, W)``, its mpp ``(x, y)`` (None when unknown),
    the ``(H, W)`` of every level, tile counts (all, tissue, computed in
    this run, reused from an interrupted run) and the tiles each rank
    computed (one count in a single process)."""
    path: Path
    lr_shape: Tuple[int, int]
    out_shape: Tuple[int, int]
    mpp: Optional[Tuple[float, float]]
    levels: List[Tuple[int, int]]
    tiles: int
    tissue_tiles: int
    computed_tiles: int
    reused_tiles: int
    computed_per_rank: Tuple[int, ...]


def _owner(index: int, lr_len: int, hr_len: int) -> int:
    """The LR pixel owning output pixel ``index``: ``floor((index + 1/2)
    lr_len / hr_len)``, in integers."""
    return (2 * index + 1) * lr_len // (2 * hr_len)


def _axis_tiles(lr_len: int, hr_len: int, side: int,
                halo: int) -> List[Tuple[int, int, int, int, int, int]]:
    """Per TIFF tile along one axis: ``(core0, core1, window0, window1,
    out0, out1)``, ends exclusive."""
    spans = []
    for out0 in range(0, hr_len, side):
        out1 = min(out0 + side, hr_len)
        core0 = _owner(out0, lr_len, hr_len)
        core1 = _owner(out1 - 1, lr_len, hr_len) + 1
        spans.append((core0, core1, max(core0 - halo, 0),
                      min(core1 + halo, lr_len), out0, out1))
    return spans


def _fingerprint(settings: dict, model: nn.Module) -> str:
    """sha256 of the JSON ``settings``, the model's repr and its weights."""
    digest = hashlib.sha256(
        json.dumps(settings, sort_keys=True).encode())
    digest.update(repr(model).encode())
    for name, value in model.state_dict().items():
        digest.update(name.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def file_sha256(path: Union[str, Path]) -> str:
    """The sha256 of the file ``path``, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for block in iter(lambda: file.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _utc_now() -> str:
    """The UTC time as ``YYYY-MM-DDTHH:MM:SSZ``, or that of the
    ``SOURCE_DATE_EPOCH`` environment variable (reproducible outputs)."""
    epoch = os.environ.get('SOURCE_DATE_EPOCH')
    return time.strftime('%Y-%m-%dT%H:%M:%SZ',
                         time.gmtime(None if epoch is None else int(epoch)))


def _saved_fingerprint(parts: Path) -> Optional[str]:
    """The fingerprint in ``parts/settings.json``; None when unreadable."""
    try:
        return json.loads((parts / 'settings.json').read_text())['fingerprint']
    except (OSError, ValueError, KeyError):
        return None


def _prepare_parts(parts: Path, fingerprint: str,
                   settings: dict) -> None:
    """Create the parts folder, or keep it when its fingerprint matches."""
    record = parts / 'settings.json'
    if parts.exists():
        if _saved_fingerprint(parts) == fingerprint:
            return
        warnings.warn(f'{parts} holds tiles of other settings (or is '
                      'damaged): discarding them')
        shutil.rmtree(parts)
    parts.mkdir(parents=True)
    record.write_text(
        json.dumps(dict(fingerprint=fingerprint, settings=settings),
                   indent=1, sort_keys=True))


def _share_tiles(parts: Path, fingerprint: str, settings: dict,
                 selected: List[List[bool]],
                 shapes: Callable[[int, int], Tuple[int, int]]
                 ) -> List[Tuple[int, int]]:
    """The ``(row, col)`` of the tissue tiles without a complete saved part
    (of ``shapes(row, col)`` pixels), in raster order, as rank 0 sees them
    after preparing ``parts``; the same list on every rank.

    Raises:
        ValueError: The ranks differ in fingerprint (settings, model or
            weights), or some do not see rank 0's ``parts/settings.json``
            (no shared filesystem).
    """
    fingerprints = all_gather_object(fingerprint)
    if len(set(fingerprints)) > 1:
        others = [
            r for r, other in enumerate(fingerprints)
            if other != fingerprints[0]
        ]
        raise ValueError(
            f'ranks {others} would compute other pixels than rank 0 for '
            f'{parts}: give every rank the same arguments, slide file and '
            'checkpoint')
    todo = None
    if get_dist_info()[0] == 0:
        _prepare_parts(parts, fingerprint, settings)
        # a listing, not a lookup per file, leaves no cached "missing"
        # entries on network filesystems for the parts to come
        saved = set(os.listdir(parts))
        todo = [(i, j) for i, row in enumerate(selected)
                for j, tissue in enumerate(row)
                if tissue and (f'r{i}_c{j}.npy' not in saved or not
                               _valid_part(parts / f'r{i}_c{j}.npy',
                                           shapes(i, j)))]
    shared = [todo]
    broadcast_object_list(shared)
    sees = all_gather_object(_saved_fingerprint(parts) == fingerprint)
    if not all(sees):
        blind = [r for r, seen in enumerate(sees) if not seen]
        raise ValueError(
            f'ranks {blind} do not see {parts / "settings.json"} written by '
            'rank 0: distributed whole-slide SR needs a filesystem that all '
            'ranks share for --out')
    return shared[0]


def _check_parts(parts: Path, tiles: List[Tuple[int, int]]) -> None:
    """Check that the parts of ``tiles`` are in ``parts``.

    Raises:
        FileNotFoundError: Some are missing (their rank wrote elsewhere).
    """
    saved = set(os.listdir(parts))
    missing = [
        f'r{i}_c{j}.npy' for i, j in tiles if f'r{i}_c{j}.npy' not in saved
    ]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} tiles computed by the ranks are not in {parts} '
            f'(e.g. {missing[0]}): the ranks must share the filesystem of '
            'the output')


def _valid_part(path: Path, shape: Tuple[int, int]) -> bool:
    """Whether ``path`` is a complete ``.npy`` of a uint8 ``(*shape, 3)``
    tile: its header says so and the file holds exactly its bytes. A
    missing, truncated or foreign file is not (its tile is recomputed)."""
    try:
        with open(path, 'rb') as file:
            version = np.lib.format.read_magic(file)
            read_header = np.lib.format.read_array_header_1_0 \
                if version == (1, 0) else np.lib.format.read_array_header_2_0
            header = read_header(file)
            offset = file.tell()
    except (OSError, ValueError, SyntaxError):
        return False
    expected = (*shape, 3)
    return (tuple(header[0]) == expected and header[2] == np.uint8
            and not header[1]
            and os.path.getsize(path) == offset + int(np.prod(expected)))


def _save_part(path: Path, tile: np.ndarray) -> None:
    """Save ``tile`` to ``path`` atomically (a temporary file renamed).

    Raises:
        OSError: The tile cannot be written (a full disk), naming it.
    """
    try:
        with atomic_path(path, path.with_name(path.name + '.partial')) \
                as partial, open(partial, 'wb') as file:
            np.save(file, tile)
    except OSError as error:
        code = error.errno or errno.EIO
        raise OSError(
            code, f'cannot save the tile {path} ({_free_bytes(path)} bytes '
            f'free): {os.strerror(code) if error.errno else error}') from None


def _free_bytes(path: Path) -> int:
    """Free bytes on the filesystem that holds (or will hold) ``path``."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def _check_space(out: Path, part_bytes: int,
                 shapes: List[Tuple[int, int]]) -> None:
    """Refuse to start when the filesystem of ``out`` has less free space
    than the ``part_bytes`` of the tiles still to save plus the peak of the
    pyramid writer's memory maps (two consecutive reduced levels, raw).

    Raises:
        OSError: ``ENOSPC``, naming ``out``, the bytes needed and free.
    """
    raw = [h * w * 3 for h, w in shapes[1:]] + [0]
    scratch = max((a + b for a, b in zip(raw, raw[1:])), default=0)
    need = part_bytes + scratch
    free = _free_bytes(out)
    if need > free:
        raise OSError(
            errno.ENOSPC,
            f'not enough free space for {out}: whole-slide SR needs at least '
            f'{need} bytes ({need / 2**20:.1f} MiB: {part_bytes} for the '
            f'saved tiles, {scratch} for the reduced levels, plus the '
            f'compressed output) but {free} bytes ({free / 2**20:.1f} MiB) '
            'are free')


Box = Tuple[int, int, int, int]


def _check_region(reader: SlideReader,
                  region: Optional[Sequence[int]]) -> Box:
    width, height = reader.dimensions
    if region is None:
        return 0, 0, width, height
    if len(region) != 4 or any(int(v) != v for v in region):
        raise ValueError(f'region must be level-0 (x, y, w, h) in integer '
                         f'pixels, got {tuple(region)}')
    x, y, w, h = (int(v) for v in region)
    if w < 1 or h < 1 or x < 0 or y < 0 or x + w > width \
            or y + h > height:
        raise ValueError(
            f'region (x={x}, y={y}, w={w}, h={h}) is not a non-empty box '
            f'inside the {width}x{height} level 0 of slide {reader.path}')
    return x, y, w, h


def _target_scale(lr_mpp: Optional[float], lr_mag: Optional[float],
                  scale: Optional[float], mpp: Optional[float],
                  magnification: Optional[float]) -> Optional[float]:
    """The scale asked for by ``scale``, a target ``mpp`` or a target
    ``magnification`` (at most one)."""
    given = [
        name for name, value in (('scale', scale), ('mpp', mpp),
                                 ('magnification', magnification))
        if value is not None
    ]
    if len(given) > 1:
        raise ValueError('give one of scale, mpp and magnification, got '
                         f'{", ".join(given)}')
    if mpp is None and magnification is None:
        return scale
    name = 'mpp' if mpp is not None else 'magnification'
    target = mpp if mpp is not None else magnification
    if isinstance(target, bool) or not isinstance(
            target, (int, float)) or not math.isfinite(target) or target <= 0:
        raise ValueError(f'target {name} must be a positive number, got '
                         f'{target!r}')
    source = lr_mpp if mpp is not None else lr_mag
    if source is None:
        raise ValueError(f'a target {name} needs the slide\'s {name}: pass '
                         'slide_mpp (--slide-mpp) or a scale')
    result = source / target if mpp is not None else target / source
    if not result > 1:
        raise ValueError(f'target {name} {target:g} is not finer than the '
                         f'{source:g} read (scale {result:g} <= 1)')
    return result


def _tile_mask(reader: SlideReader,
               thumbnail_size: int) -> Tuple[np.ndarray, float, float]:
    """The tissue mask of the slide thumbnail and its level-0 pixels per
    mask pixel ``(x, y)``."""
    mask = segment_tissue(reader.thumbnail(thumbnail_size))
    width, height = reader.dimensions
    return mask, width / mask.shape[1], height / mask.shape[0]


def _upsample_lr(read_lr: Callable[[int, int, int, int], np.ndarray],
                 row: tuple, col: tuple, lr_shape: Tuple[int, int],
                 out_shape: Tuple[int, int]) -> np.ndarray:
    """The uint8 ``(h, w, 3)`` output tile ``(row, col)`` (spans of
    :func:`_axis_tiles`) as the bicubic upsampling of the LR region.

    Output pixel ``(i, j)`` samples LR ``((i + 1/2) h' / H - 1/2, (j + 1/2)
    w' / W - 1/2)``, the model's pixel-centre map, with ``cv2.INTER_CUBIC``
    on the tile's LR core plus the 2 pixels the kernel reaches (edge pixels
    replicated at the region's border), so that neighbouring tiles join
    without seams.
    """
    top, bottom = max(row[0] - 2, 0), min(row[1] + 2, lr_shape[0])
    left, right = max(col[0] - 2, 0), min(col[1] + 2, lr_shape[1])
    crop = read_lr(top, bottom, left, right)
    ys = (np.arange(row[4], row[5]) + 0.5) * (lr_shape[0] / out_shape[0])
    xs = (np.arange(col[4], col[5]) + 0.5) * (lr_shape[1] / out_shape[1])
    map_x, map_y = np.meshgrid(
        (xs - 0.5 - left).astype(np.float32),
        (ys - 0.5 - top).astype(np.float32))
    return cv2.remap(crop, map_x, map_y, cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REPLICATE)


def _sr_uint8(model: nn.Module, kind: str, inputs: torch.Tensor,
              tiles: List[Tile], lr_shape: Tuple[int, int],
              out_shape: Tuple[int, int], amp: bool) -> Iterator[np.ndarray]:
    """The uint8 ``(h, w, 3)`` outputs of ``tiles`` (their windows stacked
    in ``inputs``), rounded as :func:`~pathsr.apis.tiled_sr` rounds."""
    preds = predict_tiles(model, kind, inputs, tiles, lr_shape, out_shape,
                          autocast_context(inputs.device, amp))
    for pred in preds:
        pred = torch.round(pred.permute(1, 2, 0) * 255).to(torch.uint8)
        yield pred.cpu().numpy()


@torch.no_grad()
def super_resolve_slide(
        model: Union[SRInferencer, nn.Module],
        slide: Union[str, Path],
        out: Union[str, Path],
        scale: Optional[float] = None,
        mpp: Optional[float] = None,
        magnification: Optional[float] = None,
        region: Optional[Sequence[int]] = None,
        in_mpp: Optional[float] = None,
        in_magnification: Optional[float] = None,
        slide_mpp: Optional[float] = None,
        backend: str = 'auto',
        tile: int = 512,
        halo: Optional[int] = None,
        batch_size: Optional[int] = None,
        amp: Optional[bool] = None,
        levels: Optional[int] = None,
        compression: str = 'jpeg',
        quality: int = 90,
        ome: bool = False,
        tissue: bool = True,
        thumbnail_size: int = 1024,
        overwrite: bool = False,
        progress: bool = False,
        max_pixels: int = MAX_SLIDE_PIXELS,
        distributed: bool = False,
        config: Optional[Union[str, Path]] = None,
        checkpoint: Optional[Union[str, Path]] = None) -> SlideSRResult:
    """Super-resolve ``slide`` (or a region) into the pyramidal TIFF ``out``.

    Args:
        model: An :class:`SRInferencer` (its model, halo, batch size and
            amp are used unless given here) or a model in eval mode.
        slide: The slide file (:func:`~pathsr.slides.open_slide`).
        out: The output ``.tif``/``.tiff``.
        scale: Output scale; or a target ``mpp`` or ``magnification``
            (at most one; a fixed-scale model may take none).
        region: Level-0 ``(x, y, w, h)``; None for the whole slide.
        in_mpp: Resolution to read the slide at (or ``in_magnification``);
            None for level 0.
        slide_mpp: Level-0 mpp replacing the file's.
        backend: ``'auto'``, ``'openslide'`` or ``'tiffslide'``.
        tile: Output TIFF tile side (multiple of 16); the unit of
            super-resolution, caching and tissue selection.
        halo: LR halo (default: the inferencer's, or
            :func:`~pathsr.apis.default_halo`).
        batch_size: Windows of one shape per forward call (default 1).
        amp: bf16/fp16 autocast on CUDA.
        levels: Pyramid levels (default: halve until one tile holds it).
        compression: ``'jpeg'`` (``quality``) or ``'zlib'`` (lossless).
        ome: OME-TIFF with SubIFDs instead of the Aperio SVS layout
            (OpenSlide then sees level 0 only; no associated images,
            objective power or provenance).
        tissue: Super-resolve tissue tiles only (else every tile).
        thumbnail_size: Side of the thumbnail the tissue mask is made on.
        overwrite: Replace an existing ``out``.
        progress: Show a progress bar over the tissue tiles.
        max_pixels: Largest output accepted, in pixels.
        distributed: Split the tiles between the ranks of the default
            process group (every rank calls this with the same arguments
            and a model with the same weights; the ranks share the
            filesystem of ``out``). Without a process group, or with one
            rank, this is the single-process run.

    Returns:
        SlideSRResult: The output and its geometry; in a distributed run
        every rank returns rank 0's.

    Raises:
        FileNotFoundError: The slide does not exist; in a distributed run,
            tiles of other ranks that rank 0 cannot find.
        FileExistsError: ``out`` exists and ``overwrite`` is False.
        ValueError: A bad suffix, region, target, tile, compression or level
            count; a target mpp without the slide's; ranks with other settings
            or weights, or that do not see the parts folder of rank 0.
        OSError: In a distributed run, on the ranks other than 0 when rank
            0 failed to write ``out`` (rank 0 raises its own error).
    """
    if isinstance(model, SRInferencer):
        halo = model.halo if halo is None else halo
        batch_size = model.batch_size if batch_size is None else batch_size
        amp = model.amp if amp is None else amp
        model = model.model
    batch_size = 1 if batch_size is None else batch_size
    kind = model_kind(model)
    if model.training:
        raise ValueError('whole-slide SR needs the model in eval mode: call '
                         'model.eval() first')
    _, halo = tile_geometry(model, 1, halo, batch_size=batch_size)
    out = Path(out)
    if out.suffix.lower() not in TIFF_SUFFIXES:
        raise ValueError(f'the whole-slide output must be a .tif or .tiff '
                         f'file, got {out}')
    if out.resolve() == Path(slide).resolve():
        raise ValueError(f'the output {out} is the slide itself: give '
                         'another --out')
    if out.exists() and not overwrite:
        raise FileExistsError(f'{out} exists: pass overwrite=True '
                              '(--overwrite) to replace it')
    check_tiling(tile, compression)
    # a URL checkpoint (downloaded by init_model) is recorded by name only
    checkpoint_sha256 = file_sha256(checkpoint) if checkpoint is not None \
        and os.path.isfile(checkpoint) else None
    with open_slide(str(slide), backend, slide_mpp) as reader:
        x, y, width, height = _check_region(reader, region)
        if in_mpp is None and in_magnification is None:
            downsample = 1.0
        else:
            downsample = reader.target_downsample(in_mpp, in_magnification)
        lr_shape = (max(1, round(height / downsample)),
                    max(1, round(width / downsample)))
        try:
            lr_mpp = reader.mpp * downsample
        except ValueError:
            lr_mpp = None
        try:
            lr_mag = reader.objective_power / downsample
        except ValueError:
            lr_mag = None
        target = _target_scale(lr_mpp, lr_mag, scale, mpp, magnification)
        out_shape = resolve_out_shape(model, lr_shape, target, None,
                                      MAX_SLIDE_PIXELS << 20)
        if out_shape[0] * out_shape[1] > max_pixels:
            raise ValueError(
                f'the output of {slide} would be {out_shape[0]}x'
                f'{out_shape[1]} = {out_shape[0] * out_shape[1]} pixels, '
                f'more than max_pixels (--max-pixels) {max_pixels}')
        out_mpp = None if lr_mpp is None else (
            lr_mpp * lr_shape[1] / out_shape[1],
            lr_mpp * lr_shape[0] / out_shape[0])
        out_mag = None if lr_mag is None else \
            lr_mag * out_shape[1] / lr_shape[1]
        associated = {
            name: image
            for name, image in reader.associated_images().items()
            if name in ASSOCIATED
        }
        shapes = pyramid_shapes(out_shape, tile, levels)  # fail early
        rows = _axis_tiles(lr_shape[0], out_shape[0], tile, halo)
        cols = _axis_tiles(lr_shape[1], out_shape[1], tile, halo)
        if tissue:
            mask, mask_dx, mask_dy = _tile_mask(reader, thumbnail_size)

        def has_tissue(row: tuple, col: tuple) -> bool:
            if not tissue:
                return True
            top = math.floor((y + row[2] * downsample) / mask_dy)
            bottom = math.ceil((y + row[3] * downsample) / mask_dy)
            left = math.floor((x + col[2] * downsample) / mask_dx)
            right = math.ceil((x + col[3] * downsample) / mask_dx)
            return bool(mask[top:bottom, left:right].any())

        selected = [[has_tissue(r, c) for c in cols] for r in rows]
        settings = dict(
            slide=os.path.abspath(slide),
            slide_bytes=os.path.getsize(slide),
            slide_mtime=os.path.getmtime(slide),
            slide_mpp=slide_mpp,
            region=[x, y, width, height],
            downsample=downsample,
            out_shape=list(out_shape),
            tile=tile,
            halo=halo,
            tissue=[tissue, thumbnail_size],
            amp=bool(amp))
        parts = out.with_name(out.name + '.parts')
        fingerprint = _fingerprint(settings, model)

        def part_shape(i: int, j: int) -> Tuple[int, int]:
            return rows[i][5] - rows[i][4], cols[j][5] - cols[j][4]

        kept = _saved_fingerprint(parts) == fingerprint
        _check_space(
            out,
            sum(128 + 3 * math.prod(part_shape(i, j))
                for i, row in enumerate(selected)
                for j, tissue in enumerate(row) if tissue and not (
                    kept and _valid_part(parts / f'r{i}_c{j}.npy',
                                         part_shape(i, j)))), shapes)
        rank, world_size = get_dist_info() if distributed else (0, 1)
        if world_size == 1:
            _prepare_parts(parts, fingerprint, settings)
        else:
            todo = _share_tiles(parts, fingerprint, settings, selected,
                                part_shape)
            mine = contiguous_block(todo, rank, world_size)
        counts = dict(computed=0, reused=0)
        bar = None
        if progress and rank == 0:
            from tqdm import tqdm
            bar = tqdm(
                total=sum(map(sum, selected)) if world_size == 1 else
                len(mine),
                unit='tile',
                desc='SR tiles')

        def read_lr(top: int, bottom: int, left: int,
                    right: int) -> np.ndarray:
            """The LR box ``[top, bottom) x [left, right)``, uint8 RGB:
            the reader's resampling primitive at the read resolution
            (level 0 reads need no slide mpp)."""
            return reader.read_downsampled(
                (x + left * downsample, y + top * downsample),
                (right - left, bottom - top), downsample)

        def computed(row: tuple, todo: List[int]) -> Iterator[np.ndarray]:
            """The SR tiles of ``todo`` (columns) in tile row ``row``."""
            plans = [
                Tile((row[0], row[1], cols[c][0], cols[c][1]),
                     (row[2], row[3], cols[c][2], cols[c][3]),
                     (row[4], row[5], cols[c][4], cols[c][5])) for c in todo
            ]
            for batch in batch_tiles(plans, batch_size):
                crops = [
                    torch.from_numpy(read_lr(*t.window)).permute(2, 0, 1)
                    for t in batch
                ]
                inputs = model.data_preprocessor(dict(inputs=crops))['inputs']
                yield from _sr_uint8(model, kind, inputs, batch, lr_shape,
                                     out_shape, bool(amp))

        def level0() -> Iterator[np.ndarray]:
            for i, row in enumerate(rows):
                names = [parts / f'r{i}_c{j}.npy' for j in range(len(cols))]
                todo = [
                    j for j in range(len(cols)) if selected[i][j]
                    and not _valid_part(names[j], part_shape(i, j))
                ]
                fresh = computed(row, todo)
                for j in range(len(cols)):
                    if not selected[i][j]:
                        yield _upsample_lr(read_lr, row, cols[j], lr_shape,
                                           out_shape)
                        continue
                    if j in todo:
                        part = next(fresh)
                        _save_part(names[j], part)
                        counts['computed'] += 1
                    else:
                        part = np.load(names[j])
                        counts['reused'] += 1
                    if bar is not None:
                        bar.update(1)
                    yield part

        def write() -> List[Tuple[int, int]]:
            """Stream the pyramid to ``out`` (through ``<out>.tmp``) and
            remove the parts; the ``(H, W)`` of the levels."""
            provenance = {
                'pathsr': 'super-resolved by pathsr (computer-generated, '
                'not a scan)',
                'pathsr.version': __version__,
                'pathsr.date': _utc_now(),
                'pathsr.source': Path(slide).name,
                'pathsr.region': f'{x},{y},{width},{height}',
                'pathsr.read_downsample': f'{downsample:.6g}',
                'pathsr.scale': f'{out_shape[1] / lr_shape[1]:.6g}x'
                f'{out_shape[0] / lr_shape[0]:.6g}',
                'pathsr.model': type(model).__name__,
            }
            if lr_mpp is not None:
                provenance['pathsr.source_mpp'] = f'{lr_mpp:.6g}'
            if config is not None:
                provenance['pathsr.config'] = str(config)
            if checkpoint is not None:
                provenance['pathsr.checkpoint'] = str(checkpoint)
            if checkpoint_sha256 is not None:
                provenance['pathsr.checkpoint_sha256'] = checkpoint_sha256
            try:
                with atomic_path(out) as partial:
                    shapes = write_pyramid(
                        partial,
                        level0(),
                        out_shape,
                        mpp=out_mpp,
                        tile=tile,
                        levels=levels,
                        compression=compression,
                        quality=quality,
                        ome=ome,
                        magnification=out_mag,
                        description=provenance,
                        associated=associated,
                        scratch_dir=parts / 'pyramid')
            except OSError as error:
                if str(out) in str(error):
                    raise
                raise OSError(error.errno, f'cannot write {out}: '
                              f'{error}') from None
            finally:
                if bar is not None:
                    bar.close()
            shutil.rmtree(parts)
            return shapes

        def result(shapes: List[Tuple[int, int]], computed_tiles: int,
                   per_rank: Sequence[int]) -> SlideSRResult:
            tissue_tiles = sum(map(sum, selected))
            return SlideSRResult(out, lr_shape, out_shape, out_mpp, shapes,
                                 len(rows) * len(cols), tissue_tiles,
                                 computed_tiles,
                                 tissue_tiles - computed_tiles,
                                 tuple(per_rank))

        if world_size == 1:
            shapes = write()
            return result(shapes, counts['computed'], [counts['computed']])
        # distributed: each rank saves its block of tiles as parts, rank 0
        # then writes the pyramid from the parts as a resumed run does
        for i, group in itertools.groupby(mine, key=lambda ij: ij[0]):
            columns = [j for _, j in group]
            for j, part in zip(columns, computed(rows[i], columns)):
                _save_part(parts / f'r{i}_c{j}.npy', part)
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
            bar = None
        per_rank = all_gather_object(len(mine))  # every rank is done
        outcome = [None, None]  # rank 0's result, or its error
        if rank == 0:
            try:
                _check_parts(parts, todo)
                outcome[0] = result(write(), len(todo), per_rank)
            except Exception as error:
                outcome[1] = f'{type(error).__name__}: {error}'
                broadcast_object_list(outcome)
                raise
        broadcast_object_list(outcome)
        if outcome[1] is not None:
            raise OSError(f'rank 0 failed to write {out}: {outcome[1]}')
        return outcome[0]

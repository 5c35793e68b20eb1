"""Tiled super-resolution of LR images of any size, seam-free at any scale.

An LR image ``(h, w, 3)`` (uint8 RGB) becomes an output ``(H, W, 3)`` with
``(H, W)`` fixed once (:func:`resolve_out_shape`, the project's rule of
:func:`~pathsr.structures.output_shape`). The LR pixels are partitioned into
*cores*, ``tile x tile`` squares in raster order (shorter at the bottom and
right edges). Each core is read with a *halo* of ``halo`` LR pixels on every
side (clipped to the image), the *window*, and produces exactly the output
pixels it owns; the tiles are copied into the output with no overlap and no
blending, so every output pixel is computed once.

- **Ownership** (:func:`hr_span`): output row ``i`` has its centre at LR
  position ``u = (i + 1/2) h / H`` (in LR pixels from the top edge, the
  pixel-centre convention of :func:`~pathsr.structures.make_coord`); it
  belongs to the core ``[r0, r1)`` with ``r0 <= u < r1``. The test is done
  in integers, so the spans of the cores partition ``[0, H)``. For a fixed
  integer scale ``s`` (``H = s h``) the span of ``[r0, r1)`` is
  ``[s r0, s r1)``. Columns alike.
- **Implicit models** (:class:`~pathsr.models.ImplicitSRModel`): the encoder
  runs on the window (``n x m`` LR pixels from ``(a, b)``). An owned output
  pixel is queried at its *global* position expressed in the window's
  frame, ``y' = 2 (u - a) / n - 1`` (computed in float64), with the
  *global* cell ``(2 / H, 2 / W)`` (clipped above ``cell_clip_scale`` as
  the model does) expressed in the window's frame, ``(2 h / (H n),
  2 w / (W m))``. The heads then see the relative coordinates and relative
  cells (in LR pixels) of whole-image inference. Queries are decoded in
  chunks of the model's ``eval_chunk``.
- **Fixed-scale models** (:class:`~pathsr.models.FixedScaleSRModel`): the
  network runs on the window; the ``s x`` block of the core is copied from
  its output.
- :class:`~pathsr.models.InterpolationSRModel`: the owned pixels are
  interpolated from the window with the separable antialiased kernels of
  ``F.interpolate(..., antialias=True)`` (PIL's), taps restricted to the
  window.

With a halo at least the receptive field of the network (for implicit
models plus the two LR pixels of the head's 3x3 unfolding and local-ensemble
neighbour) the result equals whole-image inference up to float rounding.
:func:`default_halo` picks such a halo for convolutional networks and 32 LR
pixels for networks whose receptive field is the whole image (attention);
``docs/inference.md`` gives the reasons and the measured differences.

Memory is bounded by the pixel budget ``tile_pixels`` (LR pixels, halo
included, that one forward call sees; :func:`tile_geometry`), the model's
query chunk and the output array.
"""
import contextlib
import math
from typing import Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from pathsr.models.editors import (FixedScaleSRModel, ImplicitSRModel,
                                   InterpolationSRModel)
from pathsr.structures import MAX_OUTPUT_PIXELS, output_shape
from pathsr.utils.amp import autocast_context

#: LR pixels (halo included) one forward call may see when no tile is given:
#: 512 x 512, e.g. one 448-px core with a 32-px halo.
DEFAULT_TILE_PIXELS = 512 * 512
#: Halo of networks with a receptive field as large as the image (attention,
#: global pooling, strided U-Nets): four SwinIR windows of 8 LR pixels.
NONLOCAL_HALO = 32
#: Context the implicit heads and interpolation add to the network's own
#: receptive field: the 3x3 unfolding (1) and the local-ensemble neighbour
#: (1) of LIIF/LTE/ISTE, or the bicubic support (2).
HEAD_MARGIN = 2
#: Relative tolerance within which a requested scale is a fixed-scale
#: model's integer scale (a ratio of two mpp values is rarely exact).
SCALE_RTOL = 1e-4

_NONLOCAL_TYPES = (nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm2d,
                   nn.MultiheadAttention, nn.AdaptiveAvgPool2d,
                   nn.AdaptiveMaxPool2d, nn.AvgPool2d, nn.MaxPool2d,
                   nn.ConvTranspose2d)


class Tile(NamedTuple):
    """One tile, each box ``(top, bottom, left, right)``, ends exclusive.

    ``core``: the LR pixels it owns; ``window``: the LR pixels it reads (the
    core plus the halo, clipped to the image); ``out``: the output pixels
    it produces.
    """
    core: Tuple[int, int, int, int]
    window: Tuple[int, int, int, int]
    out: Tuple[int, int, int, int]


def model_kind(model: nn.Module) -> str:
    """``'implicit'``, ``'fixed'`` or ``'interpolation'``: how a model is
    tiled; other model types raise ``TypeError``."""
    if isinstance(model, ImplicitSRModel):
        return 'implicit'
    if isinstance(model, FixedScaleSRModel):
        if not isinstance(
                getattr(model.generator, 'upscale_factor', None), int):
            raise TypeError(
                f'{type(model.generator).__name__} has no integer '
                'upscale_factor: tiled inference needs the scale of a '
                'fixed-scale network')
        return 'fixed'
    if isinstance(model, InterpolationSRModel):
        return 'interpolation'
    raise TypeError('tiled inference supports ImplicitSRModel, '
                    'FixedScaleSRModel and InterpolationSRModel, got '
                    f'{type(model).__name__}')


def _networks(model: nn.Module) -> List[nn.Module]:
    """The modules that see the LR pixels: encoder and head, or generator."""
    kind = model_kind(model)
    if kind == 'implicit':
        return [model.encoder, model.head]
    return [model.generator] if kind == 'fixed' else []


def _is_local(module: nn.Module) -> bool:
    """Whether ``module`` alone has a small, finite receptive field: not an
    attention, token normalisation, pooling, transposed or strided
    convolution layer."""
    if isinstance(module, _NONLOCAL_TYPES):
        return False
    if 'attention' in type(module).__name__.lower():
        return False
    strided = isinstance(module, nn.Conv2d) and max(module.stride) > 1
    return not strided


def default_halo(model: nn.Module) -> int:
    """A halo (LR pixels) that makes tiled inference of ``model`` equal
    whole-image inference, or close to it.

    - Convolutional networks (every module local, see below): the sum over
      their ``Conv2d`` of ``ceil(dilation (k - 1) / 2)``, plus
      :data:`HEAD_MARGIN`. For a chain of stride-1 convolutions the sum is
      the receptive-field radius; parallel branches and convolutions at the
      output resolution only make it larger, so the bound is safe: EDSR
      (LIIF/LTE encoder) with ``B`` blocks gives ``2 B + 2`` (+ 2 for the
      LIIF head, + 4 with LTE's two 3x3 maps).
    - Networks with attention, LayerNorm/GroupNorm, pooling, transposed or
      strided convolutions (SwinIR, HAT, ISTE on SwinIR, Li et al.'s
      U-Net): :data:`NONLOCAL_HALO`. Their receptive field is the whole
      image, so tiling them is an approximation; the error decays with the
      halo (``docs/inference.md``).
    - :class:`InterpolationSRModel`: :data:`HEAD_MARGIN` (the bicubic
      support).

    :func:`tile_geometry` rounds it up to :func:`tile_alignment`.
    """
    modules = [m for net in _networks(model) for m in net.modules()]
    if not all(_is_local(m) for m in modules):
        return NONLOCAL_HALO
    radius = sum(
        max((d * (k - 1) + 1) // 2 for d, k in zip(m.dilation, m.kernel_size))
        for m in modules if isinstance(m, nn.Conv2d))
    return radius + HEAD_MARGIN


def tile_alignment(model: nn.Module) -> int:
    """The LR grid that tiles and halos are multiples of: the least common
    multiple of the network's ``window_size`` (SwinIR, HAT: windows then
    fall where whole-image inference puts them) and, for an ISTE head with
    ``stf_mode='tiled'``, its ``stf_tile_size`` (its texture-key tiles then
    coincide with the whole image's); 1 for other models."""
    align = 1
    for net in _networks(model):
        window = getattr(net, 'window_size', None)
        if isinstance(window, int) and window > 0:
            align = math.lcm(align, window)
    head = getattr(model, 'head', None)
    if getattr(head, 'stf_mode', None) == 'tiled':
        align = math.lcm(align, int(head.stf_tile_size))
    return align


def min_input_side(model: nn.Module) -> int:
    """The smallest LR side ``model`` takes: ``window // 2 + 1`` for a
    network with a ``window_size`` (SwinIR, HAT, ISTE on SwinIR reflect-pad
    the input to a multiple of the window, and a reflect pad must be
    shorter than the side it mirrors); 1 for other models."""
    side = 1
    for net in _networks(model):
        window = getattr(net, 'window_size', None)
        if isinstance(window, int) and window > 1:
            side = max(side, window // 2 + 1)
    return side


def check_input_size(model: nn.Module, lr_shape: Sequence[int]) -> None:
    """Raise ``ValueError`` naming the LR ``(h, w)`` and the minimum when a
    side is below :func:`min_input_side`."""
    minimum = min_input_side(model)
    if min(lr_shape) < minimum:
        raise ValueError(
            f'the LR image is {lr_shape[0]}x{lr_shape[1]} px but '
            f'{type(model).__name__} pads it to its attention windows by '
            f'reflection and needs at least {minimum} px per side')


def tile_geometry(model: nn.Module,
                  tile: Optional[int] = None,
                  halo: Optional[int] = None,
                  tile_pixels: int = DEFAULT_TILE_PIXELS,
                  batch_size: int = 1) -> Tuple[int, int]:
    """The core side and the halo, in LR pixels, for tiling ``model``.

    ``halo`` defaults to :func:`default_halo`. Without ``tile``, the core is
    the largest one whose windows fit the budget, ``batch_size * (tile +
    2 halo)^2 <= tile_pixels``. Both are then rounded up to a multiple of
    :func:`tile_alignment`.

    Raises:
        ValueError: ``tile < 1``, ``halo < 0``, ``batch_size < 1``, or a
            budget that leaves no core once the halo is taken.
    """
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    if halo is None:
        halo = default_halo(model)
    elif halo < 0:
        raise ValueError(f'halo must be >= 0 LR pixels, got {halo}')
    align = tile_alignment(model)
    halo = -(-halo // align) * align
    if tile is None:
        side = math.isqrt(max(int(tile_pixels) // batch_size, 0))
        tile = (side - 2 * halo) // align * align
        if tile < 1:
            raise ValueError(
                f'tile_pixels={tile_pixels} leaves no tile core: a window of '
                f'batch_size={batch_size} x {side}^2 LR pixels minus a halo '
                f'of {halo} px on each side (alignment {align}); raise '
                'tile_pixels or lower the halo')
    elif tile < 1:
        raise ValueError(f'tile must be >= 1 LR pixel, got {tile}')
    return -(-int(tile) // align) * align, int(halo)


def resolve_out_shape(model: nn.Module,
                      lr_shape: Sequence[int],
                      scale: Optional[float] = None,
                      out_shape: Optional[Sequence[int]] = None,
                      max_pixels: int = MAX_OUTPUT_PIXELS) -> Tuple[int, int]:
    """The output ``(H, W)`` of ``model`` for an LR image of ``lr_shape``.

    Exactly one of ``scale`` and ``out_shape`` (a fixed-scale model may
    take neither: its own scale). The rule is
    :func:`~pathsr.structures.output_shape`'s, ``round(h s)``.

    Raises:
        ValueError: Both are given; the scale is not a finite number > 1;
            ``out_shape`` does not enlarge the input on both axes; the output
            has more than ``max_pixels`` pixels; a fixed-scale model is asked
            for another scale or size than its own; an input smaller than
            the model takes (:func:`min_input_side`).
    """
    kind = model_kind(model)
    check_input_size(model, lr_shape)
    if scale is not None and out_shape is not None:
        raise ValueError(f'give a scale or an output size, not both (got '
                         f'scale={scale!r} and size={tuple(out_shape)})')
    height, width = (int(n) for n in lr_shape)
    if scale is None and out_shape is None:
        if kind != 'fixed':
            raise ValueError(f'{type(model).__name__} needs a scale or an '
                             'output size')
        scale = model.generator.upscale_factor
    shape = output_shape((height, width), scale, out_shape, max_pixels)
    if out_shape is not None and (shape[0] <= height or shape[1] <= width):
        raise ValueError(
            f'output size {shape[0]}x{shape[1]} does not enlarge the '
            f'{height}x{width} input on both axes (scale <= 1)')
    if kind == 'fixed':
        factor = model.generator.upscale_factor
        expected = (factor * height, factor * width)
        name = (f'{type(model).__name__} with '
                f'{type(model.generator).__name__}')
        if scale is not None and not math.isclose(
                scale, factor, rel_tol=SCALE_RTOL):
            raise ValueError(
                f'{name} is a fixed-scale x{factor} model: it cannot '
                f'super-resolve at x{scale:g}; ask for x{factor} or use an '
                'arbitrary-scale model (LIIF, LTE, ISTE)')
        if out_shape is not None and shape != expected:
            raise ValueError(
                f'{name} is a fixed-scale x{factor} model: a {height}x'
                f'{width} input gives {expected[0]}x{expected[1]}, not the '
                f'requested {shape[0]}x{shape[1]}')
        return expected
    return shape


def hr_span(start: int, stop: int, lr_len: int,
            hr_len: int) -> Tuple[int, int]:
    """Output indices ``[i0, i1)`` of an axis of ``hr_len`` output pixels
    whose centres fall in the LR pixels ``[start, stop)`` of ``lr_len``:
    ``start <= (i + 1/2) lr_len / hr_len < stop``, in exact integers."""

    def first(edge: int) -> int:  # min i with (2 i + 1) lr_len >= 2 edge H
        return max(0, -((lr_len - 2 * edge * hr_len) // (2 * lr_len)))

    return min(first(start), hr_len), min(first(stop), hr_len)


def plan_tiles(lr_shape: Sequence[int], out_shape: Sequence[int], tile: int,
               halo: int) -> List[Tile]:
    """The tiles of an ``lr_shape`` image in raster order; their ``out``
    boxes partition the ``out_shape`` output."""
    height, width = lr_shape
    tiles = []
    for top in range(0, height, tile):
        bottom = min(top + tile, height)
        out_y = hr_span(top, bottom, height, out_shape[0])
        for left in range(0, width, tile):
            right = min(left + tile, width)
            out_x = hr_span(left, right, width, out_shape[1])
            window = (max(top - halo, 0), min(bottom + halo, height),
                      max(left - halo, 0), min(right + halo, width))
            tiles.append(
                Tile((top, bottom, left, right), window, out_y + out_x))
    return tiles


def _check_image(img: np.ndarray) -> Tuple[int, int]:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 \
            or img.ndim != 3 or img.shape[2] != 3:
        desc = f'{img.dtype} {img.shape}' if isinstance(
            img, np.ndarray) else type(img).__name__
        raise ValueError(
            f'the LR image must be a uint8 RGB array (h, w, 3), got {desc}')
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f'the LR image is empty: {img.shape}')
    return img.shape[0], img.shape[1]


class _Progress:
    """tqdm's bar if installed, else mmengine's ``ProgressBar``."""

    def __init__(self, total: int) -> None:
        try:
            from tqdm import tqdm
        except ImportError:
            from mmengine.utils import ProgressBar
            self._bar, self._tqdm = ProgressBar(total), False
        else:
            self._bar = tqdm(total=total, unit='tile', desc='SR tiles')
            self._tqdm = True

    def update(self, count: int) -> None:
        if self._tqdm:
            self._bar.update(count)
        else:
            for _ in range(count):
                self._bar.update()

    def close(self) -> None:
        if self._tqdm:
            self._bar.close()


def batch_tiles(tiles: List[Tile], batch_size: int) -> Iterator[List[Tile]]:
    """Runs of consecutive tiles with windows of one shape, at most
    ``batch_size`` long (raster order is kept)."""

    def shape(tile: Tile) -> Tuple[int, int]:
        top, bottom, left, right = tile.window
        return bottom - top, right - left

    batch: List[Tile] = []
    for tile in tiles:
        if batch and (len(batch) == batch_size
                      or shape(tile) != shape(batch[0])):
            yield batch
            batch = []
        batch.append(tile)
    if batch:
        yield batch


def _window_coords(out_start: int, out_stop: int, lr_len: int, hr_len: int,
                   window_start: int, window_len: int) -> torch.Tensor:
    """``y' + 1`` for the outputs ``[out_start, out_stop)``, ``y'`` their
    centres in the ``[-1, 1]`` frame of the LR window ``[window_start,
    window_start + window_len)``: the exact fraction ``((2 i + 1) lr - 2
    start hr) / (hr n)``, rounded once (float64).

    Rounding the exact fraction once, like :func:`make_coord` and the heads
    round theirs, makes a query that falls on an LR pixel centre (every
    third output pixel at x3) land there exactly in the window's frame as in
    the image's; the local ensemble's area weights are discontinuous at
    such points, so an error of one ulp there would change the output by
    ~1e-2.
    """
    index = torch.arange(out_start, out_stop, dtype=torch.int64)
    numerator = (2 * index + 1) * lr_len - 2 * window_start * hr_len
    return numerator.double() / (hr_len * window_len)


def _implicit_tiles(
        model: ImplicitSRModel, inputs: torch.Tensor, tiles: List[Tile],
        lr_shape: Tuple[int, int], out_shape: Tuple[int, int],
        amp: contextlib.AbstractContextManager) -> Iterator[torch.Tensor]:
    height, width = lr_shape
    cell = torch.tensor([2 / out_shape[0], 2 / out_shape[1]],
                        dtype=torch.float64)
    if model.cell_clip_scale is not None:
        scale = max(out_shape[0] / height, out_shape[1] / width)
        cell = cell * max(scale / model.cell_clip_scale, 1.0)
    with amp:
        feats = model.encoder(inputs)
    for i, tile in enumerate(tiles):
        top, bottom, left, right = tile.window
        rows, cols = bottom - top, right - left
        with amp:
            state = model.head.prepare(feats[i:i + 1, :, :rows, :cols],
                                       inputs[i:i + 1, :, :rows, :cols])
        ys = _window_coords(tile.out[0], tile.out[1], height, out_shape[0],
                            top, rows).to(inputs) - 1
        xs = _window_coords(tile.out[2], tile.out[3], width, out_shape[1],
                            left, cols).to(inputs) - 1
        local_cell = cell * cell.new_tensor([height / rows, width / cols])
        local_cell = local_cell.to(inputs)
        count = len(ys) * len(xs)
        pred = inputs.new_empty(1, count, 3)
        for start in range(0, count, model.eval_chunk):
            index = torch.arange(
                start,
                min(start + model.eval_chunk, count),
                device=inputs.device)
            coord = torch.stack([ys[index // len(xs)], xs[index % len(xs)]],
                                -1)[None]
            with amp:
                pred[:, start:start + len(index)] = model.head.query(
                    state, coord, local_cell.expand_as(coord)).float()
        img = pred.view(1, len(ys), len(xs), 3).permute(0, 3, 1, 2)
        yield model.data_preprocessor.destruct(img, inplace=True)[0]


def _fixed_tiles(
        model: FixedScaleSRModel, inputs: torch.Tensor, tiles: List[Tile],
        amp: contextlib.AbstractContextManager) -> Iterator[torch.Tensor]:
    factor = model.generator.upscale_factor
    with amp:
        out = model.tensor(inputs)
    out = model.data_preprocessor.destruct(out.float())
    for i, tile in enumerate(tiles):
        top, bottom, left, right = tile.window
        if out.shape[-2] < factor * (bottom - top) or \
                out.shape[-1] < factor * (right - left):
            raise ValueError(
                f'{type(model.generator).__name__} output '
                f'{tuple(out.shape[-2:])} is smaller than x{factor} its '
                f'{bottom - top}x{right - left} input')
        y0, y1 = tile.out[0] - factor * top, tile.out[1] - factor * top
        x0, x1 = tile.out[2] - factor * left, tile.out[3] - factor * left
        yield out[i, :, y0:y1, x0:x1]


def _interp_filter(x: torch.Tensor, mode: str) -> torch.Tensor:
    """PyTorch's antialiasing kernels: triangle, or cubic with a = -0.5."""
    x = x.abs()
    if mode == 'bilinear':
        return (1 - x).clamp(min=0)
    a = -0.5
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return torch.where(x < 1, near, torch.where(x < 2, far, 0 * x))


def _interp_weights(out_start: int, out_stop: int, lr_len: int, hr_len: int,
                    window_start: int, window_stop: int,
                    mode: str) -> torch.Tensor:
    """Rows ``[out_start, out_stop)`` of the ``(hr_len, lr_len)`` resampling
    matrix of ``F.interpolate(size=hr_len, antialias=True)``, restricted to
    the LR window and renormalised (float64). PIL's rule: output ``i`` has
    its centre at ``c = (i + 1/2) lr / hr``, taps ``trunc(c - r + 1/2) <=
    j < trunc(c + r + 1/2)`` inside the image, weights ``k((j - c + 1/2) /
    max(lr / hr, 1))`` normalised, with ``r`` the kernel radius (2 for
    bicubic, 1 for bilinear) times ``max(lr / hr, 1)``."""
    ratio = lr_len / hr_len
    stretch = max(ratio, 1.0)
    radius = (2.0 if mode == 'bicubic' else 1.0) * stretch
    centre = ratio * (
        torch.arange(out_start, out_stop, dtype=torch.float64) + 0.5)
    first = torch.trunc(centre - radius + 0.5).clamp(min=0)[:, None]
    last = torch.trunc(centre + radius + 0.5).clamp(max=lr_len)[:, None]
    taps = torch.arange(window_start, window_stop, dtype=torch.float64)
    weight = _interp_filter((taps - centre[:, None] + 0.5) / stretch, mode)
    weight = weight * ((taps >= first) & (taps < last))
    return weight / weight.sum(1, keepdim=True)


def _interpolation_tiles(model: InterpolationSRModel, inputs: torch.Tensor,
                         tiles: List[Tile], lr_shape: Tuple[int, int],
                         out_shape: Tuple[int, int]) -> Iterator[torch.Tensor]:
    for i, tile in enumerate(tiles):
        top, bottom, left, right = tile.window
        wy = _interp_weights(tile.out[0], tile.out[1], lr_shape[0],
                             out_shape[0], top, bottom, model.mode)
        wx = _interp_weights(tile.out[2], tile.out[3], lr_shape[1],
                             out_shape[1], left, right, model.mode)
        crop = inputs[i, :, :bottom - top, :right - left]
        out = torch.einsum('yn,cnm,xm->cyx', wy.to(crop), crop, wx.to(crop))
        yield model.data_preprocessor.destruct(out)


@torch.no_grad()
def predict_tiles(model: nn.Module, kind: str, inputs: torch.Tensor,
                  tiles: List[Tile], lr_shape: Sequence[int],
                  out_shape: Sequence[int],
                  autocast: contextlib.AbstractContextManager
                  ) -> List[torch.Tensor]:
    """The owned output pixels ``(3, h_t, w_t)`` in ``[0, 1]`` of each of
    ``tiles``, whose windows (one shape) are stacked, normalised, in
    ``inputs``; ``kind`` is :func:`model_kind` of ``model``."""
    if kind == 'implicit':
        return _implicit_tiles(model, inputs, tiles, lr_shape, out_shape,
                               autocast)
    if kind == 'fixed':
        return _fixed_tiles(model, inputs, tiles, autocast)
    return _interpolation_tiles(model, inputs, tiles, lr_shape, out_shape)


@torch.no_grad()
def iter_sr_tiles(
        model: nn.Module,
        img: np.ndarray,
        out_shape: Sequence[int],
        tile: int,
        halo: int,
        batch_size: int = 1,
        amp: bool = False,
        progress: bool = False) -> Iterator[Tuple[Tile, torch.Tensor]]:
    """Super-resolve ``img`` tile by tile.

    Args:
        model: An :class:`ImplicitSRModel`, :class:`FixedScaleSRModel` or
            :class:`InterpolationSRModel` in eval mode.
        img: The LR image, uint8 RGB ``(h, w, 3)``.
        out_shape: The output ``(H, W)`` (:func:`resolve_out_shape`).
        tile: Core side in LR pixels (used as given).
        halo: Halo in LR pixels (used as given).
        batch_size: Windows of one shape run through the network together.
        amp: bf16/fp16 autocast on CUDA (ignored with a warning on the CPU).
        progress: Show a progress bar over the tiles.

    Yields:
        ``(tile, pred)`` in raster order, ``pred`` the ``(3, y1 - y0, x1 -
        x0)`` float output of ``tile.out`` in ``[0, 1]``, on the model's
        device.
    """
    kind = model_kind(model)
    if model.training:
        raise ValueError('tiled inference needs the model in eval mode: call '
                         'model.eval() first')
    lr_shape = _check_image(img)
    check_input_size(model, lr_shape)
    out_shape = (int(out_shape[0]), int(out_shape[1]))
    if kind == 'fixed':
        factor = model.generator.upscale_factor
        if out_shape != (factor * lr_shape[0], factor * lr_shape[1]):
            raise ValueError(
                f'a fixed-scale x{factor} model makes {factor * lr_shape[0]}'
                f'x{factor * lr_shape[1]} from {lr_shape[0]}x{lr_shape[1]}, '
                f'not {out_shape[0]}x{out_shape[1]}')
    if tile < 1 or halo < 0 or batch_size < 1:
        raise ValueError('tile and batch_size must be >= 1 and halo >= 0, '
                         f'got {tile}, {batch_size} and {halo}')
    tiles = plan_tiles(lr_shape, out_shape, tile, halo)
    device = model.data_preprocessor.device
    autocast = autocast_context(device, amp)
    bar = _Progress(len(tiles)) if progress else None
    try:
        for batch in batch_tiles(tiles, batch_size):
            crops = [
                torch.from_numpy(
                    np.ascontiguousarray(
                        img[t.window[0]:t.window[1],
                            t.window[2]:t.window[3]])).permute(2, 0, 1)
                for t in batch
            ]
            inputs = model.data_preprocessor(dict(inputs=crops))['inputs']
            preds = predict_tiles(model, kind, inputs, batch, lr_shape,
                                  out_shape, autocast)
            for t, pred in zip(batch, preds):
                yield t, pred
            if bar is not None:
                bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()


def tiled_sr(model: nn.Module,
             img: np.ndarray,
             scale: Optional[float] = None,
             out_shape: Optional[Sequence[int]] = None,
             tile: Optional[int] = None,
             halo: Optional[int] = None,
             tile_pixels: int = DEFAULT_TILE_PIXELS,
             batch_size: int = 1,
             amp: bool = False,
             progress: bool = False,
             max_pixels: int = MAX_OUTPUT_PIXELS,
             out_dtype: type = np.uint8) -> np.ndarray:
    """Super-resolve the uint8 RGB ``img`` ``(h, w, 3)`` in tiles.

    The output size comes from ``scale`` or ``out_shape``
    (:func:`resolve_out_shape`), the core and halo from ``tile``, ``halo``,
    ``tile_pixels`` and ``batch_size`` (:func:`tile_geometry`); see
    :func:`iter_sr_tiles` for the other arguments.

    Returns:
        np.ndarray: ``(H, W, 3)`` RGB, uint8 (``round(255 x)``) or, with
        ``out_dtype=np.float32``, floats in ``[0, 1]``.
    """
    if out_dtype not in (np.uint8, np.float32):
        raise ValueError(f'out_dtype must be np.uint8 or np.float32, got '
                         f'{out_dtype}')
    lr_shape = _check_image(img)
    shape = resolve_out_shape(model, lr_shape, scale, out_shape, max_pixels)
    tile, halo = tile_geometry(model, tile, halo, tile_pixels, batch_size)
    out = np.empty((*shape, 3), out_dtype)
    for t, pred in iter_sr_tiles(model, img, shape, tile, halo, batch_size,
                                 amp, progress):
        pred = pred.permute(1, 2, 0)
        if out_dtype == np.uint8:
            pred = torch.round(pred * 255).to(torch.uint8)
        out[t.out[0]:t.out[1], t.out[2]:t.out[3]] = pred.cpu().numpy()
    return out

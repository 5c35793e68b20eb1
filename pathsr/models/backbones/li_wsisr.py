"""WSISR generator of Li et al. (Medical Image Analysis 68:101938, 2021).

B. Li, A. Keikhosravi, A. G. Loeffler, K. W. Eliceiri, "Single image
super-resolution for whole slide image using convolutional neural networks and
self-supervised color normalization". The pathology-specific fixed-scale CNN
baseline of the ISTE paper. Written from the facts collected in
``reference/models.md`` (section 10) and the layer list of the public demo
repository uw-loci/demo_wsi_superres (``models.py``).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from pathsr.registry import MODELS


class _ConvBlock(nn.Module):
    """conv kxk (bias) -> PReLU (one shared slope) -> conv 1x1 (no bias)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1, padding: int = 1) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                               padding)
        self.act = nn.PReLU()
        self.conv1 = nn.Conv2d(out_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(self.act(self.conv0(x)))


class _DownBlock(nn.Module):
    """PReLU(ConvBlock 4x4 stride 2 pad 1 + conv 1x1 stride 2 (no bias)).

    Halves an even height/width exactly: ``(B, cin, H, W) -> (B, cout, H/2,
    W/2)``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = _ConvBlock(in_channels, out_channels, 4, 2, 1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1, 2, bias=False)
        self.act = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x) + self.skip(x))


class _UpBlock(nn.Module):
    """bilinear x2 (align_corners=True) -> ConvBlock 3x3 + conv 1x1 (no bias).

    ``(B, cin, H, W) -> (B, cout, 2H, 2W)``; no activation after the sum.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = _ConvBlock(in_channels, out_channels, 3, 1, 1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(
            x, scale_factor=2, mode='bilinear', align_corners=True)
        return self.conv(x) + self.skip(x)


class _PixBlock(nn.Module):
    """conv 1x1 (with bias) to ``4 * out_channels`` -> PixelShuffle(2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels * 4, 1)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


def reflect_pad_bottom_right(x: torch.Tensor, pad_h: int,
                             pad_w: int) -> torch.Tensor:
    """Reflect-pad ``x`` by ``pad_h`` rows at the bottom, ``pad_w`` columns at
    the right.

    PyTorch's reflect padding needs ``pad < size``; larger pads (tiny
    images) are done in several reflect steps, and a side of length 1 is
    replicated.
    """
    while pad_h > 0 or pad_w > 0:
        h, w = x.shape[-2:]
        step_h = min(pad_h, h - 1)
        step_w = min(pad_w, w - 1)
        if (pad_h > 0 and step_h == 0) or (pad_w > 0 and step_w == 0):
            # a side of length 1 cannot be reflected
            return F.pad(x, (0, pad_w, 0, pad_h), mode='replicate')
        x = F.pad(x, (0, step_w, 0, step_h), mode='reflect')
        pad_h -= step_h
        pad_w -= step_w
    return x


@MODELS.register_module()
class LiWSISR(BaseModule):
    """Li et al. WSISR generator: ``(B, 3, h, w) -> (B, 3, s*h, s*w)``.

    A U-Net-like encoder/decoder that works at output resolution:

    1. the LR input is upsampled bilinearly (``align_corners=False``) to
       ``(H, W) = (s*h, s*w)`` (:meth:`upsample_input`);
    2. it is reflect-padded at the bottom/right to a multiple of 16 (four
       stride-2 downs) and run through the U-Net (:meth:`forward_unet`);
    3. the output is cropped back to ``(H, W)`` (2 and 3 are
       :meth:`forward_hr`).

    Layers, with ``b = base_channels`` (32: channels 64, 128, 256, 512) and the
    spatial size for a padded ``P x P`` input (``P`` = 224 in the paper)::

        ConvBlock(k)  = conv kxk (bias) -> PReLU -> conv 1x1 (no bias)
        DownBlock     = PReLU(ConvBlock(4, stride 2, pad 1) + 1x1 stride 2)
        UpBlock       = bilinear x2 -> ConvBlock(3) + conv 1x1 (no bias)

        d0 = down0(x)                    3 -> 2b   P/2
        d1 = down1(d0)                  2b -> 4b   P/4
        d2 = down2(d1)                  4b -> 8b   P/8
        d3 = down3(d2)                  8b -> 16b  P/16
        s0 = skip0(d0)   ConvBlock(3)   2b -> 4b   P/2
        s1 = skip1(d1)   ConvBlock(3)   4b -> 8b   P/4
        s2 = skip2(d2)   ConvBlock(3)   8b -> 16b  P/8
        u0 = up0(d3)                   16b -> 8b   P/8
        u1 = up1([u0 ; d2] + s2)       16b -> 4b   P/4
        u2 = up2([u1 ; d1] + s1)        8b -> 2b   P/2
        y  = pix([u2 ; d0] + s0)  conv 1x1 4b -> 12, PixelShuffle(2) -> 3, P

    At ``b = 32`` this is 7,388,122 parameters, whatever the scale (the scale
    only changes the input interpolation).

    Assumptions (details the paper facts leave open, taken from the public
    demo code or chosen so that the shapes agree):

    - ``base_channel = 32`` *is* used: the listed channels 64..512 are
      ``2b, 4b, 8b, 16b``.
    - ``[u ; d] + s``: ``u`` and ``d`` are concatenated along the channels
      and the skip adapter output ``s`` (which has twice the channels of
      ``d``, i.e. as many as the concatenation) is *added*. So up1 takes
      16b = 512 channels to 4b = 128, up2 takes 8b = 256 to 2b = 64 and
      the PixBlock takes 4b = 128.
    - PReLU has a single slope shared by all channels (``nn.PReLU()``), a
      separate one in every ConvBlock and DownBlock.
    - The 4x4 stride-2 convolution has padding 1, so it halves an even size
      exactly, as does the 1x1 stride-2 skip.
    - The bilinear x2 of the up path uses ``align_corners=True`` (as in the
      public code); the input upsampling uses ``align_corners=False``.
    - No normalisation layers (norm=None), PyTorch default initialisation.

    Differences from the paper's pipeline (documented omissions):

    - The network gets the *LR* image and upsamples it itself; the Gaussian
      blur of radius ``(s - 1) / 2`` is a data-pipeline matter (here
      ``BicubicDegradation(blur=True)``, the ISTE protocol: blur the HR,
      then bicubic down). The original demo instead downscales, resizes
      back bilinearly and blurs the upsampled image.
    - The paper's self-supervised colour normalisation is omitted: it is
      not in the public code.
    - The optional PatchGAN discriminator is not implemented: this is the
      pure-L1 mode (``--gan 0`` of the official script).

    Args:
        upscale_factor: Integer scale ``s`` (2, 4, 8, ...; any integer >= 1
            works, the U-Net itself is scale-agnostic).
        base_channels: ``b`` above. Defaults to 32 (the paper).
        in_channels: Image channels, input and output. Defaults to 3.
        init_cfg: MMEngine initialisation config.
    """

    #: the U-Net input must be a multiple of this (4 stride-2 downs)
    size_divisor = 16

    def __init__(self,
                 upscale_factor: int = 4,
                 base_channels: int = 32,
                 in_channels: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if int(upscale_factor) != upscale_factor or upscale_factor < 1:
            raise ValueError('LiWSISR needs a positive integer '
                             f'upscale_factor, got {upscale_factor!r}')
        self.upscale_factor = int(upscale_factor)
        b = base_channels
        self.down0 = _DownBlock(in_channels, 2 * b)
        self.down1 = _DownBlock(2 * b, 4 * b)
        self.down2 = _DownBlock(4 * b, 8 * b)
        self.down3 = _DownBlock(8 * b, 16 * b)
        self.skip0 = _ConvBlock(2 * b, 4 * b, 3, 1, 1)
        self.skip1 = _ConvBlock(4 * b, 8 * b, 3, 1, 1)
        self.skip2 = _ConvBlock(8 * b, 16 * b, 3, 1, 1)
        self.up0 = _UpBlock(16 * b, 8 * b)
        self.up1 = _UpBlock(16 * b, 4 * b)
        self.up2 = _UpBlock(8 * b, 2 * b)
        self.pix = _PixBlock(4 * b, in_channels)

    def upsample_input(self, x: torch.Tensor) -> torch.Tensor:
        """Bilinear ``(B, C, h, w) -> (B, C, s*h, s*w)`` (align_corners=False).
        """
        h, w = x.shape[-2:]
        s = self.upscale_factor
        return F.interpolate(
            x, size=(s * h, s * w), mode='bilinear', align_corners=False)

    def forward_unet(self, x: torch.Tensor) -> torch.Tensor:
        """The U-Net on ``(B, C, H, W)`` with ``H``, ``W`` multiples of 16."""
        if x.shape[-2] % self.size_divisor or x.shape[-1] % self.size_divisor:
            raise ValueError('LiWSISR.forward_unet needs a height and width '
                             f'that are multiples of {self.size_divisor}, got '
                             f'{tuple(x.shape[-2:])}')
        d0 = self.down0(x)
        d1 = self.down1(d0)
        d2 = self.down2(d1)
        d3 = self.down3(d2)
        u0 = self.up0(d3)
        u1 = self.up1(torch.cat((u0, d2), 1) + self.skip2(d2))
        u2 = self.up2(torch.cat((u1, d1), 1) + self.skip1(d1))
        return self.pix(torch.cat((u2, d0), 1) + self.skip0(d0))

    def pad_sizes(self, height: int, width: int) -> Tuple[int, int]:
        """Rows and columns added at the bottom/right before the U-Net."""
        m = self.size_divisor
        return (-height) % m, (-width) % m

    def forward_hr(self, x: torch.Tensor) -> torch.Tensor:
        """The network on an image already at output size ``(B, C, H, W)``:
        reflect-pad to a multiple of 16, U-Net, crop back to ``(H, W)``."""
        h, w = x.shape[-2:]
        pad_h, pad_w = self.pad_sizes(h, w)
        if pad_h or pad_w:
            x = reflect_pad_bottom_right(x, pad_h, pad_w)
        return self.forward_unet(x)[..., :h, :w]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_hr(self.upsample_input(x))

"""Low-frequency colour correction of an SR output against its LR input.

SR networks can drift in colour (a global cast, a slow shift of the H&E
hues) while the LR input holds the right colour at low spatial frequencies.
:func:`correct_color` keeps the SR's high frequencies and takes the low
ones from the LR, per RGB channel::

    out = SR + G_sigma * up(LR) - G_sigma * SR,    sigma = sigma_factor * s

``up`` is bicubic upsampling of the LR to the SR size (torch, float, the
pixel-centre convention of the models), ``G_sigma *`` a Gaussian blur
(OpenCV, kernel +-4 sigma, reflected borders) of ``sigma`` HR pixels and
``s`` the scale (the mean of the two axes' ratios). With the default
``sigma = s`` the blur passes 29% of the amplitude at half the LR Nyquist
frequency and under 1% at the LR Nyquist frequency, so what is replaced is
the band that the LR image does resolve. The correction is linear in RGB,
so an SR whose blur already equals the LR's is returned unchanged and a
constant colour cast is removed exactly (up to clipping to ``[0, 255]``);
RGB is used rather than Lab because the blur of a low-pass band is the same
in both for the smooth drifts it targets and RGB needs no gamut round trip.
Shapes: uint8 SR ``(H, W, 3)``, uint8 LR ``(h, w, 3)``, uint8 output
``(H, W, 3)``; the work is float32, one channel at a time.
"""
import cv2
import numpy as np
import torch
import torch.nn.functional as F


def correct_color(sr: np.ndarray,
                  lr: np.ndarray,
                  sigma_factor: float = 1.0) -> np.ndarray:
    """Replace the low frequencies of ``sr`` by those of the upsampled
    ``lr`` (see the module docstring).

    Args:
        sr: The SR output, uint8 RGB ``(H, W, 3)``.
        lr: Its LR input, uint8 RGB ``(h, w, 3)`` with ``h <= H``,
            ``w <= W``.
        sigma_factor: Gaussian sigma in units of the scale (HR pixels per
            LR pixel). Defaults to 1.

    Returns:
        np.ndarray: The corrected uint8 RGB ``(H, W, 3)`` image.
    """
    for name, img in (('sr', sr), ('lr', lr)):
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 \
                or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'correct_color: {name} must be a uint8 RGB '
                             f'array (h, w, 3), got '
                             f'{getattr(img, "dtype", type(img).__name__)} '
                             f'{getattr(img, "shape", "")}')
    if not sigma_factor > 0:
        raise ValueError(
            f'sigma_factor must be positive, got {sigma_factor!r}')
    height, width = sr.shape[:2]
    lr_h, lr_w = lr.shape[:2]
    if lr_h > height or lr_w > width:
        raise ValueError(f'correct_color: the LR image {lr.shape[:2]} is '
                         f'larger than the SR image {sr.shape[:2]}')
    sigma = sigma_factor * (height / lr_h + width / lr_w) / 2
    lr_tensor = torch.from_numpy(lr).permute(2, 0, 1).float()[None]
    out = np.empty_like(sr)
    for c in range(3):
        up = F.interpolate(
            lr_tensor[:, c:c + 1],
            size=(height, width),
            mode='bicubic',
            align_corners=False)[0, 0].numpy()
        channel = sr[..., c].astype(np.float32)
        low_lr = cv2.GaussianBlur(
            up, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
        low_sr = cv2.GaussianBlur(
            channel, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
        out[..., c] = np.clip(
            np.rint(channel + low_lr - low_sr), 0, 255).astype(np.uint8)
    return out

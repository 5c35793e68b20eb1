# EDSR-baseline (16 residual blocks x 64 channels, res_scale 1) on H&E tiles,
# the EDSR recipe: 192 px HR patches, batch 16, L1, Adam 1e-4, 300k iterations.
_base_ = [
    '../_base_/datasets/histo_sr.py', '../_base_/schedules/adam_300k.py',
    '../_base_/default_runtime.py'
]

scale = 4
model = dict(
    type='FixedScaleSRModel',
    generator=dict(type='EDSR', arch='baseline', upscale_factor=scale),
    pixel_loss=dict(type='L1Loss'),
    # the original EDSR subtracts the DIV2K RGB mean; std 1 keeps [0, 1] units
    data_preprocessor=dict(
        type='SRDataPreprocessor',
        mean=(0.4488, 0.4371, 0.4040),
        std=(1., 1., 1.)))

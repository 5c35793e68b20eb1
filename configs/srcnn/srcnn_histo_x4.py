# SRCNN 9-5-5 on RGB (reference A17): the LR is bicubic-upsampled inside the
# network, then refined by three convolutions. Trained like the other
# baselines (L1, Adam 1e-4) rather than with the paper's SGD/MSE.
_base_ = [
    '../_base_/datasets/histo_sr.py', '../_base_/schedules/adam_300k.py',
    '../_base_/default_runtime.py'
]

scale = 4
model = dict(
    type='FixedScaleSRModel',
    generator=dict(type='SRCNN', upscale_factor=scale),
    pixel_loss=dict(type='L1Loss'),
    data_preprocessor=dict(type='SRDataPreprocessor'))

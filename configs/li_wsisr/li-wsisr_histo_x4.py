# WSISR generator of Li et al. (MIA 2021), the pathology-specific CNN baseline
# of ISTE, in its pure-L1 mode (`--gan 0` of the official script; the
# PatchGAN and the paper's self-supervised colour normalisation are omitted).
# The LR is bilinearly upsampled inside the network; the LR is made by the
# ISTE/Li protocol: Gaussian blur of radius (s-1)/2, then bicubic downscaling.
_base_ = ['../_base_/datasets/histo_sr.py', '../_base_/default_runtime.py']

scale = 4
model = dict(
    type='FixedScaleSRModel',
    generator=dict(type='LiWSISR', upscale_factor=scale),
    pixel_loss=dict(type='L1Loss'),
    data_preprocessor=dict(type='SRDataPreprocessor'))

# 224-px HR patches as in the paper (divisible by 2, 4 and 8, and the
# upsampled LR is a multiple of 16, so training needs no padding).
train_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(type='RandomCrop', crop_size=224, keys=['gt']),
    dict(type='RandomFlipTranspose', keys=['gt']),
    dict(type='BicubicDegradation', blur=True),
    dict(type='PackSRInputs'),
]
val_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(type='BicubicDegradation', blur=True),
    dict(type='PackSRInputs'),
]
train_dataloader = dict(
    batch_size=32, dataset=dict(scale=scale, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(scale=scale, pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(scale=scale, pipeline=val_pipeline))

# The paper's optimiser: Adam 1e-4, cosine annealing to 5% of the lr. The
# paper trains 900 epochs of its TMA split; epochs of an unknown dataset do
# not map to iterations, so we use the 300k iterations of the other
# baselines and anneal over all of them.
max_iters = 300_000
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999), eps=1e-8))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters,
        eta_min=5e-6,
        by_epoch=False,
        begin=0,
        end=max_iters)
]

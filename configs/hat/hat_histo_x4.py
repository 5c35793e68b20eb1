# HAT (embed 180, 6 RHAG x 6 HAB + OCAB, window 16) as a fixed-scale baseline
# on H&E tiles, with the HAT x2-from-scratch recipe: L1, Adam 2e-4 with
# betas (0.9, 0.99), 500k iterations halved at 250k/400k/450k/475k, EMA
# 0.999, total batch 32, 64 px LR patches. HAT fine-tunes x3/x4 from the x2
# weights (lr 1e-4, 250k iterations); these configs train every scale from
# scratch (set `load_from` to fine-tune).
_base_ = [
    '../_base_/datasets/histo_sr.py', '../_base_/default_runtime.py',
    '../_base_/ema.py'
]

scale = 4
model = dict(
    type='FixedScaleSRModel',
    generator=dict(type='HAT', arch='paper', upscale_factor=scale),
    pixel_loss=dict(type='L1Loss'),
    # HAT subtracts the DIV2K RGB mean; std 1 keeps [0, 1] units. HAT pads
    # its input to a multiple of the window (16) itself.
    data_preprocessor=dict(
        type='SRDataPreprocessor',
        mean=(0.4488, 0.4371, 0.4040),
        std=(1., 1., 1.),
        pad_size_divisor=1))

# HR patch = 64 * scale: the recipe fixes the 64 px LR patch
train_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(type='RandomCrop', lr_crop_size=64, keys=['gt']),
    dict(type='RandomFlipTranspose', keys=['gt']),
    dict(type='BicubicDegradation'),
    dict(type='PackSRInputs'),
]
# HAT: total batch 32 = 4 per GPU x 8 GPUs (`tools/dist_train.sh CONFIG 8`);
# on N GPUs set batch_size=32 // N
train_dataloader = dict(
    batch_size=4, dataset=dict(scale=scale, pipeline=train_pipeline))

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=500_000, val_interval=5000)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.99), weight_decay=0.))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        milestones=[250_000, 400_000, 450_000, 475_000],
        gamma=0.5)
]

# Classical SwinIR (embed 180, 6 RSTB x 6 blocks, window 8) as a fixed-scale
# baseline on H&E tiles, with the KAIR/SwinIR recipe: L1, Adam 2e-4,
# 500k iterations halved at 250k/400k/450k/475k, EMA 0.999, total batch 32.
# SwinIR trains x2 from scratch on 48 px LR patches and fine-tunes x3/x4 from
# x2 with the learning rate and milestones halved; these configs train every
# scale from scratch on 48 px LR patches (set `load_from` to fine-tune).
_base_ = [
    '../_base_/datasets/histo_sr.py', '../_base_/default_runtime.py',
    '../_base_/ema.py'
]

scale = 4
model = dict(
    type='FixedScaleSRModel',
    generator=dict(type='SwinIR', arch='classical', upscale_factor=scale),
    pixel_loss=dict(type='L1Loss'),
    # SwinIR subtracts the DIV2K RGB mean; std 1 keeps [0, 1] units
    data_preprocessor=dict(
        type='SRDataPreprocessor',
        mean=(0.4488, 0.4371, 0.4040),
        std=(1., 1., 1.)))

# HR patch = 48 * scale: the recipe fixes the 48 px LR patch
train_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(type='RandomCrop', lr_crop_size=48, keys=['gt']),
    dict(type='RandomFlipTranspose', keys=['gt']),
    dict(type='BicubicDegradation'),
    dict(type='PackSRInputs'),
]
# KAIR: total batch 32 = 4 per GPU x 8 GPUs (`tools/dist_train.sh CONFIG 8`);
# on N GPUs set batch_size=32 // N
train_dataloader = dict(
    batch_size=4, dataset=dict(scale=scale, pipeline=train_pipeline))

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=500_000, val_interval=5000)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999), eps=1e-8))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        milestones=[250_000, 400_000, 450_000, 475_000],
        gamma=0.5)
]

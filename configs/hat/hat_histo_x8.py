_base_ = './hat_histo_x4.py'

scale = 8
model = dict(generator=dict(upscale_factor=scale))
# LR patch 32 (HR 256): the smallest LR patch of whole 16 px windows
train_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(type='RandomCrop', lr_crop_size=32, keys=['gt']),
    dict(type='RandomFlipTranspose', keys=['gt']),
    dict(type='BicubicDegradation'),
    dict(type='PackSRInputs'),
]
train_dataloader = dict(dataset=dict(scale=scale, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(scale=scale))
test_dataloader = dict(dataset=dict(scale=scale))

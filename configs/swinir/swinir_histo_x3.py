_base_ = './swinir_histo_x4.py'

scale = 3
model = dict(generator=dict(upscale_factor=scale))
# HR patch = 48 * scale
train_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(type='RandomCrop', crop_size=144, keys=['gt']),
    dict(type='RandomFlipTranspose', keys=['gt']),
    dict(type='BicubicDegradation'),
    dict(type='PackSRInputs'),
]
train_dataloader = dict(dataset=dict(scale=scale, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(scale=scale))
test_dataloader = dict(dataset=dict(scale=scale))

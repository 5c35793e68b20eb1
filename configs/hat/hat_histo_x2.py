_base_ = './hat_histo_x4.py'

scale = 2
model = dict(generator=dict(upscale_factor=scale))
# HR patch = 64 * scale (HAT's gt_size 128)
train_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(type='RandomCrop', crop_size=128, keys=['gt']),
    dict(type='RandomFlipTranspose', keys=['gt']),
    dict(type='BicubicDegradation'),
    dict(type='PackSRInputs'),
]
train_dataloader = dict(dataset=dict(scale=scale, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(scale=scale))
test_dataloader = dict(dataset=dict(scale=scale))

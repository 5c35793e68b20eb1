# The built-in demo: a small EDSR (4 blocks x 32 channels) trained for 600
# iterations on the ten H&E crops shipped in demo/histo_demo, a few minutes on
# a CPU. `bash tools/demo.sh` trains it and compares it with Bicubic.
_base_ = './edsr-baseline_histo_x4.py'

data_root = 'demo/histo_demo'
model = dict(
    generator=dict(arch=None, num_blocks=4, mid_channels=32, res_scale=1.0))
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        pipeline=[
            dict(type='LoadSRImage', key='gt'),
            dict(type='RandomCrop', crop_size=96, keys=['gt']),
            dict(type='RandomFlipTranspose', keys=['gt']),
            dict(type='BicubicDegradation'),
            dict(type='PackSRInputs'),
        ]))
val_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))

train_cfg = dict(max_iters=600, val_interval=300)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[450], gamma=0.5)
]
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=300))

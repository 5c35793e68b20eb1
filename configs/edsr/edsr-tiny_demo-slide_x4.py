# "From slides to a trained model" on the demo slides: the small EDSR of the
# demo trained on real 40x HR / 10x LR patch pairs cut from pyramidal TIFFs by
# tools/dataset_converters/slides_to_patches.py (README).
_base_ = [
    '../_base_/datasets/slide_patches_paired.py',
    '../_base_/schedules/adam_300k.py', '../_base_/default_runtime.py'
]

data_root = 'work_dirs/demo_patches'
scale = 4
model = dict(
    type='FixedScaleSRModel',
    generator=dict(
        type='EDSR',
        arch=None,
        num_blocks=4,
        mid_channels=32,
        res_scale=1.0,
        upscale_factor=scale),
    pixel_loss=dict(type='L1Loss'),
    data_preprocessor=dict(
        type='SRDataPreprocessor',
        mean=(0.4488, 0.4371, 0.4040),
        std=(1., 1., 1.)))
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, scale=scale))
val_dataloader = dict(
    num_workers=0, dataset=dict(data_root=data_root, scale=scale))
test_dataloader = dict(
    num_workers=0, dataset=dict(data_root=data_root, scale=scale))

train_cfg = dict(max_iters=200, val_interval=100)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[150], gamma=0.5)
]
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=100))

# The MiHATP demo: a tiny MiHATP (HAT 'demo' size: embed 32, 2 groups of 2
# M-HABs, window 8) trained for 200 iterations on the H&E crops of
# demo/histo_demo (64 px HR crops, bicubic LR) with the full dual-branch loss,
# then tested at x4 (a few minutes on a CPU). The VGG19 of the contrastive
# loss is RANDOMLY INITIALISED here (explicit random_init, with a warning)
# because a fresh machine has no ImageNet weights: the demo exercises the
# pipeline, not the paper's feature space.
_base_ = './mihatp_coad_x4.py'

data_root = 'demo/histo_demo'
model = dict(
    generator=dict(
        arch='demo',
        drop_path_rate=0.,
        block_cfg=dict(
            dat_cfg=dict(offset_groups=2, kv_stride=2, rpe_table_size=16))),
    contrastive_loss=dict(
        extractor=dict(layers=('relu1_1', 'relu2_1'), random_init=True)))

_patch_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(type='RandomCrop', crop_size=64, keys=['gt']),
    dict(type='RandomFlipTranspose', keys=['gt']),
    dict(type='BicubicDegradation'),
    dict(type='PackSRInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=_patch_pipeline))
val_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))

train_cfg = dict(max_iters=200, val_interval=100)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[150], gamma=0.5)
]
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=100))

# ISTE on the arbitrary-scale demo (demo/histo_demo H&E crops, s ~ U(1, 4),
# tested at x2, x3, x4, x6, x8): the LIIF demo's data, a small
# SwinIR encoder (arch 'demo': embed 32, 2 groups of 2 blocks, window 8;
# features 32 channels) and a small head (LFI 4 heads, maps/fusion 64
# channels, decoders 128 x 2). The STF tiles and keys keep the paper's sizes
# (48-px tiles, 2304 keys). 200 iterations of batch 4, Adam 5e-4 halved at
# 150: about 4 minutes on one CPU core.
_base_ = [
    '../_base_/models/iste-swinir.py', '../_base_/datasets/histo_implicit.py',
    '../_base_/default_runtime.py'
]

data_root = 'demo/histo_demo'
model = dict(
    encoder=dict(arch='demo', mid_channels=32),
    head=dict(
        hidden_dim=64,
        lfi_heads=4,
        pixel_decoder=dict(hidden_list=[128, 128]),
        texture_decoder=dict(hidden_list=[128, 128])))
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
# no FID in the demo (it needs the Inception weights)
test_evaluator = [
    dict(type='PSNR', crop_border='scale+6'),
    dict(type='SSIM', crop_border='scale+6'),
]

train_cfg = dict(type='IterBasedTrainLoop', max_iters=200, val_interval=100)
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[150], gamma=0.5)
]
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=100))

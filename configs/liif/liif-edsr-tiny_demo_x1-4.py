# The arbitrary-scale demo: LIIF on a small EDSR encoder (4 blocks x 32
# channels, MLP 128 x 2) trained for 400 iterations on the H&E crops of
# demo/histo_demo at s ~ U(1, 4), tested at x2, x3, x4, x6, x8 (a few minutes
# on a CPU). Compare with configs/bicubic/bicubic_demo_x1-4.py.
_base_ = [
    '../_base_/models/liif-edsr-baseline.py',
    '../_base_/datasets/histo_implicit.py', '../_base_/default_runtime.py'
]

data_root = 'demo/histo_demo'
model = dict(
    encoder=dict(
        arch=None, num_blocks=4, mid_channels=32, res_scale=1.0),
    head=dict(imnet=dict(hidden_list=[128, 128])))
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
# no FID in the demo: it needs the Inception weights, which a fresh machine
# lacks (add dict(type='FID', weights_path=...) between PSNR and SSIM)
test_evaluator = [
    dict(type='PSNR', crop_border='scale+6'),
    dict(type='SSIM', crop_border='scale+6'),
]

train_cfg = dict(type='IterBasedTrainLoop', max_iters=400, val_interval=200)
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[300], gamma=0.5)
]
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=200))

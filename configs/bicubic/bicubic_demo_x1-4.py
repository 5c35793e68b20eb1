# Bicubic at any scale (PIL kernel) under the arbitrary-scale demo protocol,
# the baseline of configs/liif/liif-edsr-tiny_demo_x1-4.py:
# python tools/test.py configs/bicubic/bicubic_demo_x1-4.py
_base_ = [
    '../_base_/datasets/histo_implicit.py', '../_base_/default_runtime.py'
]

data_root = 'demo/histo_demo'
model = dict(
    type='InterpolationSRModel',
    mode='bicubic',
    data_preprocessor=dict(type='SRDataPreprocessor'))
train_dataloader = None  # nothing to train
val_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root))
# no FID in the demo: it needs the Inception weights, which a fresh machine
# lacks (add dict(type='FID', weights_path=...) between PSNR and SSIM)
test_evaluator = [
    dict(type='PSNR', crop_border='scale+6'),
    dict(type='SSIM', crop_border='scale+6'),
]

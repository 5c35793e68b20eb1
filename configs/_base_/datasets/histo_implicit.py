# Arbitrary-scale SR on H&E tiles, the protocol of the ISTE code.
#
# Training: s ~ U(1, 4) per sample, a round(48 s) HR patch, its 48x48 LR made
# by the ISTE / Li et al. degradation (PIL Gaussian blur of radius (s-1)/2,
# then PIL bicubic), flips/transpose; the model samples 2304 HR pixels as
# queries. Testing: the whole image at each scale of MultiScaleTestLoop (x2,
# x3, x4 in distribution, x6, x8 out of distribution), LR made by the same
# degradation, RGB PSNR/SSIM with ceil(s) + 6 border pixels removed.
# docs/protocol.md explains each choice. For the LIIF protocol set blur=False.
data_root = 'data/histo'

train_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(
        type='RandomScaleDegradation',
        lr_size=48,
        scale_min=1.0,
        scale_max=4.0,
        blur=True),
    dict(type='RandomFlipTranspose', keys=['lr', 'gt']),
    dict(type='PackSRInputs'),
]
test_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(type='BicubicDegradation', blur=True),
    dict(type='PackSRInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='SRFolderDataset',
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
# validation during training: whole val images at x4
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='SRFolderDataset',
        data_root=data_root,
        split='val',
        scale=4,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))

val_evaluator = [
    dict(type='PSNR', crop_border='scale+6'),
    dict(type='SSIM', crop_border='scale+6'),
]
# the ISTE Table 1 layout: PSNR, FID, SSIM. FID needs pytorch-fid's Inception
# weights (pt_inception-2015-12-05-6726825d.pth) in the torch hub cache or at
# weights_path; it is computed on 256-px crops of the SR and HR images.
test_evaluator = [
    dict(type='PSNR', crop_border='scale+6'),
    dict(type='FID', crop_size=256, weights_path=None),
    dict(type='SSIM', crop_border='scale+6'),
]
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='MultiScaleTestLoop', scales=[2, 3, 4, 6, 8])

# Fixed-scale SR on a folder of H&E tiles.
#
# data_root holds train/ and val/ (and optionally test/) subfolders of HR
# images, or is a flat folder of images that SRFolderDataset splits
# deterministically (every 10th image held out). Override it with
# --cfg-options data_root=<folder>. LR images are made on the fly by
# PIL-bicubic downscaling; the scale is a dataset key, so x2/x3/x4 configs
# only change `scale`.
data_root = 'data/histo'
scale = 4

train_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(type='RandomCrop', crop_size=192, keys=['gt']),
    dict(type='RandomFlipTranspose', keys=['gt']),
    dict(type='BicubicDegradation'),
    dict(type='PackSRInputs'),
]
val_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(type='BicubicDegradation'),
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
        scale=scale,
        pipeline=train_pipeline))
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
        scale=scale,
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))

# RGB PSNR/SSIM with `scale` pixels cropped from each border (the common
# fixed-scale protocol); set convert_to='Y' to compare with Y-channel tables.
val_evaluator = [
    dict(type='PSNR', crop_border='scale'),
    dict(type='SSIM', crop_border='scale'),
]
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

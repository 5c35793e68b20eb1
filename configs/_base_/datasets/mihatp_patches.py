# HR patches at 40x in a folder, with real lower-magnification LR partners
# when there are some (the MiHATP setting: 192x192 HR patches at 40x, the
# same regions at 20x / 10x / 5x as the LR of x2 / x4 / x8).
#
# data_root holds the HR patches, either in train/ and val/ (and optionally
# test/) subfolders or flat (then every 10th file is held out for val/test,
# SRFolderDataset). Real LR partners go in data_root/lr_x<scale>/ (e.g.
# lr_x4/), one file per HR patch with the same stem. Without that folder the
# LR is synthesised from the HR by PIL bicubic downscaling (mod-crop to the
# scale, no blur): MiHATP states no synthetic degradation because it uses
# real reads. Override the folder with --cfg-options data_root=<folder>.
# MiHATP states no metric protocol either: loops and metrics are those of
# histo_sr.py (RGB PSNR/SSIM with `scale` border pixels removed).
_base_ = './histo_sr.py'

data_root = 'data/patches'
scale = 4

train_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(
        type='IfKeyPresent',
        key='lr_path',
        transforms=[
            dict(type='LoadSRImage', key='lr'),
            dict(type='PairedRandomCrop', gt_patch_size=192),
        ],
        else_transforms=[
            dict(type='RandomCrop', crop_size=192, keys=['gt']),
            dict(type='BicubicDegradation'),
        ]),
    dict(type='RandomFlipTranspose', keys=['lr', 'gt']),
    dict(type='PackSRInputs'),
]
test_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(
        type='IfKeyPresent',
        key='lr_path',
        transforms=[dict(type='LoadSRImage', key='lr')],
        else_transforms=[dict(type='BicubicDegradation')]),
    dict(type='PackSRInputs'),
]

dataset = dict(
    data_root=data_root,
    data_prefix=dict(gt='', lr=f'lr_x{scale}'),
    lr_optional=True)
train_dataloader = dict(
    batch_size=8, dataset=dict(dataset, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(dataset, pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(dataset, pipeline=test_pipeline))

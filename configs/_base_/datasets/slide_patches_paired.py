# Real HR/LR patch pairs cut from whole slides by
#   python tools/dataset_converters/slides_to_patches.py SLIDES OUT_DIR \
#       --magnification 40 --patch-size 192 --lr-magnifications 20 10 5
# (HR at 40x; the same regions read at 20x / 10x / 5x are the real LR inputs
# of x2 / x4 / x8, no synthetic degradation). The tool splits by slide; the
# manifest lists the split of every patch. Metrics: RGB PSNR/SSIM with
# `scale` border pixels removed (docs/protocol.md).
data_root = 'data/slide_patches'
scale = 4

train_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(type='LoadSRImage', key='lr'),
    dict(type='RandomFlipTranspose', keys=['lr', 'gt']),
    dict(type='PackSRInputs'),
]
test_pipeline = [
    dict(type='LoadSRImage', key='gt'),
    dict(type='LoadSRImage', key='lr'),
    dict(type='PackSRInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='SRManifestDataset',
        data_root=data_root,
        split='train',
        scale=scale,
        paired=True,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='SRManifestDataset',
        data_root=data_root,
        split='val',
        scale=scale,
        paired=True,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))

val_evaluator = [
    dict(type='PSNR', crop_border='scale'),
    dict(type='SSIM', crop_border='scale'),
]
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# Real HR/LR patch pairs cut from whole slides by
#   python tools/dataset_converters/slides_to_patches.py SLIDES OUT_DIR \
#       --magnification 40 --patch-size 192 --lr-magnifications 20 10 5
# (HR at 40x; the same regions read at 20x / 10x / 5x are the real LR inputs
# of x2 / x4 / x8, no synthetic degradation). The tool splits by slide; the
# manifest lists the split of every patch. Loops and metrics as histo_sr.py
# (RGB PSNR/SSIM with `scale` border pixels removed, docs/protocol.md).
_base_ = './histo_sr.py'

data_root = 'data/slide_patches'

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
manifest = dict(type='SRManifestDataset', data_root=data_root, paired=True)

train_dataloader = dict(
    batch_size=8, dataset=dict(manifest, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(manifest, pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(manifest, pipeline=test_pipeline))

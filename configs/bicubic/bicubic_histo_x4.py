# Bicubic upsampling (PIL kernel) evaluated through tools/test.py with no
# checkpoint: python tools/test.py configs/bicubic/bicubic_histo_x4.py
_base_ = ['../_base_/datasets/histo_sr.py', '../_base_/default_runtime.py']

scale = 4
model = dict(
    type='FixedScaleSRModel',
    generator=dict(type='Bicubic', upscale_factor=scale),
    data_preprocessor=dict(type='SRDataPreprocessor'))
train_dataloader = None  # nothing to train

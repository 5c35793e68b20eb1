# Table 3, Exp. 1 (baseline): HAT (HAB blocks) trained with L1 only, on the
# MiHATP data and schedule. Also the HAT column of the MiHATP vs HAT vs SwinIR
# comparison (docs/mihatp.md).
_base_ = './mihatp_coad_x4.py'

model = dict(
    _delete_=True,
    type='FixedScaleSRModel',
    generator=dict(type='HAT', arch='paper', upscale_factor=4),
    pixel_loss=dict(type='L1Loss'),
    data_preprocessor=dict(
        type='SRDataPreprocessor',
        mean=(0.4488, 0.4371, 0.4040),
        std=(1., 1., 1.)))

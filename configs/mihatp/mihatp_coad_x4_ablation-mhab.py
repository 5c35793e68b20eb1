# Table 3, Exp. 2 (+ M-HAB): the MiHATP network (M-HAB blocks) trained with
# L1 only, no contrastive branch.
_base_ = './mihatp_coad_x4.py'

_generator = {{_base_.model.generator}}
model = dict(
    _delete_=True,
    type='FixedScaleSRModel',
    generator=_generator,
    pixel_loss=dict(type='L1Loss'),
    data_preprocessor=dict(
        type='SRDataPreprocessor',
        mean=(0.4488, 0.4371, 0.4040),
        std=(1., 1., 1.)))

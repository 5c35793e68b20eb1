# LTE (Lee & Jin, CVPR 2022) on an EDSR-baseline encoder without upsampler:
# amplitude/frequency estimators (256), phase from the cell, MLP 256 x 3,
# bilinear LR skip; LTE's cell clipping above x4 at test.
model = dict(
    type='ImplicitSRModel',
    encoder=dict(type='EDSR', arch='baseline', upscale_factor=None),
    head=dict(
        type='LTEHead',
        hidden_dim=256,
        imnet=dict(type='MLP', out_dim=3, hidden_list=[256, 256, 256]),
        local_ensemble=True),
    pixel_loss=dict(type='L1Loss'),
    data_preprocessor=dict(
        type='SRDataPreprocessor', mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    num_queries=2304,
    eval_chunk=30000,
    cell_clip_scale=4.0)

# LIIF (Chen et al., CVPR 2021) on an EDSR-baseline encoder without upsampler:
# 3x3 feature unfolding, local ensemble, cell decoding, MLP 256 x 4.
model = dict(
    type='ImplicitSRModel',
    encoder=dict(type='EDSR', arch='baseline', upscale_factor=None),
    head=dict(
        type='LIIFHead',
        imnet=dict(type='MLP', out_dim=3, hidden_list=[256, 256, 256, 256]),
        feat_unfold=True,
        local_ensemble=True,
        cell_decode=True),
    pixel_loss=dict(type='L1Loss'),
    data_preprocessor=dict(
        type='SRDataPreprocessor', mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    num_queries=2304,
    eval_chunk=30000)

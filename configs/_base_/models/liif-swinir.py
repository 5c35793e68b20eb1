# LIIF on the SwinIR encoder without upsampler (embed 180, 6x6 blocks,
# window 8, then conv 180 -> 64 + LeakyReLU), as in the ISTE paper's Table 1.
_base_ = './liif-edsr-baseline.py'

model = dict(
    encoder=dict(
        _delete_=True, type='SwinIR', arch='classical', upscale_factor=None))

# LTE on the SwinIR encoder without upsampler, as in the ISTE paper's Table 1.
_base_ = './lte-edsr-baseline.py'

model = dict(
    encoder=dict(
        _delete_=True, type='SwinIR', arch='classical', upscale_factor=None))

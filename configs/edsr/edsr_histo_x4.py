# EDSR at the paper's full size: 32 residual blocks x 256 channels with
# residual scaling 0.1; otherwise the EDSR-baseline recipe.
_base_ = './edsr-baseline_histo_x4.py'

model = dict(generator=dict(arch='paper'))

_base_ = './edsr-baseline_histo_x3.py'

model = dict(generator=dict(arch='paper'))

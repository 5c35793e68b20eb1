_base_ = './edsr-baseline_histo_x2.py'

model = dict(generator=dict(arch='paper'))

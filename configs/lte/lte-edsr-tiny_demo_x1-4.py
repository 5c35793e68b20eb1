# LTE on the arbitrary-scale demo: the LIIF demo's data, small EDSR encoder
# and schedule, with LTE's head (amplitude/frequency maps of 64 channels, MLP
# 128 x 2, bilinear skip) and its cell clipping above x4.
_base_ = '../liif/liif-edsr-tiny_demo_x1-4.py'

model = dict(
    head=dict(
        _delete_=True,
        type='LTEHead',
        hidden_dim=64,
        imnet=dict(type='MLP', out_dim=3, hidden_list=[128, 128]),
        local_ensemble=True),
    cell_clip_scale=4.0)

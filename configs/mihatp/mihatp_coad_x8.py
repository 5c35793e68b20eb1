# MiHATP x8 on TCGA-COAD patches (real 5x LR in lr_x8/ when present).
# The 24 px LR of a 192 px HR patch is reflect-padded to 32 (a multiple of
# the 16 px window) inside HAT and the output cropped back to 192.
_base_ = './mihatp_coad_x4.py'

scale = 8
model = dict(
    generator=dict(
        upscale_factor=scale,
        block_cfg=dict(dat_cfg=dict(rpe_table_size=32))))
dataset = dict(scale=scale, data_prefix=dict(lr=f'lr_x{scale}'))
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)

# MiHATP x2 on TCGA-COAD patches (real 20x LR in lr_x2/ when present).
_base_ = './mihatp_coad_x4.py'

scale = 2
model = dict(
    generator=dict(
        upscale_factor=scale,
        block_cfg=dict(dat_cfg=dict(rpe_table_size=96))))
dataset = dict(scale=scale, data_prefix=dict(lr=f'lr_x{scale}'))
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = dict(dataset=dataset)

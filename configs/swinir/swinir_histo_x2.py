_base_ = './swinir_histo_x4.py'

scale = 2
model = dict(generator=dict(upscale_factor=scale))
train_dataloader = dict(dataset=dict(scale=scale))
val_dataloader = dict(dataset=dict(scale=scale))
test_dataloader = dict(dataset=dict(scale=scale))

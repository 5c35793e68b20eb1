# The EDSR recipe: Adam(1e-4, betas 0.9/0.999), 300 epochs of 1000 iterations,
# learning rate halved after 200k iterations.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300_000, val_interval=5000)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999), eps=1e-8))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[200_000], gamma=0.5)
]

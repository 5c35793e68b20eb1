# The LIIF recipe: Adam 1e-4, 1000 "epochs" of 1000 iterations at batch 16,
# learning rate halved every 200k iterations.
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=1_000_000, val_interval=10_000)
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        milestones=[200_000, 400_000, 600_000, 800_000],
        gamma=0.5)
]

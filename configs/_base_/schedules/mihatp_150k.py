# MiHATP's optimiser: Adam, lr 1e-4 divided by 10 every 50k iterations. The
# paper gives no total; 150k iterations (two drops) and HAT's betas
# (0.9, 0.99) are pathsr's choice (docs/mihatp.md).
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=150_000, val_interval=5000)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99), weight_decay=0.))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        milestones=[50_000, 100_000],
        gamma=0.1)
]

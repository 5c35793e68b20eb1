# The SwinIR-LTE (and ISTE) recipe: Adam 2e-4, 1000 "epochs" of 1000
# iterations, learning rate halved at epochs 500, 800, 900 and 950.
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=1_000_000, val_interval=10_000)
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        milestones=[500_000, 800_000, 900_000, 950_000],
        gamma=0.5)
]

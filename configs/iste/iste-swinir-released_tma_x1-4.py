# ISTE on the TMA cores, reproducing the authors' released code and recipe
# (configs/train/train_swinir-iste.yaml + train.py): the released model preset
# and the released batch. train.py wraps the model in DataParallel over 4
# GPUs and runs ONE DataLoader batch of 4 per iteration (1 image per GPU), so
# the total batch is 4. With 460 training images x repeat 20 an epoch is 2300
# iterations, and the 1000 epochs are 2.3M iterations; lr 2e-4 halved at
# epochs 500, 800, 900, 950. Run it on one process (the batch is total).
_base_ = [
    '../_base_/models/iste-swinir-released.py',
    '../_base_/datasets/tma_implicit.py',
    '../_base_/schedules/swinir_implicit_1000k.py',
    '../_base_/default_runtime.py'
]

iters_per_epoch = 2300  # 460 images x repeat 20 / batch 4
train_dataloader = dict(batch_size=4)
# the SwinIR-LTE schedule (Adam 2e-4), in epochs of 2300 iterations
train_cfg = dict(
    max_iters=1000 * iters_per_epoch, val_interval=10 * iters_per_epoch)
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        milestones=[e * iters_per_epoch for e in (500, 800, 900, 950)],
        gamma=0.5)
]

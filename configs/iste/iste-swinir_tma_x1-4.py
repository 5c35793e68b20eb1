# ISTE on the TMA cores of Li et al. (MIA 2021), paper sizes and the paper
# model (configs/_base_/models/iste-swinir.py). The released recipe
# (train_swinir-iste.yaml) is Adam 2e-4, 1000 epochs, lr halved at epochs
# 500, 800, 900, 950, with ONE DataLoader batch of 4 per iteration split by
# DataParallel over 4 GPUs (a total batch of 4, 2300 iterations per epoch);
# configs/iste/iste-swinir-released_tma_x1-4.py reproduces it. Here: the
# LIIF-family convention of a total batch 16 and 1000 "epochs" of 1000
# iterations (set train_dataloader.batch_size per GPU so that GPUs x batch =
# 16), Adam 2e-4, lr halved at 500k/800k/900k/950k. 48-px LR, s ~ U(1, 4),
# ISTE blur + bicubic degradation, 2304 queries per image.
_base_ = [
    '../_base_/models/iste-swinir.py', '../_base_/datasets/tma_implicit.py',
    '../_base_/schedules/swinir_implicit_1000k.py',
    '../_base_/default_runtime.py'
]

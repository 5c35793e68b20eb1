# ISTE on the TMA cores of Li et al. (MIA 2021), paper sizes. Recipe of the
# official train_swinir-iste.yaml (the SwinIR-LTE recipe): Adam 2e-4, 1000
# "epochs" of 1000 iterations, lr halved at epochs 500, 800, 900 and 950;
# total batch 16 (the official config says 4 per GPU on 4 GPUs: set
# train_dataloader.batch_size per GPU so that GPUs x batch = 16). 48-px LR,
# s ~ U(1, 4), ISTE blur + bicubic degradation, 2304 queries per image.
_base_ = [
    '../_base_/models/iste-swinir.py', '../_base_/datasets/tma_implicit.py',
    '../_base_/schedules/swinir_implicit_1000k.py',
    '../_base_/default_runtime.py'
]

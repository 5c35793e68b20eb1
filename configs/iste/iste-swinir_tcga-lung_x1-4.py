# ISTE on TCGA lung (LUAD/LUSC) H&E, paper sizes, the recipe of
# iste-swinir_tma_x1-4.py (Adam 2e-4, milestones 500k/800k/900k/950k of 1M
# iterations, total batch 16).
_base_ = [
    '../_base_/models/iste-swinir.py',
    '../_base_/datasets/tcga_lung_implicit.py',
    '../_base_/schedules/swinir_implicit_1000k.py',
    '../_base_/default_runtime.py'
]

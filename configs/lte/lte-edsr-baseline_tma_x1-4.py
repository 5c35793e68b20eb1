_base_ = [
    '../_base_/models/lte-edsr-baseline.py', '../_base_/datasets/tma_implicit.py',
    '../_base_/schedules/liif_1000k.py', '../_base_/default_runtime.py'
]

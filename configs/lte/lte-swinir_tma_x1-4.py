_base_ = [
    '../_base_/models/lte-swinir.py', '../_base_/datasets/tma_implicit.py',
    '../_base_/schedules/swinir_implicit_1000k.py', '../_base_/default_runtime.py'
]

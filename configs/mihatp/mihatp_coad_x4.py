# MiHATP x4 on TCGA-COAD patches (192x192 HR at 40x; real 10x LR in
# data/tcga_coad/lr_x4/ when present, else bicubic LR), the paper's recipe:
# Adam 1e-4 / 10 every 50k iterations. Batch 8 is pathsr's choice (the paper
# gives none). Inference runs the base branch only.
#   python tools/train.py configs/mihatp/mihatp_coad_x4.py \
#       --cfg-options data_root=<folder of HR patches>
_base_ = [
    '../_base_/models/mihatp.py', '../_base_/datasets/mihatp_patches.py',
    '../_base_/schedules/mihatp_150k.py', '../_base_/default_runtime.py'
]

data_root = 'data/tcga_coad'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))

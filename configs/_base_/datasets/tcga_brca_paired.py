# TCGA-BRCA in the MiHATP setting; see tcga_coad_paired.py for the patches,
# the real 20x / 10x / 5x LR reads, the split and the metrics.
_base_ = './slide_patches_paired.py'

data_root = 'data/tcga_brca'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))

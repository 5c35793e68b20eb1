# TCGA-COAD in the MiHATP setting: 192x192 HR patches at 40x inside CLAM-style
# tissue masks, with real 20x / 10x / 5x reads as LR (slide_patches_paired.py).
# MiHATP samples 2000 training and 100 test patches and averages five
# non-intersecting test sets; its slide lists are not published, so the
# patches are split by slide here (80/10/10, seed 0 of slides_to_patches.py).
# MiHATP does not state its metric protocol; RGB with a `scale` border is used.
_base_ = './slide_patches_paired.py'

data_root = 'data/tcga_coad'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))

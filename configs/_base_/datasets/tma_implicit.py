# TMA cores of Li et al. (MIA 2021), the first dataset of ISTE: H&E tissue
# micro-array images split 80/10/10 at random into train/val/test (Li et al.'s
# split). Put them under data/tma/{train,val,test} or override data_root.
_base_ = './histo_implicit.py'

data_root = 'data/tma'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))

# MiHATP x2 on TCGA-BRCA patches: the COAD config with another data_root.
_base_ = './mihatp_coad_x2.py'

data_root = 'data/tcga_brca'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))

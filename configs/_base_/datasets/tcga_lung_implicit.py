# TCGA lung (LUAD/LUSC) H&E, the second dataset of the ISTE paper: sub-images
# cut from the 40x diagnostic slides (ISTE tests on 768-px patches). Put them
# under data/tcga_lung/{train,val,test} or override data_root.
_base_ = './histo_implicit.py'

data_root = 'data/tcga_lung'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))

# TCGA lung (LUAD/LUSC) H&E, the second dataset of the ISTE paper: 3072x3072
# sub-images cut at 40x from the diagnostic slides inside the tissue mask.
# ISTE tests on 768-px patches and does not publish its slide split, so the
# sub-images are split here by slide with the patch tool (80/10/10, seed 0):
#   python tools/dataset_converters/slides_to_patches.py SLIDES data/tcga_lung \
#       --magnification 40 --patch-size 3072
# The manifest's HR patches are degraded on the fly (ISTE protocol).
_base_ = './histo_implicit.py'

data_root = 'data/tcga_lung'
manifest = dict(type='SRManifestDataset', data_root=data_root, paired=False)
train_dataloader = dict(dataset=manifest)
val_dataloader = dict(dataset=manifest)
test_dataloader = dict(dataset=manifest)

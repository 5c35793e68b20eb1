# ISTE ablation "w/o STF" (paper Table 2): the pixel decoder reads the pixel
# features unfused; everything else as iste-swinir_tma_x1-4.py.
_base_ = './iste-swinir_tma_x1-4.py'

model = dict(head=dict(use_stf=False))

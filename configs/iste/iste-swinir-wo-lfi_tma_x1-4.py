# ISTE ablation "w/o LFI" (paper Table 2): the 3x3 conv to 256 channels reads
# the encoder features directly; everything else as iste-swinir_tma_x1-4.py.
_base_ = './iste-swinir_tma_x1-4.py'

model = dict(head=dict(use_lfi=False))

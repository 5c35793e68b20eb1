# The ISTE demo without its LFI ("w/o LFI" of the paper's Table 2; see
# iste-swinir-wo-lfi_tma_x1-4.py).
_base_ = './iste-swinir-tiny_demo_x1-4.py'

model = dict(head=dict(use_lfi=False))

# The ISTE demo without its STF ("w/o STF" of the paper's Table 2; see
# iste-swinir-wo-stf_tma_x1-4.py).
_base_ = './iste-swinir-tiny_demo_x1-4.py'

model = dict(head=dict(use_stf=False))

# The ISTE demo without its LTD ("w/o LTD" of the paper's Table 2; see
# iste-swinir-wo-ltd_tma_x1-4.py).
_base_ = './iste-swinir-tiny_demo_x1-4.py'

model = dict(head=dict(use_texture_decoder=False))

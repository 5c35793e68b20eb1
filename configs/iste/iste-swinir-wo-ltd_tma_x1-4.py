# ISTE ablation "w/o LTD" (paper Table 2): no Local Texture Decoder, the
# output is the pixel decoder's RGB (the textures still feed STF); everything
# else as iste-swinir_tma_x1-4.py.
_base_ = './iste-swinir_tma_x1-4.py'

model = dict(head=dict(use_texture_decoder=False))

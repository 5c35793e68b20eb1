# Table 3, Exp. 7 (+ transformation-pool contrastive learning): HAT blocks
# (no deformable branch) trained with the dual-branch MiHATP loss.
_base_ = './mihatp_coad_x4.py'

model = dict(generator=dict(block_cfg=dict(_delete_=True, type='HAB')))

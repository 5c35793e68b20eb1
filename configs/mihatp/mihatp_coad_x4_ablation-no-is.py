# Table 3 "without IS": full MiHATP, contrastive term in the VGG feature
# spaces only (no image-space term, l = 0).
_base_ = './mihatp_coad_x4.py'

model = dict(contrastive_loss=dict(image_space=False))

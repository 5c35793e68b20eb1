# Table 3 "without ITP": full MiHATP without the irreversible pool; the
# similarity to the (absent) negatives is 1, as the paper states.
_base_ = './mihatp_coad_x4.py'

model = dict(irreversible_pool=None, lr_negative=False)

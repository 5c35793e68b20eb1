# Table 3 "without RTP": full MiHATP without the reversible pool, hence
# without positives (similarity 1, as the paper states) and without the
# contrastive branch F_con.
_base_ = './mihatp_coad_x4.py'

model = dict(reversible_pool=None)

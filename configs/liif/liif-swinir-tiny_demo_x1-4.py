# LIIF on the ISTE demo's tiny SwinIR encoder, data and schedule (200
# iterations of batch 4), for a same-encoder comparison with ISTE and LTE on
# CPU: only the head differs (MLP 128 x 2, no cell clipping as LIIF).
_base_ = '../iste/iste-swinir-tiny_demo_x1-4.py'

model = dict(
    head=dict(
        _delete_=True,
        type='LIIFHead',
        imnet=dict(type='MLP', out_dim=3, hidden_list=[128, 128]),
        feat_unfold=True,
        local_ensemble=True,
        cell_decode=True),
    cell_clip_scale=None)

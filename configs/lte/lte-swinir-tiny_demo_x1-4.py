# LTE on the ISTE demo's tiny SwinIR encoder, data and schedule (200
# iterations of batch 4), for a same-encoder comparison with ISTE and LIIF on
# CPU: only the head differs (64-channel maps, MLP 128 x 2, bilinear skip).
_base_ = '../iste/iste-swinir-tiny_demo_x1-4.py'

model = dict(
    head=dict(
        _delete_=True,
        type='LTEHead',
        hidden_dim=64,
        imnet=dict(type='MLP', out_dim=3, hidden_list=[128, 128]),
        local_ensemble=True))

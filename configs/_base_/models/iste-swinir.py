# ISTE (Qu et al., MICCAI 2023) on the SwinIR encoder without upsampler
# (embed 180, 6x6 blocks, window 8, conv 180 -> 64 + LeakyReLU). Pixel branch:
# Local Feature Interactor (8 heads) + conv 64 -> 256; texture branch:
# Texture Learner (amplitude, x/y frequencies 256 each, phase from the cell);
# Self-Texture Fusion; Local Pixel Decoder (260 -> 256 x 3 -> 3) plus Local
# Texture Decoder (256 -> 256 x 3 -> 3); L1 loss; cell clipping above x4.
# Switches and defaults: docs/iste.md. The released code's switches:
# iste-swinir-released.py.
model = dict(
    type='ImplicitSRModel',
    encoder=dict(type='SwinIR', arch='classical', upscale_factor=None),
    head=dict(
        type='ISTEHead',
        hidden_dim=256,
        pixel_decoder=dict(type='MLP', out_dim=3, hidden_list=[256, 256, 256]),
        texture_decoder=dict(
            type='MLP', out_dim=3, hidden_list=[256, 256, 256]),
        use_lfi=True,
        use_stf=True,
        use_texture_decoder=True,
        lfi_heads=8,
        # LFI without the self-value term of the 2023 code release (HEAD)
        self_value=False,
        # differentiable LFI keys/values (the official code detaches them)
        detach_kv=False,
        # LFI tokens: the paper's window vectors (Eq. 1); the released code
        # reshapes the window in memory ('released', iste-swinir-released.py)
        lfi_token_layout='window',
        # the released code's 11th, unscaled "self" logit q . q' in the LFI
        # softmax (False: the ten token logits only)
        lfi_self_logit=True,
        # chunk-independent STF keys: fixed positions per 48-px LR tile
        # ('faithful': the queries of one forward call, as the official code)
        stf_mode='tiled',
        stf_tile_size=48,
        stf_num_keys=2304,
        # ISTE's code has LTE's bilinear LR skip commented out
        image_skip=False),
    pixel_loss=dict(type='L1Loss'),
    data_preprocessor=dict(
        type='SRDataPreprocessor', mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    num_queries=2304,
    eval_chunk=30000,
    cell_clip_scale=4.0)

# MiHATP (Xu et al., MICCAI 2024): HAT (embed 180, 6 groups x 6 blocks, window
# 16, pixel-shuffle upsampler) whose blocks are M-HABs (window attention +
# 0.01 CAB + 0.01 deformable attention, Eq. 4), trained as two branches with
# L1_base + L1_con + 0.01 L_CL. Every inferred value is listed in
# docs/mihatp.md.
model = dict(
    type='MiHATP',
    generator=dict(
        type='HAT',
        arch='paper',
        upscale_factor=4,
        # the only difference from HAT: the block type (M-RHAG = RHAG of
        # M-HABs)
        block_cfg=dict(
            type='MHAB',
            dat_scale=0.01,
            norm_residual=True,
            # DAT v1 stage-3 values; keys on a (h/4) x (w/4) grid; the
            # position-bias table is sized for the 48 px LR of x4 and
            # interpolated at other sizes
            dat_cfg=dict(
                offset_groups=3,
                kv_stride=4,
                offset_kernel=5,
                offset_range_factor=2.0,
                use_rpe=True,
                rpe_table_size=48))),
    pixel_loss=dict(type='L1Loss'),
    contrastive_loss=dict(
        type='TransformationPoolContrastiveLoss',
        # frozen ImageNet VGG19 relu1_1..relu5_1; weights from the torch hub
        # cache (vgg19-dcbb9e9d.pth) or weights_path=<file>, never downloaded
        extractor=dict(type='VGGFeatureExtractor', weights_path=None),
        image_space=True,
        tau=0.05,
        loss_weight=0.01),
    reversible_pool=dict(type='ReversibleTransformPool', num_samples=1),
    irreversible_pool=dict(
        type='IrreversibleTransformPool',
        num_samples=3,
        blur_kernel=(3, 11),
        blur_sigma=(0.1, 2.0),
        noise_sigma=(1., 15.),
        jpeg_quality=(70, 95),
        resample_scale=(2., 4.)),
    lr_negative=False,
    share_weights=False,
    # HAT's DIV2K mean shift, [0, 1] units; HAT pads to its window itself
    data_preprocessor=dict(
        type='SRDataPreprocessor',
        mean=(0.4488, 0.4371, 0.4040),
        std=(1., 1., 1.)))

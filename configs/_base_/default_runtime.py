# Runtime shared by every pathsr experiment.
default_scope = 'pathsr'
runner_type = 'SRRunner'

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        interval=5000,
        by_epoch=False,
        save_best='PSNR',
        rule='greater',
        max_keep_ckpts=3,
        save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SRVisualizationHook', num_samples=4),
)

# LocalVisBackend writes PNGs under <work_dir>/<timestamp>/vis_data; add
# dict(type='TensorboardVisBackend') to also log to TensorBoard.
visualizer = dict(
    type='SRVisualizer', vis_backends=[dict(type='LocalVisBackend')])

log_processor = dict(type='LogProcessor', window_size=100, by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)

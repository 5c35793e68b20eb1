# Exponential moving average of the weights, decay 0.999 as in the SwinIR and
# HAT recipes (mmengine's momentum is 1 - decay). The EMA weights are the ones
# validated and saved in checkpoints.
custom_hooks = [
    dict(type='EMAHook', ema_type='ExponentialMovingAverage', momentum=0.001)
]

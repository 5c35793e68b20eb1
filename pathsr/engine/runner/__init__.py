from .multi_scale_test_loop import MultiScaleTestLoop
from .sr_runner import CheckpointError, CheckpointMismatchError, SRRunner

__all__ = [
    'CheckpointError', 'CheckpointMismatchError', 'MultiScaleTestLoop',
    'SRRunner'
]

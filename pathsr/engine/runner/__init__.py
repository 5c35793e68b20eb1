from .multi_scale_test_loop import MultiScaleTestLoop
from .sr_runner import CheckpointMismatchError, SRRunner

__all__ = ['CheckpointMismatchError', 'MultiScaleTestLoop', 'SRRunner']

from .sr_runner import CheckpointMismatchError, SRRunner

__all__ = ['CheckpointMismatchError', 'SRRunner']

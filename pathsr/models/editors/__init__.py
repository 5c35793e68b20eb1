from .base_sr_model import BaseSRModel

__all__ = ['BaseSRModel']

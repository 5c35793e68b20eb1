from .espcn import ESPCN

__all__ = ['ESPCN']

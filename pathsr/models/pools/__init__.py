from .irreversible_pool import IrreversibleTransformPool
from .reversible_pool import ReversibleTransformPool

__all__ = ['IrreversibleTransformPool', 'ReversibleTransformPool']

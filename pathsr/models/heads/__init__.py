from .liif_head import LIIFHead
from .local_ensemble import EnsembleQuery, ensemble_query, gather_codes
from .lte_head import LTEHead

__all__ = [
    'EnsembleQuery', 'LIIFHead', 'LTEHead', 'ensemble_query', 'gather_codes'
]

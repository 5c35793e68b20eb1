from .iste_head import ISTEHead
from .liif_head import LIIFHead
from .local_ensemble import EnsembleQuery, ensemble_query, gather_codes
from .lte_head import LTEHead

__all__ = [
    'EnsembleQuery', 'ISTEHead', 'LIIFHead', 'LTEHead', 'ensemble_query',
    'gather_codes'
]

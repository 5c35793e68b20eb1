from . import transforms  # noqa: F401  register the transforms
from .sr_folder_dataset import SRFolderDataset

__all__ = ['SRFolderDataset']

from . import transforms  # noqa: F401  register the transforms
from .sr_folder_dataset import SRFolderDataset
from .sr_manifest_dataset import SRManifestDataset

__all__ = ['SRFolderDataset', 'SRManifestDataset']

from .contrastive_loss import TransformationPoolContrastiveLoss
from .pixel_loss import L1Loss
from .vgg_feature_extractor import VGGFeatureExtractor

__all__ = [
    'L1Loss', 'TransformationPoolContrastiveLoss', 'VGGFeatureExtractor'
]

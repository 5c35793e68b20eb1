"""MiHATP's transformation-pool contrastive loss (InfoNCE, cosine / tau)."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from pathsr.registry import MODELS


def _location_cosine(anchor: torch.Tensor,
                     samples: torch.Tensor) -> torch.Tensor:
    """Cosine over channels per location, averaged over space (PCL).

    Args:
        anchor: (B, C, H, W).
        samples: (B, K, C, H, W).

    Returns:
        (B, K) similarities in [-1, 1].
    """
    return F.cosine_similarity(anchor.unsqueeze(1), samples,
                               dim=2).mean(dim=(-2, -1))


@MODELS.register_module()
class TransformationPoolContrastiveLoss(nn.Module):
    """L_CL of MiHATP (Xu et al., MICCAI 2024).

    For every space l (the images themselves if ``image_space``, then each
    map of ``extractor``), with s(a, b) the channel cosine per location
    averaged over H and W::

        L^l = -1/(B Kp) sum_i sum_k log( e^{s(r, p_k)/tau} /
              (e^{s(r, p_k)/tau} + sum_j e^{s(r, n_j)/tau}) )

    computed with ``logsumexp``. The result is ``loss_weight * sum_l w_l
    L^l`` with ``w_l = 1 / num_spaces`` (the mean) unless ``layer_weights``
    are given. Table 3 ablations: ``image_space=False`` drops IS; passing
    ``positives=None`` (no RTP) or ``negatives=None`` (no ITP) sets that
    similarity to 1, as the paper states (a single positive or negative
    with s = 1).

    Args:
        extractor: Config of a frozen feature extractor returning a list of
            (N, C_l, H_l, W_l) maps from (N, C, H, W) images, or ``None``
            for the image space only.
        image_space: Include the image space (l = 0).
        tau: Temperature.
        layer_weights: One weight per space (image space first), or
            ``None`` for the mean.
        detach_positives: Stop gradients through the positives (the
            contrastive branch); the anchor always gets gradients and the
            negatives are always detached.
        loss_weight: lambda, the multiplier of the loss.
    """

    def __init__(self,
                 extractor: Optional[dict] = dict(type='VGGFeatureExtractor'),
                 image_space: bool = True,
                 tau: float = 0.05,
                 layer_weights: Optional[Sequence[float]] = None,
                 detach_positives: bool = False,
                 loss_weight: float = 0.01) -> None:
        super().__init__()
        if extractor is None and not image_space:
            raise ValueError('TransformationPoolContrastiveLoss: no space '
                             'left; give an extractor or image_space=True')
        if tau <= 0:
            raise ValueError('TransformationPoolContrastiveLoss: tau must be '
                             f'> 0, got {tau}')
        self.extractor = None if extractor is None else MODELS.build(extractor)
        self.image_space = image_space
        self.tau = tau
        self.layer_weights = None if layer_weights is None else tuple(
            layer_weights)
        self.detach_positives = detach_positives
        self.loss_weight = loss_weight

    def forward(self,
                anchor: torch.Tensor,
                positives: Optional[torch.Tensor] = None,
                negatives: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            anchor: (B, C, H, W) SR output r (in [0, 1] for VGG).
            positives: (B, Kp, C, H, W), or ``None`` when RTP is off.
            negatives: (B, Kn, C, H, W), or ``None`` when ITP is off.

        Returns:
            Scalar loss.
        """
        if positives is None and negatives is None:
            raise ValueError('TransformationPoolContrastiveLoss: positives '
                             'and negatives are both None; the loss would be '
                             'the constant log 2')
        if anchor.dim() != 4:
            raise ValueError('TransformationPoolContrastiveLoss: expected '
                             f'anchor (B, C, H, W), got {tuple(anchor.shape)}')
        named = (('positives', positives), ('negatives', negatives))
        for name, samples in named:
            if samples is not None and (
                    samples.dim() != 5 or samples.size(1) == 0
                    or samples.shape[:1] + samples.shape[2:] != anchor.shape):
                raise ValueError(
                    f'TransformationPoolContrastiveLoss: {name} must be '
                    f'(B, K>0, C, H, W) matching anchor '
                    f'{tuple(anchor.shape)}, got {tuple(samples.shape)}')
        if positives is not None and self.detach_positives:
            positives = positives.detach()
        if negatives is not None:
            negatives = negatives.detach()

        spaces = self._spaces(anchor, positives, negatives)
        weights = self.layer_weights
        if weights is None:
            weights = (1 / len(spaces), ) * len(spaces)
        elif len(weights) != len(spaces):
            raise ValueError('TransformationPoolContrastiveLoss: '
                             f'{len(weights)} layer_weights for {len(spaces)} '
                             'spaces (image space first, then the extractor '
                             'maps)')
        loss = sum(weight * self._info_nce(*space)
                   for weight, space in zip(weights, spaces))
        return self.loss_weight * loss

    def _spaces(self, anchor: torch.Tensor, positives: Optional[torch.Tensor],
                negatives: Optional[torch.Tensor]) -> List[tuple]:
        """(anchor, positives, negatives) per space, shapes as in forward.

        The extractor runs once on the anchor and all samples together.
        """
        spaces = [(anchor, positives, negatives)] if self.image_space else []
        if self.extractor is None:
            return spaces
        b = anchor.size(0)
        groups = [anchor] + [
            s.flatten(0, 1) for s in (positives, negatives) if s is not None
        ]
        sizes = [g.size(0) for g in groups]
        for feat in self.extractor(torch.cat(groups)):
            parts = list(feat.split(sizes))
            feat_anchor = parts.pop(0)
            feats = [
                None if s is None else parts.pop(0).unflatten(0, (b, -1))
                for s in (positives, negatives)
            ]
            spaces.append((feat_anchor, *feats))
        return spaces

    def _info_nce(self, anchor: torch.Tensor,
                  positives: Optional[torch.Tensor],
                  negatives: Optional[torch.Tensor]) -> torch.Tensor:
        """InfoNCE of one space; an absent set has one similarity of 1."""
        ones = anchor.new_ones(anchor.size(0), 1)
        pos = ones if positives is None else _location_cosine(
            anchor, positives)
        neg = ones if negatives is None else _location_cosine(
            anchor, negatives)
        pos, neg = pos / self.tau, neg / self.tau
        logits = torch.cat(
            [pos.unsqueeze(-1),
             neg.unsqueeze(1).expand(-1, pos.size(1), -1)],
            dim=-1)
        return (torch.logsumexp(logits, dim=-1) - pos).mean()

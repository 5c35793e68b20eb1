"""MiHATP (Xu et al., MICCAI 2024): dual-branch training with a
transformation-pool contrastive loss."""
import copy
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F

from pathsr.registry import MODELS
from pathsr.structures import SRDataSample
from .fixed_scale_sr_model import FixedScaleSRModel


@MODELS.register_module()
class MiHATP(FixedScaleSRModel):
    """A base branch ``F_base`` trained with a contrastive branch ``F_con``.

    With normalised LR ``x`` ``(B, 3, h, w)``, HR ``y`` ``(B, 3, H, W)``,
    transforms ``T_k`` (k = 1..Kp) drawn from the reversible pool and
    ``N_j`` (j = 1..Kn) the irreversible pool applied to ``y``, the training
    loss is the paper's::

        L1(F_base(x), y)                                   'loss_base'
        + mean_k L1(F_con(T_k(x)), T_k(y))                   'loss_con'
        + lambda * L_CL(r = F_base(x), P_k = T_k^-1(F_con(T_k(x))), N_j)
                                                            'loss_cl'

    ``T_k`` moves pixels without changing them, so ``loss_con`` is computed
    as ``L1(P_k, y)``, the same number. ``L_CL`` is
    :class:`TransformationPoolContrastiveLoss` (lambda is its
    ``loss_weight``) on ``[0, 1]`` images; with ``lr_negative`` the
    bicubic-upsampled LR joins the negatives (the PCL/AECR-Net convention).
    Transforms that give the same LR shape run through ``F_con`` as one
    batch. Without a reversible pool there are no positives (their
    similarity is 1, the paper's Table 3 "w/o RTP") and no contrastive
    branch; without an irreversible pool and ``lr_negative`` there are no
    negatives ("w/o ITP"). ``mode='predict'`` and ``'tensor'`` run
    ``F_base`` only, as :class:`FixedScaleSRModel`.

    Args:
        generator: Config of ``F_base`` (e.g. HAT with M-HAB blocks).
        pixel_loss: Loss of both branches against the normalised HR.
        contrastive_loss: Config of the contrastive loss.
        reversible_pool: Config of the positive pool (Kp = its
            ``num_samples``), or ``None``.
        irreversible_pool: Config of the negative pool (Kn = its
            ``num_samples``), or ``None``.
        lr_negative: Add the bicubic-upsampled LR to the negatives.
        share_weights: ``F_con`` is ``F_base`` (one parameter set) instead
            of a second network of the same architecture.
        contrastive_generator: Config of ``F_con`` when it should differ
            from ``generator``; ``None`` copies ``generator``.
        data_preprocessor: Config of the data preprocessor.
    """

    compile_targets = ('generator', 'contrastive_generator')

    def __init__(self,
                 generator: dict,
                 pixel_loss: dict = dict(type='L1Loss'),
                 contrastive_loss: dict = dict(
                     type='TransformationPoolContrastiveLoss'),
                 reversible_pool: Optional[dict] = dict(
                     type='ReversibleTransformPool', num_samples=1),
                 irreversible_pool: Optional[dict] = dict(
                     type='IrreversibleTransformPool', num_samples=3),
                 lr_negative: bool = False,
                 share_weights: bool = False,
                 contrastive_generator: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(generator, pixel_loss, data_preprocessor, init_cfg)
        if reversible_pool is None and irreversible_pool is None \
                and not lr_negative:
            raise ValueError('MiHATP: no positives (reversible_pool=None) '
                             'and no negatives (irreversible_pool=None, '
                             'lr_negative=False) leave no contrastive term')
        if share_weights and contrastive_generator is not None:
            raise ValueError('MiHATP: share_weights=True uses the generator '
                             'as the contrastive branch; do not also give '
                             'contrastive_generator')
        self.contrastive_loss = MODELS.build(contrastive_loss)
        self.reversible_pool = None if reversible_pool is None else \
            MODELS.build(reversible_pool)
        self.irreversible_pool = None if irreversible_pool is None else \
            MODELS.build(irreversible_pool)
        self.lr_negative = lr_negative
        self.share_weights = share_weights
        self.contrastive_generator = None
        if self.reversible_pool is not None and not share_weights:
            self.contrastive_generator = MODELS.build(
                copy.deepcopy(contrastive_generator or generator))

    def loss(self, inputs: torch.Tensor,
             data_samples: List[SRDataSample]) -> Dict[str, torch.Tensor]:
        gt = torch.stack([sample.gt_img for sample in data_samples])
        height, width = gt.shape[-2:]
        gt_norm = self.data_preprocessor.normalize(gt)
        pred = self.generator(inputs)
        scale = pred.shape[-1] // inputs.shape[-1]
        pred = pred[..., :height, :width]
        if pred.shape != gt.shape:
            raise ValueError(
                f'network output {tuple(pred.shape)} is smaller than the '
                f'ground truth {tuple(gt.shape)}: does the scale of the '
                'network match the scale of the data pipeline?')
        losses = dict(loss_base=self.pixel_loss(pred, gt_norm))

        positives = None
        if self.reversible_pool is not None:
            positives = self._positives(inputs)[..., :height, :width]
            losses['loss_con'] = self.pixel_loss(
                positives, gt_norm.unsqueeze(1).expand_as(positives))
            positives = self.data_preprocessor.denormalize(positives)

        negatives = []
        if self.irreversible_pool is not None:
            negatives.append(self.irreversible_pool(gt))
        if self.lr_negative:
            lr = self.data_preprocessor.destruct(inputs)
            # antialias=True: PIL's bicubic (a = -0.5), as the Bicubic
            # baseline and the bicubic LR of the data pipelines
            upsampled = F.interpolate(
                lr,
                scale_factor=scale,
                mode='bicubic',
                align_corners=False,
                antialias=True)
            negatives.append(
                upsampled[:, None, :, :height, :width].clamp(0, 1))
        losses['loss_cl'] = self.contrastive_loss(
            self.data_preprocessor.denormalize(pred), positives,
            torch.cat(negatives, 1) if negatives else None)
        return losses

    def _positives(self, inputs: torch.Tensor) -> torch.Tensor:
        """``T_k^-1(F_con(T_k(x)))`` for Kp sampled transforms, normalised,
        ``(B, Kp, 3, s*h, s*w)``."""
        branch = self.contrastive_generator or self.generator
        pool = self.reversible_pool
        ks = pool.sample()
        transformed = [pool(inputs, k) for k in ks]
        by_shape: Dict[torch.Size, List[int]] = {}
        for i, image in enumerate(transformed):
            by_shape.setdefault(image.shape, []).append(i)
        outputs: List[Optional[torch.Tensor]] = [None] * len(ks)
        for members in by_shape.values():
            out = branch(torch.cat([transformed[i] for i in members]))
            for i, part in zip(members, out.chunk(len(members))):
                outputs[i] = pool.inverse(part, ks[i])
        return torch.stack(outputs, 1)

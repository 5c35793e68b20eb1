"""Model wrapper for arbitrary-scale (implicit) super-resolution."""
from typing import Dict, List, Optional

import torch

from pathsr.registry import MODELS
from pathsr.structures import SRDataSample, make_coord
from .base_sr_model import BaseSRModel


@MODELS.register_module()
class ImplicitSRModel(BaseSRModel):
    """An encoder plus an implicit head that decodes RGB at any coordinate.

    ``forward(inputs, data_samples, mode)`` with normalised LR ``inputs``
    ``(B, 3, h, w)``:

    - ``'tensor'``: the encoder's feature map ``(B, C, h, w)``.
    - ``'loss'``: for each image, ``num_queries`` HR pixels are drawn without
      replacement (torch's RNG); their coordinates, cells ``(2 / H, 2 / W)``
      and normalised RGB make the L1 target.
    - ``'predict'``: the full ``out_shape`` grid of each sample (its
      metainfo, fixed once by the pipeline or the caller: the number of
      queries is never used to infer it) is decoded in chunks of
      ``eval_chunk`` queries, so memory beyond the output image stays
      bounded by the chunk, whatever the scale.

    Each sample's features are cropped to its own ``lr_shape`` first, so the
    coordinate frame is that of the unpadded LR image.

    Args:
        encoder: Config of a backbone used without upsampler (it must expose
            ``out_channels``).
        head: Config of the implicit head (``in_channels`` is filled in).
        pixel_loss: Config of the loss on normalised RGB.
        data_preprocessor: Config of the data preprocessor; the LIIF family
            normalises with mean = std = 0.5.
        num_queries: HR pixels sampled per training image (2304 = 48^2).
        eval_chunk: Queries decoded at once in ``predict`` (the official
            code's ``eval_bsize``, 30000).
        cell_clip_scale: If set, the cell at scales above it is the cell of
            this scale (LTE/ISTE's "cell clipping", 4); None keeps the true
            cell (LIIF).
    """

    default_preprocessor = dict(
        type='SRDataPreprocessor', mean=(0.5, ) * 3, std=(0.5, ) * 3)
    compile_targets = ('encoder', )

    def __init__(self,
                 encoder: dict,
                 head: dict,
                 pixel_loss: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 num_queries: int = 2304,
                 eval_chunk: int = 30000,
                 cell_clip_scale: Optional[float] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor, init_cfg)
        if num_queries < 1 or eval_chunk < 1:
            raise ValueError('num_queries and eval_chunk must be >= 1, got '
                             f'{num_queries} and {eval_chunk}')
        self.encoder = MODELS.build(encoder)
        self.head = MODELS.build(
            head, default_args=dict(in_channels=self.encoder.out_channels))
        self.pixel_loss = MODELS.build(pixel_loss) if pixel_loss else None
        self.num_queries = num_queries
        self.eval_chunk = eval_chunk
        self.cell_clip_scale = cell_clip_scale

    def _compile(self, **compile_cfg) -> None:
        """Compile the encoder in place and the head's ``prepare`` and
        ``query`` (which training and ``predict`` both call), so parameter
        names do not change."""
        super()._compile(**compile_cfg)
        self.head.prepare = torch.compile(self.head.prepare, **compile_cfg)
        self.head.query = torch.compile(self.head.query, **compile_cfg)

    def tensor(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.encoder(inputs)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[SRDataSample]) -> Dict[str, torch.Tensor]:
        if self.pixel_loss is None:
            raise RuntimeError('this ImplicitSRModel has no pixel_loss '
                               'configured and cannot be trained')
        coords, cells, targets = [], [], []
        for sample in data_samples:
            gt = sample.gt_img
            height, width = gt.shape[-2:]
            if height * width < self.num_queries:
                raise ValueError(
                    f"{sample.metainfo.get('gt_path')}: the HR patch has "
                    f'{height * width} pixels, fewer than num_queries='
                    f'{self.num_queries}')
            index = torch.randperm(height * width,
                                   device=gt.device)[:self.num_queries]
            coords.append(make_coord((height, width), gt.device)[index])
            cells.append(gt.new_tensor([2 / height, 2 / width]).expand(
                self.num_queries, 2))
            targets.append(
                self.data_preprocessor.normalize(gt).flatten(1)[:, index].t())
        pred = self.head(self.encoder(inputs), torch.stack(coords),
                         torch.stack(cells), inputs)
        return dict(loss=self.pixel_loss(pred, torch.stack(targets)))

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor,
                data_samples: List[SRDataSample]) -> List[SRDataSample]:
        feats = self.encoder(inputs)
        for i, sample in enumerate(data_samples):
            lr_h, lr_w = sample.metainfo['lr_shape']
            height, width = sample.metainfo['out_shape']
            state = self.head.prepare(feats[i:i + 1, :, :lr_h, :lr_w],
                                      inputs[i:i + 1, :, :lr_h, :lr_w])
            cell = inputs.new_tensor([2 / height, 2 / width])
            if self.cell_clip_scale is not None:
                scale = max(height / lr_h, width / lr_w)
                cell = cell * max(scale / self.cell_clip_scale, 1.0)
            pred = inputs.new_empty(1, height * width, 3)
            for start in range(0, height * width, self.eval_chunk):
                end = start + self.eval_chunk
                chunk = make_coord((height, width), inputs.device,
                                   inputs.dtype, start, end)[None]
                pred[:, start:end] = self.head.query(state, chunk,
                                                     cell.expand_as(chunk))
            img = pred.view(1, height, width, 3).permute(0, 3, 1, 2)
            sample.pred_img = self.data_preprocessor.destruct(
                img, inplace=True)[0]
        return data_samples

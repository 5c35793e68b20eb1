"""ISTE (Qu et al., MICCAI 2023): implicit self-texture enhancement."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from pathsr.registry import MODELS
from ..layers.local_feature_interactor import LocalFeatureInteractor
from ..layers.self_texture_fusion import SelfTextureFusion
from ..layers.stf_key_set import r2_positions, tile_axis
from ..layers.texture_learner import TextureLearner
from .local_ensemble import bilinear_skip, ensemble_query, gather_codes

STF_MODES = ('faithful', 'tiled')


@MODELS.register_module()
class ISTEHead(BaseModule):
    """Dual-branch decoder of RGB at HR coordinates.

    Once per image (``prepare``): the pixel map ``Conv3x3(C -> D)`` of the
    :class:`LocalFeatureInteractor` output (of the LR features themselves
    without LFI) and the :class:`TextureLearner` maps of the LR features.
    Per query and each of its four local-ensemble codes (``query``): the
    pixel code ``p`` and the texture ``t``; :class:`SelfTextureFusion` gives
    ``p'`` from ``p`` and a key set of textures; the Local Pixel Decoder reads
    ``[p', rel_coord, rel_cell]`` (``D + 4``), the Local Texture Decoder
    reads ``t``; their RGB sum is blended with the area weights of the local
    ensemble (the official code blends the two decoders separately and adds
    them, which is the same). With ``image_skip`` the bilinearly upsampled
    LR input is added as in LTE. Shapes: ``(B, C, h, w)`` features, ``(B, N,
    2)`` coord/cell, ``(B, 3, h, w)`` normalised input -> ``(B, N, 3)``.

    STF key sets, for each image and ensemble shift (``stf_mode``):

    - ``'faithful'``: the textures of all the queries of the same forward
      call, as the official code. At test these are the ``eval_chunk``
      queries, so predictions depend on the chunk size and order, and the
      similarity matrix has ``chunk^2`` entries.
    - ``'tiled'`` (geometry in :mod:`pathsr.models.layers.stf_key_set`):
      the LR image is cut into tiles of ``stf_tile_size``
      pixels (the training LR size; the last tile of a row or column is
      moved back inside the image; a smaller image is one tile). The keys of
      a query are the textures, with its cell, at ``stf_num_keys`` fixed
      positions spread over the tile holding it (the R2 sequence), so they
      depend on the image, the query position and the cell only: predictions
      do not depend on the chunk, and memory grows with ``chunk x
      stf_num_keys``, not with the image. It needs one cell per image.

    Args:
        in_channels: ``C``, the encoder's output channels.
        hidden_dim: ``D``, channels of the pixel map, the textures and the
            fusion (256).
        pixel_decoder: Config of the Local Pixel Decoder (default MLP, hidden
            ``[256] * 3``); ``in_dim`` is filled in.
        texture_decoder: Config of the Local Texture Decoder (the same
            default).
        use_lfi: Build the Local Feature Interactor (False: the "w/o LFI"
            ablation, the 3x3 conv reads the LR features).
        use_stf: Build the Self-Texture Fusion (False: "w/o STF", ``p' =
            p``).
        use_texture_decoder: Build the Local Texture Decoder (False: "w/o
            LTD", the output is the pixel decoder's; textures still feed
            STF).
        lfi_heads: Attention heads of the LFI.
        self_value: LFI adds the self value (2023 code release); see
            :class:`LocalFeatureInteractor`.
        detach_kv: LFI stops gradients through its keys/values (official
            gradients).
        lfi_token_layout: LFI key/value tokens: ``'window'`` (paper Eq. 1)
            or ``'released'`` (the released code's raw reshape); see
            :class:`LocalFeatureInteractor`.
        lfi_self_logit: LFI softmax with the released code's self logit
            (11 logits; False: the ten token logits only, as the printed
            paper describes).
        stf_mode: ``'tiled'`` or ``'faithful'``, see above.
        stf_tile_size: LR side of the tiles of ``'tiled'``.
        stf_num_keys: Keys per tile of ``'tiled'`` (2304 = 48^2, the
            training queries per image).
        stf_query_block: See :class:`SelfTextureFusion` (memory only).
        image_skip: Add the bilinearly upsampled LR input (LTE; ISTE's code
            has it commented out).
    """

    def __init__(self,
                 in_channels: int = 64,
                 hidden_dim: int = 256,
                 pixel_decoder: Optional[dict] = None,
                 texture_decoder: Optional[dict] = None,
                 use_lfi: bool = True,
                 use_stf: bool = True,
                 use_texture_decoder: bool = True,
                 lfi_heads: int = 8,
                 self_value: bool = False,
                 detach_kv: bool = False,
                 lfi_token_layout: str = 'window',
                 lfi_self_logit: bool = True,
                 stf_mode: str = 'tiled',
                 stf_tile_size: int = 48,
                 stf_num_keys: int = 2304,
                 stf_query_block: int = 1024,
                 image_skip: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if stf_mode not in STF_MODES:
            raise ValueError(
                f'stf_mode must be one of {STF_MODES}, got {stf_mode!r}')
        if stf_tile_size < 1 or stf_num_keys < 1:
            raise ValueError('stf_tile_size and stf_num_keys must be >= 1, '
                             f'got {stf_tile_size} and {stf_num_keys}')
        self.stf_mode = stf_mode
        self.stf_tile_size = stf_tile_size
        self.image_skip = image_skip
        self.lfi = LocalFeatureInteractor(
            in_channels, lfi_heads, self_value=self_value,
            detach_kv=detach_kv,
            token_layout=lfi_token_layout,
            self_logit=lfi_self_logit) if use_lfi else None
        self.pixel_conv = nn.Conv2d(in_channels, hidden_dim, 3, padding=1)
        self.texture_learner = TextureLearner(in_channels, hidden_dim)
        self.stf = SelfTextureFusion(
            hidden_dim, stf_query_block) if use_stf else None
        mlp = dict(type='MLP', out_dim=3, hidden_list=[256] * 3)
        self.pixel_decoder = MODELS.build(
            pixel_decoder or mlp, default_args=dict(in_dim=hidden_dim + 4))
        self.texture_decoder = MODELS.build(
            texture_decoder or mlp, default_args=dict(
                in_dim=hidden_dim)) if use_texture_decoder else None
        self.register_buffer(
            'key_positions', r2_positions(stf_num_keys), persistent=False)

    def prepare(self, feat: torch.Tensor,
                inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Pixel map ``(B, D, h, w)`` and texture maps ``(B, 3 D, h, w)``,
        computed once per image."""
        pixel = self.lfi(feat) if self.lfi is not None else feat
        return dict(
            pixel=self.pixel_conv(pixel),
            texture=self.texture_learner.maps(feat),
            inputs=inputs)

    def decode(self, state: Dict[str, torch.Tensor], coord: torch.Tensor,
               cell: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The two branches of every query before the local ensemble blends
        them, for ``(B, N, 2)`` coord/cell: ``pixel_rgb`` (Local Pixel
        Decoder) and ``texture_rgb`` (Local Texture Decoder, absent without
        it), ``(B, 4, N, 3)`` each; the ensemble ``weight`` ``(B, 4, N)``;
        with STF the coordinate ``key_coord`` ``(B, 4, N, 2)`` of the texture
        each code retrieved and its cosine similarity ``score`` ``(B, 4,
        N)``."""
        lr_shape = state['pixel'].shape[-2:]
        q = ensemble_query(coord, lr_shape)
        rel_cell = (cell * cell.new_tensor(lr_shape))[:, None]
        texture = self.texture_learner(
            gather_codes(state['texture'], q.row, q.col), q.rel_coord,
            rel_cell)  # (B, 4, N, D)
        pixel = gather_codes(state['pixel'], q.row, q.col)
        out = dict(weight=q.weight)
        if self.stf is not None and self.stf_mode == 'faithful':
            score, index = self.stf.retrieve(pixel, texture)
            pixel = self.stf.fuse_texture(
                pixel, self.stf.gather(texture, index), score)
            out.update(score=score, key_coord=self.stf.gather(
                coord[:, None].expand(*index.shape, 2), index))
        elif self.stf is not None:
            pixel, out['key_coord'], out['score'] = self._tiled_fusion(
                state['texture'], pixel, coord, cell)
        out['pixel_rgb'] = self.pixel_decoder(
            torch.cat([pixel, q.rel_coord,
                       rel_cell.expand_as(q.rel_coord)], -1))
        if self.texture_decoder is not None:
            out['texture_rgb'] = self.texture_decoder(texture)
        return out

    def query(self, state: Dict[str, torch.Tensor], coord: torch.Tensor,
              cell: torch.Tensor) -> torch.Tensor:
        """RGB ``(B, N, 3)`` at ``coord`` with cells ``cell``."""
        parts = self.decode(state, coord, cell)
        pred = parts['pixel_rgb']
        if 'texture_rgb' in parts:
            pred = pred + parts['texture_rgb']
        pred = (pred * parts['weight'][..., None]).sum(1)
        if self.image_skip:
            pred = pred + bilinear_skip(state['inputs'], coord)
        return pred

    def forward(self, feat: torch.Tensor, coord: torch.Tensor,
                cell: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        return self.query(self.prepare(feat, inputs), coord, cell)

    def tile_keys(self, texture_maps: torch.Tensor, start: Tuple[int, int],
                  size: Tuple[int, int],
                  rel_cell: torch.Tensor) -> torch.Tensor:
        """Key textures ``(4, K, D)`` (one set per ensemble shift) of the
        tile at LR pixel ``start`` of ``size``, from the TextureLearner maps
        ``(1, 3 D, h, w)`` of one image and its relative cell ``(2, )``."""
        lr_shape = texture_maps.shape[-2:]
        offset = rel_cell.new_tensor(start)
        extent = rel_cell.new_tensor(size)
        positions = offset + self.key_positions.to(rel_cell) * extent
        coord = positions / rel_cell.new_tensor(lr_shape) * 2 - 1
        q = ensemble_query(coord[None], lr_shape)
        return self.texture_learner(
            gather_codes(texture_maps, q.row, q.col), q.rel_coord,
            rel_cell)[0]

    def _tiled_fusion(
        self, texture_maps: torch.Tensor, pixel: torch.Tensor,
        coord: torch.Tensor, cell: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """STF of pixel codes ``(B, 4, N, D)`` against the key set of each
        query's tile (``stf_mode='tiled'``): the fused codes, the coordinate
        of each retrieved key ``(B, 4, N, 2)`` and its similarity ``(B, 4,
        N)``."""
        lr_shape = texture_maps.shape[-2:]
        rows, row_starts, row_size = tile_axis(coord[..., 0], lr_shape[0],
                                               self.stf_tile_size)
        cols, col_starts, col_size = tile_axis(coord[..., 1], lr_shape[1],
                                               self.stf_tile_size)
        tiles = rows * len(col_starts) + cols  # (B, N)
        size = coord.new_tensor(lr_shape)
        fused, key_coords, scores = [], [], []
        for b in range(pixel.size(0)):
            if not torch.equal(cell[b], cell[b, :1].expand_as(cell[b])):
                raise ValueError("stf_mode='tiled' needs one cell for all "
                                 f'queries of an image; image {b} has '
                                 f'{len(cell[b].unique(dim=0))} different')
            rel_cell = cell[b, 0] * cell.new_tensor(lr_shape)
            texture = torch.zeros_like(pixel[b])
            score = pixel.new_zeros(pixel.shape[1:3])
            key_coord = coord.new_zeros(*pixel.shape[1:3], 2)
            for tile in tiles[b].unique().tolist():
                row, col = divmod(tile, len(col_starts))
                start = (row_starts[row], col_starts[col])
                keys = self.tile_keys(texture_maps[b:b + 1], start,
                                      (row_size, col_size), rel_cell)
                index = (tiles[b] == tile).nonzero()[:, 0]
                best, key_index = self.stf.retrieve(pixel[b][:, index], keys)
                texture[:, index] = self.stf.gather(keys, key_index).to(
                    texture.dtype)
                score[:, index] = best.to(score.dtype)
                position = coord.new_tensor(start) + self.key_positions.to(
                    coord)[key_index] * coord.new_tensor([row_size,
                                                          col_size])
                key_coord[:, index] = position / size * 2 - 1
            fused.append(self.stf.fuse_texture(pixel[b], texture, score))
            key_coords.append(key_coord)
            scores.append(score)
        return torch.stack(fused), torch.stack(key_coords), torch.stack(
            scores)

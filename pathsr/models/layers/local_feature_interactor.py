"""Local Feature Interactor of ISTE (Qu et al., MICCAI 2023, Sec. 2.1, Eq. 1).

Each LR position attends, with its own feature as query, over the mean and
nine tokens of the 3x3 window around it: ``(B, C, h, w) -> (B, C, h, w)``.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from pathsr.registry import MODELS

TOKEN_LAYOUTS = ('window', 'released')


@MODELS.register_module()
class LocalFeatureInteractor(BaseModule):
    """Pixel-wise attention over a 3x3 window (ISTE's ``pix_attn``).

    For the feature ``x`` of an LR position, the ten key/value tokens are a
    global token followed by nine window tokens of its 3x3 window (centre
    included; reflect padding at the border), laid out by ``token_layout``:

    - ``'window'`` (paper Eq. 1): token ``j`` is the feature vector at window
      position ``j`` (raster order); the global token is their mean.
    - ``'released'`` (the authors' released ``pix_attn``): the channel-major
      ``(C, 3, 3)`` window is reshaped in memory to ``(9, C)``, so token
      ``j`` holds the flat elements ``j C .. j C + C - 1`` of the vector
      indexed ``c * 9 + p`` (channels and positions mixed); the global token
      is the mean of these nine rows. Released weights need this layout.

    ``Linear(C -> 2C)`` of ``x`` gives the query ``q`` and a second vector
    ``q'``; ``Linear(C -> 2C)`` of the tokens gives keys and values. Per head
    (``num_heads`` heads of ``d = C / num_heads`` channels) the softmax runs
    over eleven logits: the ten ``d^-0.5 q . k_j`` and the unscaled "self"
    logit ``q . q'`` of the official code (over the ten alone, as the
    printed paper describes, without ``self_logit``). The head output is
    ``sum_j a_j v_j``, plus ``a_self q'`` with ``self_value``; the heads are
    concatenated and projected by ``Linear(C -> C)``. There is no residual
    connection.

    Args:
        in_channels: ``C``, the channels of the LR features.
        num_heads: Attention heads; must divide ``in_channels``.
        self_value: Add ``a_self q'`` to the output, as the first code
            release (2023-04) did; the released code at HEAD (2024-01) only
            lets the self logit absorb probability mass (False).
        detach_kv: Stop gradients through the key/value tokens, as the
            official NumPy window extraction does; forward values are the
            same either way.
        qkv_bias: Bias of the query and key/value projections.
        token_layout: ``'window'`` or ``'released'``, see above.
        self_logit: Add the self logit to the softmax (the released code);
            False softmaxes the ten token logits only, and ``q'`` is unused.
    """

    num_tokens = 10  # the global token and the nine window tokens

    def __init__(self,
                 in_channels: int = 64,
                 num_heads: int = 8,
                 self_value: bool = False,
                 detach_kv: bool = False,
                 qkv_bias: bool = True,
                 token_layout: str = 'window',
                 self_logit: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if token_layout not in TOKEN_LAYOUTS:
            raise ValueError(f'token_layout must be one of {TOKEN_LAYOUTS}, '
                             f'got {token_layout!r}')
        self.token_layout = token_layout
        if self_value and not self_logit:
            raise ValueError('self_value=True needs the self logit '
                             '(self_logit=True)')
        self.self_logit = self_logit
        if num_heads < 1 or in_channels % num_heads:
            raise ValueError(f'num_heads={num_heads} must be >= 1 and divide '
                             f'in_channels={in_channels}')
        self.num_heads = num_heads
        self.self_value = self_value
        self.detach_kv = detach_kv
        self.scale = (in_channels // num_heads)**-0.5
        self.qk = nn.Linear(in_channels, 2 * in_channels, bias=qkv_bias)
        self.kv = nn.Linear(in_channels, 2 * in_channels, bias=qkv_bias)
        self.proj = nn.Linear(in_channels, in_channels)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """The key/value tokens of every position: ``(B * h * w, 10, C)``,
        token 0 the global token, tokens 1-9 the window tokens of
        ``token_layout``."""
        batch, channels, height, width = x.shape
        window = F.unfold(F.pad(x, (1, 1, 1, 1), mode='reflect'), 3)
        window = window.view(batch, channels, 9, height * width)
        if self.token_layout == 'window':
            window = window.permute(0, 3, 2, 1).flatten(0, 1)
        else:  # the (C, 3, 3) window of a position, reshaped to (9, C)
            window = window.permute(0, 3, 1, 2).reshape(-1, 9, channels)
        return torch.cat([window.mean(1, keepdim=True), window], 1)

    def attention(self,
                  x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Head outputs ``(B * h * w, heads, d)`` before the projection and
        the attention weights ``(B * h * w, heads, 11)``, the self weight
        last (``(B * h * w, heads, 10)`` without ``self_logit``)."""
        centre = x.permute(0, 2, 3, 1).flatten(0, 2)  # (B * h * w, C)
        tokens = self.tokens(x.detach() if self.detach_kv else x)
        q, q_self = self.qk(centre).unflatten(-1, (2, self.num_heads, -1))\
            .unbind(1)  # (N, heads, d) each
        k, v = self.kv(tokens).unflatten(-1, (2, self.num_heads, -1))\
            .permute(2, 0, 3, 1, 4)  # (N, heads, 10, d) each
        logits = torch.einsum('nhd,nhtd->nht', q * self.scale, k)
        if self.self_logit:
            logits = torch.cat([logits, (q * q_self).sum(-1, keepdim=True)],
                               -1)
        weights = logits.softmax(-1)
        out = torch.einsum('nht,nhtd->nhd', weights[..., :self.num_tokens], v)
        if self.self_value:
            out = out + weights[..., -1:] * q_self
        return out, weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        out = self.proj(self.attention(x)[0].flatten(1))
        return out.view(batch, height, width, channels).permute(0, 3, 1, 2)

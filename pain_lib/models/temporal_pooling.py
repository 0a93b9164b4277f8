"""Set models: a 2D backbone over a short sequence of images, pooled over time, then a head.

``image_sequence`` (family ``"image-sequence"``) takes ``(B, K, C, H, W)`` -- e.g. the ``ahdi`` paper's
multiple dynamic images of one video (MDV) -- runs the registered 2D ``backbone`` on every image
(``(B·K, C, H, W) -> (B·K, D)`` pooled features), pools the ``K`` feature vectors with a
temporal pooling layer and applies a :class:`~pain_lib.models.Head`::

    net = get_model("image_sequence", backbone="resnet18", backbone_cfg={"width": 8}, pooling="attention",
                    head="regression")

Poolings (:data:`POOLINGS`), each ``(B, K, D) -> (B, D')``:

=============  ==========================================================================
``average``    mean over the K features
``max``        element-wise maximum
``rank``       approximate rank pooling of the feature sequence (the ``ahdi`` paper's Eq. 6,
               the "evolving map" of Fernando et al.): ``sum_t alpha_t F_t`` with the
               approximate rank-pooling weights ``alpha_t`` of :mod:`pain_lib.preprocess.rank_pooling`
``lstm``       a one-layer LSTM over the sequence; its last hidden state (``hidden`` units)
``attention``  temporal attention pooling (Eqs. 7-11): ``a_t = W2 tanh(W1 F_t + b1) + b2``,
               ``alpha = softmax_t(a)``, ``F* = sum_t alpha_t F_t`` (:class:`TemporalAttention`)
=============  ==========================================================================
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from ..preprocess.rank_pooling import approx_rank_pooling_weights
from .registry import get_model, model_family, register_model
from .video_net import Head, HeadedNet, init_weights

__all__ = ["POOLINGS", "TemporalAttention", "RankPool", "LSTMPool", "make_pooling", "ImageSequenceNet"]


class TemporalAttention(nn.Module):
    """Temporal attention pooling (``ahdi`` Eqs. 7-11): ``(B, K, D) -> (B, D)``.

    ``hidden`` is the width of ``W1`` (default ``D // 4``, at least 8). :meth:`weights` returns
    the attention weights ``alpha (B, K)`` (they sum to 1 over ``K``; permuting the inputs
    permutes them)."""

    def __init__(self, dim: int, hidden: int = 0) -> None:
        super().__init__()
        hidden = hidden or max(8, dim // 4)
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.out_features = dim

    def weights(self, f: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.score(f).squeeze(-1), dim=1)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return (self.weights(f).unsqueeze(-1) * f).sum(1)


class RankPool(nn.Module):
    """Approximate rank pooling of a feature sequence (``ahdi`` Eq. 6): ``(B, K, D) -> (B, D)``;
    one feature vector gives itself (a sequence of one has no order)."""

    out_features: int

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.out_features = dim

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        k = f.shape[1]
        if k < 2:
            return f[:, 0]
        a = torch.as_tensor(approx_rank_pooling_weights(k), dtype=f.dtype, device=f.device)
        return torch.einsum("k,bkd->bd", a, f)


class LSTMPool(nn.Module):
    """A one-layer LSTM over the sequence; its last hidden state ``(B, hidden)``."""

    def __init__(self, dim: int, hidden: int = 0) -> None:
        super().__init__()
        self.out_features = hidden or dim
        self.lstm = nn.LSTM(dim, self.out_features, batch_first=True)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(f)
        return h[-1]


class _Reduce(nn.Module):
    def __init__(self, dim: int, how: str) -> None:
        super().__init__()
        self.out_features, self.how = dim, how

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return f.mean(1) if self.how == "average" else f.amax(1)


POOLINGS = ("average", "max", "rank", "lstm", "attention")


def make_pooling(kind: str, dim: int, hidden: int = 0) -> nn.Module:
    """The temporal pooling ``kind`` (:data:`POOLINGS`) over ``dim``-dimensional features."""
    if kind in ("average", "max"):
        return _Reduce(dim, kind)
    if kind == "rank":
        return RankPool(dim)
    if kind == "lstm":
        return LSTMPool(dim, hidden)
    if kind == "attention":
        return TemporalAttention(dim, hidden)
    raise ValueError(f"unknown temporal pooling {kind!r}; poolings: {', '.join(POOLINGS)}")


class ImageSequenceNet(HeadedNet):
    """``(B, K, C, H, W)`` -> per-image features of ``backbone`` -> temporal ``pooling`` -> head
    (see the module docstring). ``forward_features`` gives the per-image features ``(B, K, D)``."""

    def __init__(self, backbone: nn.Module, pooling: nn.Module, *, head: str = "regression", num_outputs: int = 1,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.backbone, self.pooling = backbone, pooling
        self.num_features = int(pooling.out_features)
        self.head = Head(self.num_features, kind=head, num_outputs=num_outputs, dropout=dropout)
        init_weights(self.head)
        self.model_spec: dict[str, Any] | None = None

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"expected a batch of image sequences (B, K, C, H, W), got shape {tuple(x.shape)}")
        b, k = x.shape[:2]
        return self.backbone(x.flatten(0, 1)).reshape(b, k, -1)

    def forward_head(self, feats: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        return self.head(self.pooling(feats), pre_logits=pre_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


@register_model(family="image-sequence")
def image_sequence(*, backbone: str = "resnet2d", backbone_cfg: dict | None = None, pooling: str = "attention",
                   pooling_hidden: int = 0, head: str = "regression", num_outputs: int = 1,
                   dropout: float = 0.0) -> ImageSequenceNet:
    """A registered 2D ``backbone`` (builder arguments ``backbone_cfg``) over ``(B, K, C, H, W)``
    image sequences, pooled over ``K`` by ``pooling`` (``average``, ``max``, ``rank``, ``lstm``,
    ``attention``; ``pooling_hidden``: the LSTM's / attention's hidden width, 0 = default), then
    the head (``regression`` / ``classification`` / ``none``)."""
    if model_family(backbone) != "image":
        raise ValueError(f"the backbone of an image sequence must be a 2D (image) model, got {backbone!r}")
    net = get_model(backbone, **{**dict(backbone_cfg or {}), "head": "none"})
    return ImageSequenceNet(net, make_pooling(pooling, int(net.num_features), pooling_hidden), head=head,
                            num_outputs=num_outputs, dropout=dropout)

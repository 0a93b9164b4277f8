"""A 2D bottleneck ResNet of any depth and width, from timm: the 2D counterpart of Res3D / SCN.

The SCN paper's knowledge transfer pairs the 3D network with a pre-trained 2D ResNet whose
"architecture is similar". :func:`resnet2d` builds that network: the 2D bottleneck ResNet with
the same blocks per stage as the 3D network of the same ``depth``
(:data:`~pain_lib.models.zoo.BOTTLENECK_LAYERS`: 26, 41, 50, 101, 152) and the same
``base_width`` (stage widths ``w, 2w, 4w, 8w``, outputs ``4×`` that). It is timm's
``ResNet`` (the standard implementation), without its classifier: ``(B, 3, H, W) -> (B, D)``
pooled features with ``D = num_features = 32 · base_width``.
"""

from __future__ import annotations

from typing import Any

import torch.nn as nn

from .registry import register_model
from .zoo import BOTTLENECK_LAYERS, DEPTH_ALIASES

__all__ = ["resnet2d"]


@register_model
def resnet2d(*, depth: int = 50, base_width: int = 64, in_channels: int = 3, **common: Any) -> nn.Module:
    """2D bottleneck ResNet (timm) with the 3D network's blocks per stage, as a feature extractor.

    Args:
        depth: 26, 41 (39 accepted), 50, 101 or 152 (blocks per stage as Res3D/SCN).
        base_width: stem and first-stage width (paper: 64).
        in_channels: input channels.
    """
    from timm.models.resnet import Bottleneck, ResNet

    if common.get("head", "none") != "none":
        raise ValueError("resnet2d is a feature extractor: head must be 'none'")
    d = DEPTH_ALIASES.get(depth, depth)
    if d not in BOTTLENECK_LAYERS:
        raise ValueError(f"depth must be one of {sorted([*BOTTLENECK_LAYERS, *DEPTH_ALIASES])}, got {depth!r}")
    w = int(base_width)
    net = ResNet(Bottleneck, list(BOTTLENECK_LAYERS[d]), num_classes=0, in_chans=in_channels, stem_width=w,
                 channels=(w, 2 * w, 4 * w, 8 * w))
    return net

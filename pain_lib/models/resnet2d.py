"""A 2D bottleneck ResNet of any depth and width, from timm: the 2D counterpart of Res3D / SCN.

The SCN paper's knowledge transfer pairs the 3D network with a pre-trained 2D ResNet whose
"architecture is similar". :func:`resnet2d` builds that network: the 2D bottleneck ResNet with
the same blocks per stage as the 3D network of the same ``depth``
(:data:`~pain_lib.models.zoo.BOTTLENECK_LAYERS`: 26, 41, 50, 101, 152) and the same
``base_width`` (stage widths ``w, 2w, 4w, 8w``, outputs ``4×`` that). It is timm's ``ResNet``
(the standard implementation) inside an :class:`~pain_lib.models.ImageNet`:
``(B, 3, H, W) -> head``; with ``head="none"`` the pooled features ``(B, 32 · base_width)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .image_nets import ImageNet, _adapt_first_conv
from .registry import register_model
from .zoo import BOTTLENECK_LAYERS, DEPTH_ALIASES

__all__ = ["resnet2d", "torchvision_resnet_state"]


def torchvision_resnet_state(depth: int) -> tuple[dict | None, str | None]:
    """torchvision's ImageNet ResNet-``depth`` weights from the local torch hub cache (never
    downloaded; the names fit timm's ResNet), without the classifier; ``(None, None)`` when the
    file is not there or torchvision has no such network."""
    import torchvision

    name = f"resnet{depth}"
    if name not in torchvision.models.list_models():
        return None, None
    weights = torchvision.models.get_model_weights(name).DEFAULT
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    if not path.is_file():
        return None, None
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v for k, v in state.items() if not k.startswith("fc.")}, str(weights)


@register_model(family="image", min_size=1)
def resnet2d(*, depth: int = 50, base_width: int = 64, weights: str = "none", in_channels: int = 3,
             **common: Any) -> ImageNet:
    """2D bottleneck ResNet (timm) with the 3D network's blocks per stage and width.

    Args:
        depth: 26, 41 (39 accepted), 50, 101 or 152 (blocks per stage as Res3D/SCN).
        base_width: stem and first-stage width (paper: 64).
        weights: ``"none"`` (random) or ``"auto"``: torchvision's ImageNet weights from the local
            cache when the network is a paper-width ResNet-50/101/152 and the file is there (never
            downloaded), else random; ``model.weights_provenance`` says which.
        in_channels, head, num_outputs, dropout: the image family's common arguments.
    """
    from timm.models.resnet import Bottleneck, ResNet

    d = DEPTH_ALIASES.get(depth, depth)
    if d not in BOTTLENECK_LAYERS:
        raise ValueError(f"depth must be one of {sorted([*BOTTLENECK_LAYERS, *DEPTH_ALIASES])}, got {depth!r}")
    if weights not in ("none", "auto"):
        raise ValueError(f"weights must be 'none' or 'auto', got {weights!r}")
    w = int(base_width)
    trunk = ResNet(Bottleneck, list(BOTTLENECK_LAYERS[d]), num_classes=0, stem_width=w, channels=(w, 2 * w, 4 * w, 8 * w))
    prov: dict[str, Any] = {"source": "random-init", "weights": None}
    if weights == "auto" and w == 64:
        state, label = torchvision_resnet_state(d)
        if state is not None:
            trunk.load_state_dict(state, strict=False)
            prov = {"source": "torchvision-cache", "weights": label, "pretrained_on": "ImageNet-1k"}
    if in_channels != 3:
        _adapt_first_conv(trunk, in_channels)
    return ImageNet(trunk, weights_provenance=prov, **common)

"""Table 3's 3D counterparts of the 2D backbones: "we replace 2D filters of CNNs by 3D filters".

Each 2D network of the table has a 3D network of the same layout in the library's zoo
(:mod:`pain_lib.models.inflate` lists the pairs); :func:`counterpart_3d` gives its builder
arguments at a width, and :class:`InflatedClipRecipe` is the engine's clip recipe whose 3D
network starts from the 2D network's filters inflated I3D-style (each ``k x k`` kernel repeated
over ``t`` frames and divided by ``t``; BatchNorm copied), so the 2D and the 3D model of a row
start from the same filters. With replicate temporal padding a static clip through the inflated
network gives exactly the 2D network's output on its frame (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch.nn as nn

from ...data.base import Sample
from ...experiments import ClipRecipe
from ...experiments.recipe import FitContext
from ...models import get_model, inflate_2d_to_3d

__all__ = ["INFLATION", "counterpart_3d", "inflated_pair", "InflatedClipRecipe"]

#: 2D model -> (3D model, 3D layout arguments, whether its width follows the 2D ``width``,
#: frames a clip needs at least: VGG3D's four round-down temporal pools need 16)
INFLATION: dict[str, tuple[str, dict[str, Any], bool, int]] = {
    "resnet18": ("r3d", {"depth": 18, "stem_pool": True}, True, 1),
    "resnet50": ("res3d", {"depth": 50, "stem_pool": True}, True, 1),
    "vgg16": ("vgg3d", {"batch_norm": False, "pool_ceil_mode": False, "pool5": True, "head_hidden": ()}, True, 16),
    "googlenet": ("inception3d", {"bn_eps": 1e-3, "pool_layout": "torchvision"}, False, 1),
}


def counterpart_3d(model2d: str, cfg2d: dict[str, Any]) -> tuple[str, dict[str, Any], int]:
    """``(3D model, its builder arguments, minimum clip length)`` of the 2D ``model2d`` built
    with ``cfg2d`` (a narrow 2D ``width`` becomes the 3D ``base_width``; GoogLeNet has
    torchvision's fixed width); temporal padding replicates the end frames."""
    if model2d not in INFLATION:
        raise ValueError(f"no 3D counterpart of {model2d!r}; Table 3's backbones: {', '.join(INFLATION)}")
    name, layout, narrow, frames = INFLATION[model2d]
    cfg = {**layout, "temporal_padding": "replicate"}
    if narrow:
        cfg["base_width"] = int(cfg2d.get("width", 64))
    return name, cfg, frames


def inflated_pair(model2d: str, cfg2d: dict[str, Any], **head: Any) -> tuple[nn.Module, nn.Module]:
    """The 2D network and its 3D counterpart with the inflated filters (``head``: the heads'
    builder arguments, e.g. ``head="none"``)."""
    net2d = get_model(model2d, **cfg2d, **head)
    name, cfg3d, _ = counterpart_3d(model2d, cfg2d)
    net3d = get_model(name, **cfg3d, **head)
    inflate_2d_to_3d(net2d, net3d)
    return net2d, net3d


@dataclass(frozen=True)
class InflatedClipRecipe(ClipRecipe):
    """The engine's clip recipe on the 3D counterpart of ``model2d`` (built with ``cfg2d``),
    whose filters start as the inflated filters of the 2D network initialised with the fold's
    seed -- the initialisation the 2D row's :class:`~pain_lib.experiments.ImageRecipe` starts from."""

    model2d: str = "resnet18"
    cfg2d: dict[str, Any] = field(default_factory=dict)

    name = "inflated"

    def label(self) -> str:
        return f"{self.model}-from-{self.model2d}"

    def initial_state(self, samples: Sequence[Sample], y: np.ndarray | None,
                      ctx: FitContext) -> tuple[dict | None, dict[str, Any]]:
        import torch

        torch.manual_seed(ctx.seed)
        net2d = get_model(self.model2d, **self.cfg2d, head="none")
        net3d = get_model(self.model, **dict(self.cfg), head="none")
        inflate_2d_to_3d(net2d, net3d)
        return net3d.state_dict(), {"inflated_from": self.model2d}

"""2D -> 3D weight inflation (I3D, Carreira & Zisserman 2017): one function,
:func:`inflate_2d_to_3d`.

A 2D network ``(B, 3, H, W)`` and a 3D network ``(B, 3, T, H, W)`` *of the same layout* are
matched layer by layer, in module order (no name tables): the i-th ``Conv2d`` / ``BatchNorm2d``
/ ``MaxPool2d`` of the 2D network to the i-th ``Conv3d`` / ``BatchNorm3d`` / ``MaxPool3d`` of the
3D one, ``Linear`` layers (the classifier) only with ``head=True``. Every pair must agree in
channels, spatial kernel, stride, padding, dilation and groups (convs), eps and affine
(BatchNorm: eps is checked, not copied, since it is part of the 3D network's layout), and
spatial kernel, stride, padding and ``ceil_mode`` (max-pools); the first that does not fit
raises a ``ValueError`` naming both layers (and the builder argument that fixes it, if any).

* ``Conv2d`` ``k×k`` -> ``Conv3d`` ``t×k×k``: the 2D kernel repeated over the ``t`` temporal taps
  and divided by ``t`` (so a clip whose frames are all the same gives the 2D response);
* ``BatchNorm`` (affine parameters and running statistics) and ``Linear``: copied.

Layouts that match (torchvision -> the library, see :mod:`pain_lib.models.zoo`; the 2D
networks as ``get_model(name)`` or plain torchvision models)::

    resnet18 / resnet34    -> get_model("r3d", depth=18 / 34, stem_pool=True, temporal_padding="replicate")
    resnet50 / 101 / 152   -> get_model("res3d", depth=50 / 101 / 152, stem_pool=True,
                                        temporal_padding="replicate")
    vgg16                  -> get_model("vgg3d", batch_norm=False, pool_ceil_mode=False, pool5=True,
                                        temporal_padding="replicate")          # trunk only
    googlenet              -> get_model("inception3d", bn_eps=1e-3, pool_layout="torchvision",
                                        temporal_padding="replicate")

with the same width on both sides (``width=w`` of the 2D ResNets / VGG-16 = ``base_width=w`` of
the 3D builder; GoogLeNet has torchvision's fixed width, ``base_width=64``).
``stem_pool=True`` restores the 2D ResNet's stem max-pool (the SCN paper's Res3D removes it).
VGG-16 has no BatchNorm, round-down pools and a fifth pool after conv5; its fc6/fc7 do not
inflate (VGG-16 flattens a ``7×7`` map, VGG3D pools globally), so inflate the trunk
(``head=False``) and compare feature maps. With round-down pools VGG3D needs ``2^k`` frames for
its ``k`` temporal pools (16). GoogLeNet's BatchNorm eps is 1e-3 and its pools are unpadded
``ceil_mode`` pools (``2×2`` before Mixed 5); the 2D GoogLeNet must have no auxiliary
classifiers (``get_model("googlenet")`` removes them), and with ImageNet weights it
re-normalises its input (``transform_input``), which the 3D network leaves to the caller.
``temporal_padding="replicate"`` pads time by repeating the first/last frame (space by zeros):
then a **static clip** (one frame repeated ``T`` times) through the inflated 3D network gives
exactly the 2D network's output on that frame. With zero temporal padding (the default of the
builders) the clip's first and last frames see zeros and the outputs differ (ResNet-18, 8
frames: by up to a third of the features' range). Temporal kernels and strides are free (the
Res3D ``1×1×3`` pointwise convs inflate too).

Example::

    net2d = torchvision.models.resnet50()                      # or get_model("resnet50", weights="auto")
    net3d = get_model("res3d", depth=50, stem_pool=True, temporal_padding="replicate")
    inflate_2d_to_3d(net2d, net3d)                              # trunk only; the 3D head keeps its init
"""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["inflate_2d_to_3d", "inflate_conv_weight"]

# 2D type -> (3D type, kind)
_PAIRS: dict[type[nn.Module], tuple[type[nn.Module], str]] = {
    nn.Conv2d: (nn.Conv3d, "conv"),
    nn.BatchNorm2d: (nn.BatchNorm3d, "norm"),
    nn.MaxPool2d: (nn.MaxPool3d, "pool"),
    nn.Linear: (nn.Linear, "linear"),
}


def inflate_conv_weight(weight: torch.Tensor, temporal: int) -> torch.Tensor:
    """``(O, I, kh, kw)`` -> ``(O, I, temporal, kh, kw)``: repeated over time, divided by ``temporal``."""
    return weight.unsqueeze(2).repeat(1, 1, temporal, 1, 1) / temporal


def _kind(m: nn.Module, dim: int) -> str | None:
    for t2, (t3, kind) in _PAIRS.items():
        if isinstance(m, t2 if dim == 2 else t3):
            return kind
    return None


def _layers(net: nn.Module, dim: int, side: str) -> list[tuple[str, nn.Module, str]]:
    """``(name, module, kind)`` of the layers inflation maps, in module order; any other module
    holding parameters cannot be inflated."""
    out = []
    for name, m in net.named_modules():
        kind = _kind(m, dim)
        if kind is not None:
            out.append((name or "<root>", m, kind))
        elif any(True for _ in m.parameters(recurse=False)):
            own = ", ".join(n for n, _ in m.named_parameters(recurse=False))
            raise ValueError(
                f"cannot inflate: {side} module {name or '<root>'!r} ({type(m).__name__}) holds parameters "
                f"({own}) that are not a conv, BatchNorm or Linear layer"
            )
    return out


def _spatial(v, n: int) -> tuple:
    t = (v,) * n if isinstance(v, int) else tuple(v)
    return t[-2:]


def _misfit(kind: str, m2: nn.Module, m3: nn.Module) -> str | None:
    """Why ``m3`` cannot take ``m2``'s weights (``None`` if it can)."""
    if kind == "conv":
        checks = {
            "channels (out, in)": (tuple(m2.weight.shape[:2]), tuple(m3.weight.shape[:2])),
            "spatial kernel": (tuple(m2.kernel_size), tuple(m3.kernel_size[1:])),
            "spatial stride": (tuple(m2.stride), tuple(m3.stride[1:])),
            "spatial padding": (tuple(m2.padding), tuple(m3.padding[1:])),
            "spatial dilation": (tuple(m2.dilation), tuple(m3.dilation[1:])),
            "groups": (m2.groups, m3.groups),
            "bias": (m2.bias is not None, m3.bias is not None),
        }
    elif kind == "norm":
        checks = {"channels": (m2.num_features, m3.num_features), "eps": (m2.eps, m3.eps),
                  "affine": (m2.affine, m3.affine)}
    elif kind == "pool":
        checks = {
            "spatial kernel": (_spatial(m2.kernel_size, 2), _spatial(m3.kernel_size, 3)),
            "spatial stride": (_spatial(m2.stride, 2), _spatial(m3.stride, 3)),
            "spatial padding": (_spatial(m2.padding, 2), _spatial(m3.padding, 3)),
            "ceil_mode": (m2.ceil_mode, m3.ceil_mode),
        }
    else:
        checks = {"shape (out, in)": (tuple(m2.weight.shape), tuple(m3.weight.shape)),
                  "bias": (m2.bias is not None, m3.bias is not None)}
    bad = [f"{what} {a} vs {b}" for what, (a, b) in checks.items() if a != b]
    return "; ".join(bad) or None


def _hint(why: str) -> str:
    """The builder argument that fixes a misfit, where there is one."""
    if why.startswith("eps") or "; eps" in why:
        return " (build the 3D network with bn_eps equal to the 2D BatchNorm's eps, e.g. inception3d(bn_eps=1e-3))"
    if "ceil_mode" in why:
        return (" (the max-pools round differently: vgg3d(pool_ceil_mode=False) / "
                "inception3d(pool_layout='torchvision') match torchvision)")
    return ""


def _describe(name: str, m: nn.Module) -> str:
    w = getattr(m, "weight", None)
    shape = f" weight {tuple(w.shape)}" if isinstance(w, torch.Tensor) else ""
    return f"{name!r} ({type(m).__name__}{shape})"


@torch.no_grad()
def inflate_2d_to_3d(net2d: nn.Module, net3d: nn.Module, *, head: bool = False) -> nn.Module:
    """Copy a 2D network's weights into a 3D network of the same layout, I3D-style; in place.

    Args:
        net2d: e.g. a torchvision ``resnet18`` or ``get_model("resnet18", head="none")``.
        net3d: e.g. ``get_model("r3d", depth=18, stem_pool=True, temporal_padding="replicate")``.
        head: also copy the ``Linear`` layers (the classifier; shapes must agree, e.g. a 1000-way
            2D ``fc`` into ``head="classification", num_outputs=1000``). Default: the trunk only,
            the 3D head keeps its initialisation.

    Layers pair up in module order (see the module docstring); the first pair that does not fit
    raises ``ValueError`` naming both. Returns ``net3d``.
    """
    l2, l3 = _layers(net2d, 2, "2D"), _layers(net3d, 3, "3D")
    if not head:
        l2 = [x for x in l2 if x[2] != "linear"]
        l3 = [x for x in l3 if x[2] != "linear"]
    for i, ((n2, m2, k2), (n3, m3, k3)) in enumerate(zip(l2, l3)):
        if k2 != k3:
            hint = ""
            if "pool" in (k2, k3):
                hint = " (a max-pool on one side only: build the 3D ResNet with stem_pool=True, VGG3D with pool5=True?)"
            elif "norm" in (k2, k3):
                hint = " (a BatchNorm on one side only: VGG3D with batch_norm=False?)"
            raise ValueError(f"cannot inflate: layer {i}: 2D {_describe(n2, m2)} meets 3D {_describe(n3, m3)}{hint}")
        why = _misfit(k2, m2, m3)
        if why:
            raise ValueError(
                f"cannot inflate: 2D {_describe(n2, m2)} does not fit 3D {_describe(n3, m3)}: {why}{_hint(why)}"
            )
    if len(l2) != len(l3):
        more, (n, m, k) = ("2D", l2[len(l3)]) if len(l2) > len(l3) else ("3D", l3[len(l2)])
        hint = " (VGG-16's last max-pool: build VGG3D with pool5=True?)" if (more, k) == ("2D", "pool") else ""
        raise ValueError(
            f"cannot inflate: the 2D network has {len(l2)} mapped layers, the 3D one {len(l3)}; "
            f"first {more} layer without a partner: {_describe(n, m)}{hint}"
        )
    for (_, m2, kind), (_, m3, _) in zip(l2, l3):
        if kind == "pool":
            continue
        if m2.weight is not None:
            m3.weight.copy_(inflate_conv_weight(m2.weight, m3.weight.shape[2]) if kind == "conv" else m2.weight)
        if m2.bias is not None:
            m3.bias.copy_(m2.bias)
        if kind == "norm" and m2.track_running_stats and m3.track_running_stats:
            for buf in ("running_mean", "running_var", "num_batches_tracked"):
                getattr(m3, buf).copy_(getattr(m2, buf))
    return net3d

"""The dual-branch network of the ``hrg`` paper (Table I, Fig. 3): shared blocks, then a visual
and a physiological branch with their own parameters, each ending in spatio-temporal pooling
and a fully-connected layer.

::

    shared:   Conv3D 1×1×1, 64 (spatial stride 2)  ->  block 64  ->  block 128 (/2)  ->  block 256 (/2)
    branch:   block 256  ->  [attention, Eq. 1]  ->  block 512 (/2)  ->  pooling  ->  fc
    visual fc: class logits P_v;  physiological fc: the heart-rate gain h

A *block* is two convolutions of kernel ``3×3×3`` (paper notation ``s×s×t``) in the convolution
type of ``conv_type``:

==============  =================================================================================
``r2plus1d``    each 3D conv factorised into ``3×3×1`` (spatial) + ``1×1×3`` (temporal) with the
                mid-width ``M_i = floor(t d² N_{i-1} N_i / (d² N_{i-1} + t N_i))`` of Tran et al.
                2018 (per conv), BatchNorm + ReLU between them; residual shortcut (R(2+1)D)
``r3d``         full ``3×3×3`` convs with a residual shortcut
``c3d``         full ``3×3×3`` convs without shortcut
==============  =================================================================================

The attention of Eq. (1), ``Y = σ(W2 tanh(W1 X + b1) + b2) ⊙ X`` (``W1``, ``W2``: 1×1×1 convs;
one map over ``T×H×W`` shared by the channels), sits at ``attention_position`` 0 (none), 1-4
(after the shared Conv3D, block 64, block 128, block 256: one attention in the shared trunk) or
5 (after each branch's first block: Table I's place, one attention per branch). ``shared="full"``
makes the branches one module (Fig. 9: every feature layer shared, two fc layers).

The forward pass returns ``(N, 3K + 1)``: the visual logits (``K`` classes), ``h``, the logits of
the feature-fusion classifier (concatenated pooled features of both branches) and the logits of
the decision-fusion output layer of the physiological branch (Fig. 15's strategies). The
physiological output is mapped ``h = fc(x) * hrg_std + hrg_mean`` (buffers set from the training
fold, :meth:`DualBranchHead.set_target_scale`), so the layer learns a standardised HRG.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
import torch.nn as nn

from .blocks import ConvBNReLU, projection_shortcut
from .layers import conv2plus1d, conv3d, paper_kernel, triple
from .registry import register_model
from .video_net import init_weights

__all__ = ["HRGBlock", "SpatioTemporalAttention", "DualBranchNet", "DualBranchHead", "CONV_TYPES", "hrg_dual"]

CONV_TYPES = {"r2plus1d": conv2plus1d, "r3d": conv3d, "c3d": conv3d}
#: the printed name of each convolution type (Table II's columns)
CONV_LABELS = {"c3d": "C3D", "r3d": "R3D", "r2plus1d": "R(2+1)D"}


class HRGBlock(nn.Module):
    """Two ``3×3×3`` convolutions of ``conv_type`` (+ shortcut unless ``c3d``); the first carries
    the stride. ``out_channels = width``."""

    def __init__(self, in_channels: int, width: int, stride=1, *, conv_type: str = "r2plus1d") -> None:
        super().__init__()
        if conv_type not in CONV_TYPES:
            raise ValueError(f"conv_type must be one of {', '.join(CONV_TYPES)}, got {conv_type!r}")
        conv = CONV_TYPES[conv_type]
        self.conv_type, self.stride, self.out_channels = conv_type, triple(stride), width
        self.conv1 = ConvBNReLU(in_channels, width, 3, self.stride, conv=conv)
        self.conv2 = ConvBNReLU(width, width, 3, 1, conv=conv, relu=conv_type == "c3d")
        self.residual = conv_type != "c3d"
        if self.residual:
            self.bn_last = self.conv2[-1]
            needs = in_channels != width or any(s != 1 for s in self.stride)
            self.shortcut = projection_shortcut(in_channels, width, self.stride) if needs else nn.Identity()
            self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(x))
        return self.relu(y + self.shortcut(x)) if self.residual else y

    def factorised_convs(self) -> list[tuple[nn.Conv3d, nn.Conv3d]]:
        """The ``(spatial, temporal)`` conv pairs of an R(2+1)D block (empty otherwise)."""
        out = []
        for c in (self.conv1, self.conv2):
            convs = [m for m in c if isinstance(m, nn.Conv3d)]
            if len(convs) == 2:
                out.append((convs[0], convs[1]))
        return out

    def describe(self) -> str:
        if self.conv_type == "r2plus1d":
            parts = [f"3×3×1, {s.out_channels}; 1×1×3, {t.out_channels}" for s, t in self.factorised_convs()]
            return "[" + " | ".join(parts) + "] (M_i per conv)"
        kind = "residual" if self.residual else "plain"
        return f"[{paper_kernel((3, 3, 3))}, {self.out_channels}] ×2 ({kind})"


class SpatioTemporalAttention(nn.Module):
    """Eq. (1): ``Y = σ(W2 tanh(W1 X + b1) + b2) ⊙ X``; ``W1``: 1×1×1 conv ``D -> hidden``,
    ``W2``: 1×1×1 conv ``hidden -> 1``; the map ``(N, 1, T, H, W)`` multiplies every channel.
    The last map is kept in :attr:`last_map` (Fig. 8)."""

    def __init__(self, channels: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or max(1, channels // 4)
        self.w1 = nn.Conv3d(channels, hidden, 1, bias=True)
        self.w2 = nn.Conv3d(hidden, 1, 1, bias=True)
        self.last_map: torch.Tensor | None = None

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.w2(torch.tanh(self.w1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.attention_map(x)
        self.last_map = a.detach()
        return a * x

    def describe(self) -> str:
        return f"attention σ(W2 tanh(W1 X)) ⊙ X, 1×1×1 {self.w1.out_channels} -> 1"


class Branch(nn.Module):
    """One branch: block 256 -> [attention] -> block 512 (/2 in time and space)."""

    def __init__(self, in_channels: int, widths: tuple[int, int], *, conv_type: str, attention: bool) -> None:
        super().__init__()
        self.block1 = HRGBlock(in_channels, widths[0], 1, conv_type=conv_type)
        self.attention = SpatioTemporalAttention(widths[0]) if attention else nn.Identity()
        self.block2 = HRGBlock(widths[0], widths[1], 2, conv_type=conv_type)
        self.out_channels = widths[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block2(self.attention(self.block1(x)))


class DualBranchHead(nn.Module):
    """The fully-connected layers: visual ``fc -> K``, physiological ``fc -> 1`` (in HRG units via
    ``hrg_mean``, ``hrg_std``), feature fusion ``fc(concat) -> K``, decision fusion ``fc -> K``."""

    kind = "dual-branch"

    def __init__(self, features: int, classes: int) -> None:
        super().__init__()
        self.classes = classes
        self.visual = nn.Linear(features, classes)
        self.physiological = nn.Linear(features, 1)
        self.feature_fusion = nn.Linear(2 * features, classes)
        self.decision = nn.Linear(features, classes)
        self.register_buffer("hrg_mean", torch.zeros(()))
        self.register_buffer("hrg_std", torch.ones(()))

    def set_target_scale(self, mean: float, std: float) -> None:
        """Predict heart-rate gains of mean ``mean`` and standard deviation ``std``."""
        if not std > 0:
            raise ValueError(f"target std must be positive, got {std!r}")
        self.hrg_mean.fill_(float(mean))
        self.hrg_std.fill_(float(std))

    def forward(self, fv: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
        h = self.physiological(fp) * self.hrg_std + self.hrg_mean
        return torch.cat([self.visual(fv), h, self.feature_fusion(torch.cat([fv, fp], 1)), self.decision(fp)], 1)


class DualBranchNet(nn.Module):
    """The network of Table I (see the module docstring)."""

    def __init__(self, *, classes: int = 2, base_width: int = 64, conv_type: str = "r2plus1d",
                 attention_position: int = 5, shared: str = "partial", in_channels: int = 3,
                 stem_stride: int = 2) -> None:
        super().__init__()
        if not isinstance(classes, int) or classes < 2:
            raise ValueError(f"classes must be an int >= 2, got {classes!r}")
        if attention_position not in range(6):
            raise ValueError(f"attention_position must be 0 (none) or 1-5, got {attention_position!r}")
        if shared not in ("partial", "full"):
            raise ValueError(f"shared must be 'partial' (two branches) or 'full' (one), got {shared!r}")
        if conv_type not in CONV_TYPES:
            raise ValueError(f"conv_type must be one of {', '.join(CONV_TYPES)}, got {conv_type!r}")
        w = [base_width * m for m in (1, 2, 4, 4, 8)]
        self.classes, self.conv_type, self.attention_position, self.shared = classes, conv_type, attention_position, shared
        stem = ConvBNReLU(in_channels, w[0], 1, (1, stem_stride, stem_stride))
        layers: list[tuple[str, nn.Module]] = [("conv3d", stem)]
        c = w[0]
        for name, width, stride in (("block64", w[0], 1), ("block128", w[1], 2), ("block256", w[2], 2)):
            layers.append((name, HRGBlock(c, width, stride, conv_type=conv_type)))
            c = width
        seq: list[tuple[str, nn.Module]] = []
        for i, (name, m) in enumerate(layers, start=1):
            seq.append((name, m))
            if attention_position == i:
                seq.append(("attention", SpatioTemporalAttention(m.out_channels)))
        self.shared_blocks = nn.Sequential(OrderedDict(seq))
        branch = lambda: Branch(c, (w[3], w[4]), conv_type=conv_type, attention=attention_position == 5)  # noqa: E731
        self.visual = branch()
        self.physiological = self.visual if shared == "full" else branch()
        self.num_features = w[4]
        self.head = DualBranchHead(w[4], classes)
        self.model_spec: dict[str, Any] | None = None
        init_weights(self)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooled features ``(N, C)`` of the visual and the physiological branch."""
        z = self.shared_blocks(x)
        fv = self.visual(z)
        fp = fv if self.shared == "full" else self.physiological(z)
        return fv.mean(dim=(2, 3, 4)), fp.mean(dim=(2, 3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"expected a clip batch (N, C, T, H, W), got shape {tuple(x.shape)}")
        return self.head(*self.forward_features(x))

    def split(self, out: torch.Tensor) -> dict[str, torch.Tensor]:
        """The parts of :meth:`forward`'s output: ``visual`` logits, ``hrg``, ``feature`` and
        ``decision`` logits."""
        k = self.classes
        return {"visual": out[:, :k], "hrg": out[:, k], "feature": out[:, k + 1:2 * k + 1], "decision": out[:, 2 * k + 1:]}

    def attention_modules(self) -> dict[str, SpatioTemporalAttention]:
        """The attention of each branch (position 5) or of the shared trunk (1-4)."""
        out = {}
        if isinstance(getattr(self.visual, "attention", None), SpatioTemporalAttention):
            out["visual"] = self.visual.attention
            if self.shared != "full":
                out["physiological"] = self.physiological.attention
        for m in self.shared_blocks.children():
            if isinstance(m, SpatioTemporalAttention):
                out["shared"] = m
        return out

    def factorised_convs(self) -> list[tuple[str, nn.Conv3d, nn.Conv3d]]:
        """Every ``(block name, spatial conv, temporal conv)`` of the (2+1)D factorisations."""
        out = []
        for name, m in self.named_modules():
            if isinstance(m, HRGBlock):
                out += [(name, s, t) for s, t in m.factorised_convs()]
        return out


@register_model(family="dual-branch")
def hrg_dual(*, classes: int = 2, base_width: int = 64, conv_type: str = "r2plus1d", attention_position: int = 5,
             shared: str = "partial", in_channels: int = 3, stem_stride: int = 2) -> DualBranchNet:
    """The hrg paper's dual-branch network (Table I).

    Args:
        classes: pain classes of the visual branch (2 for a pair [i-j], 5 for [all-all]).
        base_width: channels of the shared Conv3D (paper: 64); stages 1x, 2x, 4x, branch 4x, 8x.
        conv_type: ``r2plus1d`` (paper), ``r3d`` or ``c3d`` (Table II).
        attention_position: 0 (none), 1-4 (shared trunk), 5 (each branch, Table I).
        shared: ``partial`` (two branches) or ``full`` (one branch for both outputs, Fig. 9).
        in_channels: input channels.
        stem_stride: spatial stride of the 1×1×1 Conv3D (2: a 112 input gives Table I's 56).
    """
    return DualBranchNet(classes=classes, base_width=base_width, conv_type=conv_type,
                         attention_position=attention_position, shared=shared, in_channels=in_channels,
                         stem_stride=stem_stride)

"""One general 3D network class, :class:`VideoNet`, that every video model of the library is.

A ``VideoNet`` is ``stem -> stages -> head``:

* ``stem``: a :class:`Stem` (the paper tables' "Conv1"),
* ``stages``: an ``nn.Sequential`` of named stages (``conv2`` ... ``conv5`` for the ResNets),
  each an ``nn.Sequential`` of blocks built by one block class
  (:mod:`pain_lib.models.blocks`); the first block of a stage carries the stage's stride,
* ``head``: a :class:`Head` — regression (one PSPI per clip), per-frame regression,
  classification, or none (pooled features).

Input ``(N, C, T, H, W)``. :meth:`VideoNet.forward_features` returns the last feature map
``(N, C', T', H', W')`` (for VLAD, attention maps, transfer); :meth:`VideoNet.forward_head`
pools it and applies the head. Variants (C3D, R3D, R(2+1)D, Res3D, SCN, VGG3D, Inception3D)
differ only by the arguments their builders pass (:mod:`pain_lib.models.zoo`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from .blocks import ConvBNReLU
from .layers import conv3d, paper_kernel, same_padding, triple

__all__ = ["VideoNet", "HeadedNet", "Stage", "Stem", "Head", "conv_stem", "init_weights", "HEADS"]

#: head kinds understood by :class:`Head`
HEADS = ("regression", "frame", "classification", "none")


@dataclass(frozen=True)
class Stage:
    """One stage of a :class:`VideoNet`: a name, one ``width`` per block, the stride of its first
    block, and extra keyword arguments for its blocks (e.g. SCN's per-stage temporal depths)."""

    name: str
    widths: tuple[Any, ...]
    stride: tuple[int, int, int] = (1, 1, 1)
    block_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def repeat(cls, name: str, width: Any, blocks: int, stride: int | Sequence[int] = 1, **block_kwargs: Any) -> Stage:
        """``blocks`` identical blocks of ``width`` (ResNet-style stage)."""
        if blocks < 1:
            raise ValueError(f"stage {name!r} needs at least one block, got {blocks}")
        return cls(name, (width,) * int(blocks), triple(stride), dict(block_kwargs))


class Stem(nn.Sequential):
    """The first layers of a network ("Conv1"): an ``nn.Sequential`` that knows its output
    channels and how to describe itself in the papers' notation."""

    def __init__(self, *layers: nn.Module, out_channels: int, description: str, name: str = "conv1") -> None:
        super().__init__(*layers)
        self.out_channels, self.description, self.name = out_channels, description, name

    def describe(self) -> str:
        return self.description


def conv_stem(
    in_channels: int,
    out_channels: int,
    kernel: Sequence[int] | int,
    stride: Sequence[int] | int = 1,
    *,
    conv: Callable[..., list[nn.Module]] = conv3d,
    batch_norm: bool = True,
    name: str = "conv1",
    pool: bool = False,
) -> Stem:
    """A one-conv stem ``conv (t,h,w) → BN → ReLU`` (no max-pool: Res3D/SCN remove it).

    ``pool=True`` appends the 2D ResNet's stem max-pool applied per frame: ``3×3×1`` (PyTorch
    ``(1, 3, 3)``), stride ``1×2×2``, padding 1 in space — the layout a 2D ResNet inflates into.
    """
    k = triple(kernel)
    block = ConvBNReLU(in_channels, out_channels, k, triple(stride), conv=conv, batch_norm=batch_norm)
    desc = f"[{paper_kernel(k)}], {out_channels}"
    if conv.__name__ == "conv2plus1d":
        desc = f"[{k[1]}×{k[2]}×1; 1×1×{k[0]}] (2+1)D, {out_channels}"
    layers = [*block]
    if pool:
        layers.append(max_pool((1, 3, 3), (1, 2, 2)))
        desc += "; max-pool 3×3×1, stride 1×2×2"
    return Stem(*layers, out_channels=out_channels, description=desc, name=name)


class Head(nn.Module):
    """Pool a feature map and map it to the outputs.

    Kinds:

    * ``regression``: global average pool over ``(T, H, W)`` → ``(N, num_outputs)``; squeezed to
      ``(N,)`` when ``num_outputs == 1`` (one PSPI per clip, ready for ``MSELoss`` on ``(N,)``).
    * ``frame``: average over ``(H, W)`` only, a linear map per remaining time step, then linear
      interpolation back to the input's ``T`` → ``(N, T)`` (``(N, T, num_outputs)`` if > 1):
      one PSPI per frame.
    * ``classification``: like regression, never squeezed: logits ``(N, num_outputs)``.
    * ``none``: returns the pooled features ``(N, C)``.

    ``hidden`` adds ``Linear → ReLU → Dropout`` layers before the output layer (C3D's and VGG's
    fc6/fc7). ``dropout`` is applied right before the output layer.

    Regression and frame heads predict in target units through an affine output map,
    ``y = fc(x) * target_std + target_mean`` (buffers, 0 and 1 unless :meth:`set_target_scale`
    sets the training targets' statistics): the layers then learn a standardised target, and
    checkpoints carry the map with the weights.
    """

    def __init__(
        self,
        in_features: int,
        *,
        kind: str = "regression",
        num_outputs: int = 1,
        dropout: float = 0.0,
        hidden: Sequence[int] = (),
    ) -> None:
        super().__init__()
        if kind not in HEADS:
            raise ValueError(f"unknown head {kind!r}; valid heads: {', '.join(HEADS)}")
        if kind != "none" and (not isinstance(num_outputs, int) or num_outputs < 1):
            raise ValueError(f"num_outputs must be a positive int, got {num_outputs!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.kind, self.num_outputs, self.hidden = kind, num_outputs, tuple(hidden)
        layers: list[nn.Module] = []
        c = in_features
        for h in self.hidden:
            layers += [nn.Linear(c, h), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            c = h
        self.mlp = nn.Sequential(*layers)
        self.num_features = c
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c, num_outputs) if kind != "none" else nn.Identity()
        if kind in ("regression", "frame"):
            self.register_buffer("target_mean", torch.zeros(()))
            self.register_buffer("target_std", torch.ones(()))

    def set_target_scale(self, mean: float, std: float) -> None:
        """Predict targets of mean ``mean`` and standard deviation ``std`` (regression heads)."""
        if self.kind not in ("regression", "frame"):
            raise ValueError(f"a {self.kind!r} head has no target scale")
        if not std > 0:
            raise ValueError(f"target std must be positive, got {std!r}")
        self.target_mean.fill_(float(mean))
        self.target_std.fill_(float(std))

    def forward(self, x: torch.Tensor, *, pre_logits: bool = False, num_frames: int | None = None) -> torch.Tensor:
        """``x``: a feature map ``(N, C, T, H, W)``, pooled here, or features already pooled
        ``(N, C)`` (2D networks pool in their own way, see :class:`~pain_lib.models.ImageNet`)."""
        if x.dim() == 2:
            if self.kind == "frame":
                raise ValueError("a 'frame' head needs a feature map (N, C, T, H, W), got pooled features (N, C)")
        elif self.kind == "frame":
            x = x.mean(dim=(3, 4)).transpose(1, 2)  # (N, T', C)
        else:
            x = x.mean(dim=(2, 3, 4))  # (N, C)
        x = self.mlp(x)
        if pre_logits or self.kind == "none":
            return x
        y = self.fc(self.dropout(x))
        if self.kind in ("regression", "frame"):
            y = y * self.target_std + self.target_mean
        if self.kind == "frame":
            if num_frames is not None and num_frames != y.shape[1]:
                y = F.interpolate(y.transpose(1, 2), size=num_frames, mode="linear", align_corners=False)
                y = y.transpose(1, 2)
            return y.squeeze(-1) if self.num_outputs == 1 else y
        if self.kind == "regression" and self.num_outputs == 1:
            return y.squeeze(-1)
        return y

    def describe(self) -> str:
        pool = "Average pooling (spatial), per-frame" if self.kind == "frame" else "Average pooling"
        fcs = "".join(f", {h}D fc" for h in self.hidden)
        out = "" if self.kind == "none" else f", {self.num_outputs}D fully connected"
        return f"{pool}{fcs}{out}"


class HeadedNet(nn.Module):
    """Base of :class:`VideoNet` and :class:`~pain_lib.models.ImageNet`: a network ending in a
    :class:`Head` (``self.head``, fed ``self.num_features`` channels) that can be replaced."""

    #: the head kinds this kind of network accepts
    head_kinds: tuple[str, ...] = HEADS

    def reset_head(
        self, *, head: str | None = None, num_outputs: int | None = None, dropout: float | None = None
    ) -> HeadedNet:
        """Replace the head (e.g. after transfer pre-training, to fine-tune for regression)."""
        if head is not None and head not in self.head_kinds:
            raise ValueError(f"unknown head {head!r}; valid heads: {', '.join(self.head_kinds)}")
        old = self.head
        self.head = Head(
            self.num_features,
            kind=head or old.kind,
            num_outputs=num_outputs if num_outputs is not None else old.num_outputs,
            dropout=dropout if dropout is not None else old.dropout.p,
            hidden=old.hidden,
        ).to(next(self.parameters()).device)
        init_weights(self.head)
        if self.model_spec is not None:
            cfg = dict(self.model_spec["cfg"])
            cfg.update({"head": self.head.kind, "num_outputs": self.head.num_outputs, "dropout": self.head.dropout.p})
            self.model_spec = {**self.model_spec, "cfg": cfg}
        return self


class VideoNet(HeadedNet):
    """The general 3D network: ``stem -> stages -> head`` (see the module docstring).

    Args:
        stem: the first layers (a :class:`Stem`).
        block: block class or factory ``block(in_channels, width, stride, **kwargs)``; the block
            exposes ``out_channels`` (see :mod:`pain_lib.models.blocks`).
        stages: the :class:`Stage` list.
        head: ``regression`` (default), ``frame``, ``classification`` or ``none`` (see :class:`Head`).
        num_outputs: outputs of the head (1 for PSPI regression, ``n`` classes).
        dropout: dropout before the output layer.
        head_hidden: hidden fully-connected layers of the head (C3D/VGG fc6, fc7).
        zero_init_residual: zero-initialise the last BatchNorm of every residual block
            (Goyal et al. 2017; each residual block starts as the identity).
    """

    def __init__(
        self,
        *,
        stem: Stem,
        block: Callable[..., nn.Module],
        stages: Sequence[Stage],
        head: str = "regression",
        num_outputs: int = 1,
        dropout: float = 0.0,
        head_hidden: Sequence[int] = (),
        zero_init_residual: bool = True,
    ) -> None:
        super().__init__()
        self.stem = stem
        channels = stem.out_channels
        named: list[tuple[str, nn.Module]] = []
        for stage in stages:
            blocks = []
            for i, width in enumerate(stage.widths):
                b = block(channels, width, stage.stride if i == 0 else (1, 1, 1), **dict(stage.block_kwargs))
                blocks.append(b)
                channels = b.out_channels
            named.append((stage.name, nn.Sequential(*blocks)))
        self.stages = nn.Sequential(OrderedDict(named))
        self.num_features = channels
        self.head = Head(channels, kind=head, num_outputs=num_outputs, dropout=dropout, hidden=head_hidden)
        #: set by :func:`pain_lib.models.get_model`: ``{"name": ..., "cfg": {...}}`` (rebuilds the model)
        self.model_spec: dict[str, Any] | None = None
        self.grad_checkpointing = False
        init_weights(self, zero_init_residual=zero_init_residual)

    def set_grad_checkpointing(self, enable: bool = True) -> VideoNet:
        """Recompute each block's activations in the backward pass instead of keeping them
        (timm's switch): paper-size networks train at batch 64 on one GPU for ~30 % more compute.
        BatchNorm running statistics are updated twice per step while it is on; the training
        recipes recompute them after training (precise BN), so the result is unaffected."""
        self.grad_checkpointing = bool(enable)
        return self

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, H, W) -> (N, C', T', H', W')``: the last stage's feature map."""
        x = self.stem(x)
        if not (self.grad_checkpointing and self.training and torch.is_grad_enabled()):
            return self.stages(x)
        from torch.utils.checkpoint import checkpoint

        for stage in self.stages:
            for block in stage:
                x = checkpoint(block, x, use_reentrant=False)
        return x

    def forward_head(self, x: torch.Tensor, *, pre_logits: bool = False, num_frames: int | None = None) -> torch.Tensor:
        """Pool a feature map and apply the head; ``pre_logits=True`` returns pooled features."""
        return self.head(x, pre_logits=pre_logits, num_frames=num_frames)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"expected a clip batch (N, C, T, H, W), got shape {tuple(x.shape)}")
        return self.forward_head(self.forward_features(x), num_frames=x.shape[2])


def init_weights(model: nn.Module, *, zero_init_residual: bool = True) -> nn.Module:
    """The one initialisation of the library (He et al. 2015, as the SCN paper says).

    Convolutions: Kaiming-normal (fan-out, ReLU); BatchNorm: weight 1, bias 0; Linear: N(0, 0.01),
    bias 0; with ``zero_init_residual`` every module's ``bn_last`` (the BatchNorm closing a
    residual branch) gets weight 0. Works on the ``meta`` device (no-op fills).
    """
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
    if zero_init_residual:
        for m in model.modules():
            bn = getattr(m, "bn_last", None)
            if isinstance(bn, nn.modules.batchnorm._BatchNorm):
                nn.init.zeros_(bn.weight)
    return model


def max_pool(kernel: Sequence[int] | int, stride: Sequence[int] | int) -> nn.MaxPool3d:
    """Max-pool with 'same' padding (for stems)."""
    k = triple(kernel)
    return nn.MaxPool3d(k, triple(stride), padding=same_padding(k))

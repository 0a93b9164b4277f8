"""Building blocks of :class:`~pain_lib.models.video_net.VideoNet`.

Every block has the signature ``Block(in_channels, width, stride, **options)``, exposes
``out_channels`` and ``describe() -> str`` (the block in the papers' kernel notation
``s×s×t``, see :mod:`pain_lib.models.layers`), and residual blocks mark the BatchNorm that
closes their residual branch as ``bn_last`` so :func:`~pain_lib.models.video_net.init_weights`
can zero-initialise it.

=====================  ==========================================================  ==============
block                  structure                                                   used by
=====================  ==========================================================  ==============
:class:`Bottleneck`    1×1×p conv → K parallel s×s×t_k convs, concatenated →        Res3D (K=1,
                       1×1×p conv ×4, + identity / projection shortcut              t=3), SCN
:class:`BasicBlock`    two 3×3×3 convs (full 3D or (2+1)D) + shortcut               R3D, R(2+1)D
:class:`PlainBlock`    [max-pool] → one conv + BN + ReLU (no shortcut)              C3D, VGG3D
:class:`InceptionBlock`[max-pool] → 4 branches (1×1, 1×1→3×3, 1×1→3×3, pool→1×1)     Inception3D
=====================  ==========================================================  ==============
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch
import torch.nn as nn

from .layers import conv3d, paper_kernel, same_padding, triple

__all__ = ["pointwise_pair", "Bottleneck", "BasicBlock", "PlainBlock", "InceptionBlock", "ConvBNReLU", "projection_shortcut"]


class ConvBNReLU(nn.Sequential):
    """``conv (from a conv factory) → BatchNorm3d → [ReLU]``; ``bn_eps`` is the BatchNorm's eps
    (PyTorch's 1e-5 by default; torchvision's GoogLeNet / Inception-v3 use 1e-3)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: Sequence[int] | int,
        stride: Sequence[int] | int = 1,
        *,
        conv: Callable[..., list[nn.Module]] = conv3d,
        relu: bool = True,
        batch_norm: bool = True,
        bn_eps: float = 1e-5,
    ) -> None:
        layers = conv(in_channels, out_channels, triple(kernel), triple(stride))
        if not batch_norm:  # C3D without BN: give the last conv a bias
            last = layers[-1]
            layers[-1] = type(last)(
                last.in_channels, last.out_channels, last.kernel_size, last.stride, last.padding, bias=True
            )
        else:
            layers.append(nn.BatchNorm3d(out_channels, eps=bn_eps))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel, self.stride = triple(kernel), triple(stride)


def projection_shortcut(in_channels: int, out_channels: int, stride: Sequence[int]) -> nn.Module:
    """Eq. (3) of the SCN paper, ``W_s x``: a strided 1×1×1 conv + BatchNorm."""
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, 1, stride=triple(stride), bias=False),
        nn.BatchNorm3d(out_channels),
    )


def pointwise_pair(pointwise_temporal: int | Sequence[int]) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(1, 3) -> (1, 3)``: temporal kernels of a bottleneck's first and last
    pointwise convolutions."""
    if isinstance(pointwise_temporal, int):
        return (pointwise_temporal, pointwise_temporal)
    pw = tuple(int(t) for t in pointwise_temporal)
    if len(pw) != 2:
        raise ValueError(f"pointwise_temporal must be one int or (first, last), got {pointwise_temporal!r}")
    return pw  # type: ignore[return-value]


def _needs_projection(in_channels: int, out_channels: int, stride: Sequence[int]) -> bool:
    return in_channels != out_channels or any(s != 1 for s in triple(stride))


class Bottleneck(nn.Module):
    """The SCN bottleneck (paper Fig. 3, Eq. 1-3); with one branch of depth 3 it is Res3D's.

    ``x' = W2 σ( ∪_k W_tk σ(W1 x) ) + x``  (``W_s x`` instead of ``x`` when the shape changes)

    * ``W1``: ``1×1×p`` conv, ``in_channels -> width`` (paper: ``1×1×3``, i.e. temporal only),
    * ``W_tk``: K parallel ``s×s×t_k`` convs, ``width -> round(width·r_k)`` channels each, all
      with the block's stride (so all branches keep the same ``T×H×W``), concatenated,
    * ``W2``: ``1×1×p`` conv, ``sum_k round(width·r_k) -> expansion·width``, its BN zero-initialised.

    Every conv is followed by BatchNorm (the paper's Eq. 2 omits normalisation; ResNet has it);
    ``σ`` is ReLU after ``W1``, after each branch, and after the addition.

    Args:
        in_channels: input channels.
        width: the bottleneck width (Table 3's "64", "128", ...).
        stride: ``(t, h, w)`` stride, applied by the parallel convs and the projection.
        temporal_depths: ``(t_1, ..., t_K)``; odd. ``(3,)`` gives the Res3D bottleneck.
        spatial_size: ``s`` of the parallel convs; odd (paper: 3).
        branch_widths: channel multipliers ``r_k`` of the branches (default ``1.0`` each: every
            branch has ``width`` channels, as Table 3 prints; Sec. 3.1 says the ``S_k`` may differ).
        pointwise_temporal: ``p`` of the first and last ``1×1×p`` convs, one value for both or
            ``(p_first, p_last)`` (the paper prints 3 for both; 1 gives the 2D-ResNet ``1×1×1``).
        expansion: output channels = ``expansion · width`` (paper: 4).
    """

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: Sequence[int] | int = 1,
        *,
        temporal_depths: Sequence[int] = (3,),
        spatial_size: int = 3,
        branch_widths: Sequence[float] | None = None,
        pointwise_temporal: int | Sequence[int] = 3,
        expansion: int = 4,
    ) -> None:
        super().__init__()
        temporal_depths = tuple(int(t) for t in temporal_depths)
        if not temporal_depths:
            raise ValueError("temporal_depths must name at least one temporal depth")
        pw = pointwise_pair(pointwise_temporal)
        for k in (*temporal_depths, spatial_size, *pw):
            if k < 1 or k % 2 == 0:
                raise ValueError(
                    f"kernel sizes must be odd and >= 1 (got temporal_depths={temporal_depths}, "
                    f"spatial_size={spatial_size}, pointwise_temporal={pointwise_temporal})"
                )
        ratios = tuple(branch_widths) if branch_widths is not None else (1.0,) * len(temporal_depths)
        if len(ratios) != len(temporal_depths):
            raise ValueError(
                f"branch_widths {ratios} needs one entry per temporal depth {temporal_depths}"
            )
        self.stride = triple(stride)
        self.temporal_depths, self.spatial_size = temporal_depths, int(spatial_size)
        self.pointwise_temporal = pw
        self.width = width
        self.branch_channels = tuple(max(1, round(width * r)) for r in ratios)
        self.out_channels = expansion * width
        self.conv1 = ConvBNReLU(in_channels, width, (pw[0], 1, 1))
        self.branches = nn.ModuleList(
            ConvBNReLU(width, c, (t, spatial_size, spatial_size), self.stride)
            for t, c in zip(temporal_depths, self.branch_channels)
        )
        self.conv2 = ConvBNReLU(sum(self.branch_channels), self.out_channels, (pw[1], 1, 1), relu=False)
        self.bn_last = self.conv2[-1]
        self.shortcut = (
            projection_shortcut(in_channels, self.out_channels, self.stride)
            if _needs_projection(in_channels, self.out_channels, self.stride)
            else nn.Identity()
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(x)
        y = torch.cat([b(y) for b in self.branches], dim=1) if len(self.branches) > 1 else self.branches[0](y)
        y = self.conv2(y)
        return self.relu(y + self.shortcut(x))

    def describe(self) -> str:
        first, last = (paper_kernel((t, 1, 1)) for t in self.pointwise_temporal)
        ks = "; ".join(paper_kernel((t, self.spatial_size, self.spatial_size)) for t in self.temporal_depths)
        widths = sorted(set(self.branch_channels))
        bw = str(widths[0]) if len(widths) == 1 else "/".join(str(c) for c in self.branch_channels)
        mid = f"[{ks}], {bw}"
        return f"[{first}], {self.width}; {mid}; [{last}], {self.out_channels}"


class BasicBlock(nn.Module):
    """Two ``k×k×k`` convs + shortcut (R3D); with ``conv=conv2plus1d`` it is R(2+1)D's block.

    Args:
        in_channels, width, stride: as every block (``out_channels = width``).
        conv: conv factory, :func:`~pain_lib.models.layers.conv3d` or
            :func:`~pain_lib.models.layers.conv2plus1d` (mid-width recomputed per conv).
        kernel: ``(t, h, w)`` kernel of both convs (default 3×3×3).
    """

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: Sequence[int] | int = 1,
        *,
        conv: Callable[..., list[nn.Module]] = conv3d,
        kernel: Sequence[int] | int = 3,
    ) -> None:
        super().__init__()
        self.stride, self.kernel, self.conv_name = triple(stride), triple(kernel), conv.__name__
        self.out_channels = width
        self.conv1 = ConvBNReLU(in_channels, width, self.kernel, self.stride, conv=conv)
        self.conv2 = ConvBNReLU(width, width, self.kernel, 1, conv=conv, relu=False)
        self.bn_last = self.conv2[-1]
        self.shortcut = (
            projection_shortcut(in_channels, width, self.stride)
            if _needs_projection(in_channels, width, self.stride)
            else nn.Identity()
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv2(self.conv1(x)) + self.shortcut(x))

    def describe(self) -> str:
        t, h, w = self.kernel
        if self.conv_name == "conv2plus1d":
            one = f"{h}×{w}×1, {self.out_channels}; 1×1×{t}, {self.out_channels}"
            return f"[{one}; {one}]"
        return f"[{paper_kernel(self.kernel)}, {self.out_channels}] ×2"


class PlainBlock(nn.Module):
    """``[max-pool] → conv → BN → ReLU`` without a shortcut (C3D, VGG3D).

    A stride other than 1 is realised as a max-pool with ``kernel = stride`` *before* the conv
    (C3D's ``pool1..pool4``, VGG's pools), so a stage's first block downsamples.

    Args:
        kernel: conv kernel ``(t, h, w)`` (default 3×3×3).
        batch_norm: BatchNorm after the conv (the original C3D/VGG have none; default on,
            because these nets are trained from scratch on small data here).
        ceil_mode: the max-pool's ``ceil_mode`` (default True: odd sizes round up, so short
            clips survive; torchvision's VGG pools round down).
        pool_only: no conv, only the max-pool (VGG's last pool, ``pool5``); ``width`` must
            then equal ``in_channels``.
    """

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: Sequence[int] | int = 1,
        *,
        kernel: Sequence[int] | int = 3,
        batch_norm: bool = True,
        ceil_mode: bool = True,
        pool_only: bool = False,
    ) -> None:
        super().__init__()
        self.stride, self.kernel, self.out_channels = triple(stride), triple(kernel), width
        self.pool_only = bool(pool_only)
        if self.pool_only and width != in_channels:
            raise ValueError(f"a pool-only block keeps its channels: width {width} != in_channels {in_channels}")
        self.pool = (
            nn.MaxPool3d(self.stride, self.stride, ceil_mode=ceil_mode) if any(s != 1 for s in self.stride)
            else nn.Identity()
        )
        self.conv = nn.Identity() if self.pool_only else ConvBNReLU(in_channels, width, self.kernel, batch_norm=batch_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pool(x))

    def describe(self) -> str:
        if self.pool_only:
            return f"max-pool {paper_kernel(self.stride)}"
        return f"{paper_kernel(self.kernel)}, {self.out_channels}"


#: Inception-v1 (GoogLeNet) / I3D module widths: (1×1, 3×3-reduce, 3×3, 5×5-reduce, "5×5", pool-proj).
#: As in I3D, the "5×5" branch is a 3×3×3 conv.
InceptionSpec = tuple[int, int, int, int, int, int]


class InceptionBlock(nn.Module):
    """An inflated Inception-v1 module (I3D's "Mixed" block): four parallel branches concatenated.

    ``width`` is an :data:`InceptionSpec` ``(b0, b1_reduce, b1, b2_reduce, b2, b3)``;
    ``out_channels = b0 + b1 + b2 + b3``. A stride other than 1 puts a max-pool in front, as
    between I3D's Mixed groups.

    Args:
        bn_eps: eps of every BatchNorm (default 1e-5; torchvision's GoogLeNet: 1e-3).
        pool: the strided max-pool in front. ``"same"`` (default, I3D): kernel 3 along every
            strided axis (1 elsewhere), padding ``k // 2``, sizes rounded down.
            ``"ceil"`` (torchvision's GoogLeNet): spatial kernel ``pool_kernel``, temporal kernel
            = temporal stride, no padding, ``ceil_mode=True`` (the branch pool too); time is
            halved rounding up, as with ``"same"`` (``ceil(T / 2)``).
        pool_kernel: spatial kernel of a ``"ceil"`` pool (GoogLeNet: 3, 2 before Mixed 5).
    """

    def __init__(
        self,
        in_channels: int,
        width: Sequence[int],
        stride: Sequence[int] | int = 1,
        *,
        bn_eps: float = 1e-5,
        pool: str = "same",
        pool_kernel: int = 3,
    ) -> None:
        super().__init__()
        if pool not in ("same", "ceil"):
            raise ValueError(f"pool must be 'same' or 'ceil', got {pool!r}")
        b0, b1r, b1, b2r, b2, b3 = (int(c) for c in width)
        self.spec = (b0, b1r, b1, b2r, b2, b3)
        self.stride = triple(stride)
        ceil = pool == "ceil"
        if not any(s != 1 for s in self.stride):
            self.pool = nn.Identity()
        elif ceil:
            st, sh, sw = self.stride
            k = (st, pool_kernel if sh > 1 else 1, pool_kernel if sw > 1 else 1)
            self.pool = nn.MaxPool3d(k, self.stride, ceil_mode=True)
        else:
            k = tuple(3 if s > 1 else 1 for s in self.stride)
            self.pool = nn.MaxPool3d(k, self.stride, padding=same_padding(k))
        cbr = partial(ConvBNReLU, bn_eps=bn_eps)
        self.branch0 = cbr(in_channels, b0, 1)
        self.branch1 = nn.Sequential(cbr(in_channels, b1r, 1), cbr(b1r, b1, 3))
        self.branch2 = nn.Sequential(cbr(in_channels, b2r, 1), cbr(b2r, b2, 3))
        self.branch3 = nn.Sequential(nn.MaxPool3d(3, 1, padding=1, ceil_mode=ceil), cbr(in_channels, b3, 1))
        self.out_channels = b0 + b1 + b2 + b3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], dim=1)

    def describe(self) -> str:
        b0, b1r, b1, b2r, b2, b3 = self.spec
        return f"inception [1×1×1 {b0}; 1×1×1 {b1r}→3×3×3 {b1}; 1×1×1 {b2r}→3×3×3 {b2}; pool→1×1×1 {b3}], {self.out_channels}"

"""Registered model builders: each one passes stem, block and stages to :class:`VideoNet`.

=================  =====================================================================
name               what
=================  =====================================================================
``res3d``          3D ResNet with bottleneck blocks ``[1×1×1, 3×3×3, 1×1×3]`` (SCN paper's
                   Res3D; depths 26, 41 (alias 39), 50, 101, 152), first max-pool removed
``scn``            Spatiotemporal Convolutional Network: bottleneck with K parallel
                   ``s×s×t_k`` convs (Table 3), same depths
``r3d``            R3D-18/34/10 (basic blocks, 3×3×3), Tran et al. 2018 / torchvision
``r2plus1d``       R(2+1)D-18/34/10 with the parameter-matching mid-width per conv
``c3d``            C3D (Tran et al. 2015) with BatchNorm, global average pooling
``vgg3d``          VGG-16 inflated to 3D (Table 6)
``inception3d``    Inception-v1 inflated to 3D, I3D layout (Table 6)
=================  =====================================================================

Common keyword arguments of every builder (forwarded to :class:`VideoNet`): ``head``,
``num_outputs``, ``dropout``, ``head_hidden``, ``zero_init_residual`` (see
:data:`pain_lib.models.registry.COMMON_ARGS`).

Kernel notation in docstrings is the papers' ``s×s×t`` (spatial, spatial, temporal); PyTorch
kernels are ``(t, s, s)`` — see :mod:`pain_lib.models.layers`.

Fidelity notes (SCN paper, Tavakolian & Hadid 2019)
---------------------------------------------------
* **Kernel order.** Sec. 3.1 defines kernels as ``s × s × t``; Table 3's ``1 × 1 × 3`` is a
  temporal-only conv (PyTorch ``(3, 1, 1)``), ``3 × 3 × 9`` spans 9 frames (``(9, 3, 3)``),
  the stem ``7 × 7 × 3`` is ``(3, 7, 7)``.
* **Stem and first max-pool.** "Removing the first max pooling layer as in Tran et al. (2017)":
  conv1 has stride ``1×2×2`` and no pool, so a 112×112 input gives Table 3's conv2..conv5 sizes
  56, 28, 14, 7. Table 3's "Conv1 112 × 112" is then off by one stride (it matches the 2D
  ResNet table for 224 inputs); ``stem_spatial_stride=1`` reproduces the literal reading
  (conv1 at 112×112, conv2 downsamples) — same parameters, 4× the conv1/conv2 compute.
* **Temporal strides** are not given by the paper; Tran et al.'s Res3D downsamples time by 2
  at conv3, conv4, conv5 (``temporal_strides=(1, 2, 2, 2)``; 32 frames -> 4).
* **Depth 39 vs 41.** The text says 39 layers, Tables 3 and 9 say 41 with blocks
  (3, 3, 4, 3) = 3·13 + 2 = 41 layers; ``depth=39`` is accepted as an alias of 41.
* **Temporal depths per stage** follow Table 3 as printed (conv2-3: 3/5/9, conv4-5: 3/5/7);
  Table 2's ablations use one set for all stages (pass ``temporal_depths=(3, 5, 9)``).
* **Branch widths.** Table 3 prints one width per stage for the parallel convs ("64"), read as
  each branch having that width (so the concatenation has ``K·w`` channels). Sec. 3.1 says the
  ``S_k`` "have different numbers of channels"; ``branch_widths`` makes them differ.
* **Normalisation.** Eq. (2) has no BatchNorm; every conv here is followed by one (ResNet).
* **Res3D** is the same network with one branch of depth 3, i.e. bottleneck
  ``[1×1×1, 3×3×3, 1×1×3]`` ("replacing all the 2D kernels with 3D kernels").
* **Pointwise convolutions and parameter counts.** Table 3 prints ``1×1×3`` for a block's first
  and last pointwise convs; read literally, Table 9's counts (with Table 3's 1000-way fc) come out
  3.5-3.9 % above the paper for SCN and ~14 % for Res3D. With a ``1×1×1`` first conv
  (``pointwise_temporal=(1, 3)``, the default) SCN is within 0.75 % of Table 9 at every depth and
  Res3D within 2.9 %; no reading matches Res3D exactly (``scn/09_table9_cost`` shows them all).
* **Head.** Table 3 ends with "average pooling, 1000D fully connected"; for PSPI regression the
  default head is average pooling + one output (MSE, Eq. 4); ``head="frame"`` predicts one PSPI
  per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch.nn as nn

from .blocks import BasicBlock, Bottleneck, ConvBNReLU, InceptionBlock, PlainBlock
from .layers import conv2plus1d, conv3d, kernel_thw, set_temporal_padding
from .registry import register_model
from .video_net import Stage, Stem, VideoNet, conv_stem, max_pool

__all__ = [
    "BOTTLENECK_LAYERS",
    "DEPTH_ALIASES",
    "SCN_TEMPORAL_DEPTHS",
    "BottleneckPlan",
    "bottleneck_plan",
    "res3d",
    "scn",
    "r3d",
    "r2plus1d",
    "c3d",
    "vgg3d",
    "inception3d",
    "INCEPTION_POOL_LAYOUTS",
]

#: blocks per stage (conv2..conv5) of the bottleneck networks (SCN paper Table 3)
BOTTLENECK_LAYERS: dict[int, tuple[int, int, int, int]] = {
    26: (2, 2, 2, 2),
    41: (3, 3, 4, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}
#: the SCN paper's text (Sec. 4.2, Table 1) says 39 layers where Tables 3 and 9 say 41;
#: ``3·(3+3+4+3) + 2 = 41``, so 39 is read as 41.
DEPTH_ALIASES = {39: 41}
#: temporal depths of SCN's parallel kernels per stage, as Table 3 prints them
#: (conv2-3: 3/5/9, conv4-5: 3/5/7; Table 2's best single setting is (3, 5, 9)).
SCN_TEMPORAL_DEPTHS: tuple[tuple[int, ...], ...] = ((3, 5, 9), (3, 5, 9), (3, 5, 7), (3, 5, 7))
BASIC_LAYERS = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}
STAGE_NAMES = ("conv2", "conv3", "conv4", "conv5")


@dataclass(frozen=True)
class BottleneckPlan:
    """Everything that defines a Res3D/SCN network, as plain data (no modules).

    Shared by the builders and by :func:`pain_lib.models.analytic_parameter_count`.
    """

    in_channels: int
    stem_channels: int
    stem_kernel: tuple[int, int, int]
    stem_stride: tuple[int, int, int]
    stages: tuple[Stage, ...]
    expansion: int = 4
    #: the 2D ResNet's stem max-pool, per frame (see :func:`~pain_lib.models.conv_stem`)
    stem_pool: bool = False
    #: how every 'same' conv pads time (see :class:`~pain_lib.models.layers.SameConv3d`)
    temporal_padding: str = "zeros"


def _stage_temporal_depths(temporal_depths: Sequence[Any]) -> tuple[tuple[int, ...], ...]:
    td = tuple(temporal_depths)
    if not td:
        raise ValueError("temporal_depths is empty")
    if all(isinstance(t, int) for t in td):
        return (tuple(td),) * 4  # same K kernels in every stage
    per_stage = tuple(tuple(int(t) for t in s) for s in td)
    if len(per_stage) != 4:
        raise ValueError(
            f"temporal_depths must be one tuple of ints (all stages) or 4 tuples (conv2..conv5), got {temporal_depths!r}"
        )
    return per_stage


def bottleneck_plan(
    *,
    depth: int = 101,
    layers: Sequence[int] | None = None,
    base_width: int = 64,
    temporal_depths: Sequence[Any] = (3,),
    spatial_size: int = 3,
    branch_widths: Sequence[float] | None = None,
    pointwise_temporal: int | tuple[int, int] = (1, 3),
    stem_spatial_stride: int = 2,
    temporal_strides: Sequence[int] = (1, 2, 2, 2),
    in_channels: int = 3,
    stem_pool: bool = False,
    temporal_padding: str = "zeros",
) -> BottleneckPlan:
    """Resolve the arguments of :func:`res3d` / :func:`scn` into a :class:`BottleneckPlan`."""
    if layers is None:
        d = DEPTH_ALIASES.get(depth, depth)
        if d not in BOTTLENECK_LAYERS:
            valid = sorted([*BOTTLENECK_LAYERS, *DEPTH_ALIASES])
            raise ValueError(f"depth must be one of {valid} (or pass layers=...), got {depth!r}")
        layers = BOTTLENECK_LAYERS[d]
    layers = tuple(int(n) for n in layers)
    if len(layers) != 4:
        raise ValueError(f"layers needs 4 block counts (conv2..conv5), got {layers!r}")
    if stem_spatial_stride not in (1, 2):
        raise ValueError(f"stem_spatial_stride must be 1 or 2, got {stem_spatial_stride!r}")
    if base_width < 1:
        raise ValueError(f"base_width must be >= 1, got {base_width!r}")
    ts = tuple(int(t) for t in temporal_strides)
    if len(ts) != 4:
        raise ValueError(f"temporal_strides needs 4 values (conv2..conv5), got {temporal_strides!r}")
    tds = _stage_temporal_depths(temporal_depths)
    # Without the first max-pool the stem (stride 2) brings 112 -> 56 = Table 3's conv2 size; with a
    # stride-1 stem (Table 3's "Conv1 112×112" read literally) conv2 downsamples instead.
    spatial = (2 if stem_spatial_stride == 1 else 1, 2, 2, 2)
    stages = tuple(
        Stage.repeat(
            name,
            base_width * 2**i,
            n,
            (ts[i], spatial[i], spatial[i]),
            temporal_depths=tds[i],
            spatial_size=spatial_size,
            branch_widths=None if branch_widths is None else tuple(branch_widths),
            pointwise_temporal=pointwise_temporal,
        )
        for i, (name, n) in enumerate(zip(STAGE_NAMES, layers))
    )
    return BottleneckPlan(
        in_channels=in_channels,
        stem_channels=base_width,
        stem_kernel=kernel_thw(7, 3),  # Table 3: [7 × 7 × 3], 64
        stem_stride=(1, stem_spatial_stride, stem_spatial_stride),
        stages=stages,
        stem_pool=bool(stem_pool),
        temporal_padding=temporal_padding,
    )


def _bottleneck_net(plan: BottleneckPlan, **common: Any) -> VideoNet:
    stem = conv_stem(plan.in_channels, plan.stem_channels, plan.stem_kernel, plan.stem_stride, pool=plan.stem_pool)
    net = VideoNet(stem=stem, block=Bottleneck, stages=plan.stages, **common)
    return set_temporal_padding(net, plan.temporal_padding)


@register_model
def res3d(
    *,
    depth: int = 101,
    base_width: int = 64,
    layers: tuple[int, int, int, int] | None = None,
    temporal_depth: int = 3,
    spatial_size: int = 3,
    pointwise_temporal: int | tuple[int, int] = (1, 3),
    stem_spatial_stride: int = 2,
    temporal_strides: tuple[int, int, int, int] = (1, 2, 2, 2),
    in_channels: int = 3,
    stem_pool: bool = False,
    temporal_padding: str = "zeros",
    **common: Any,
) -> VideoNet:
    """Res3D: the 2D bottleneck ResNet with every kernel made 3D and the first max-pool removed.

    Blocks ``[1×1×1, w; 3×3×3, w; 1×1×3, 4w]`` (SCN with one branch of temporal depth 3; see
    :func:`scn` for the pointwise kernels).

    Args:
        depth: 26, 41 (39 accepted as an alias, see :data:`DEPTH_ALIASES`), 50, 101 or 152.
        base_width: width of conv1/conv2 (paper 64; stage widths double).
        layers: blocks per stage, overriding ``depth``.
        temporal_depth: ``t`` of the middle ``3×3×t`` conv.
        spatial_size: ``s`` of the middle conv.
        pointwise_temporal: ``t`` of the first and last ``1×1×t`` convs, one value or
            ``(first, last)``; default ``(1, 3)`` as SCN (see :func:`scn`); 1 gives the 2D-ResNet
            ``1×1×1``.
        stem_spatial_stride: 2 (Tran et al.'s Res3D: conv1 ``7×7×3`` stride ``1×2×2``, no
            max-pool) or 1 (Table 3 literally: conv1 output 112×112, conv2 downsamples).
        temporal_strides: temporal stride of conv2..conv5 (Tran et al.: 1, 2, 2, 2).
        in_channels: input channels (3 for RGB).
        stem_pool: keep the 2D ResNet's stem max-pool (``3×3×1``, stride ``1×2×2``) that the
            SCN paper removes; with it the network has torchvision ``resnet50/101/152``'s layout
            (depth 50/101/152) and can take their weights
            (:func:`~pain_lib.models.inflate.inflate_2d_to_3d`).
        temporal_padding: ``"zeros"`` (default) or ``"replicate"``: pad time by repeating the
            first/last frame (space stays zero-padded), so an inflated 2D network gives the 2D
            output on a static clip (see :class:`~pain_lib.models.layers.SameConv3d`).
    """
    return _bottleneck_net(
        bottleneck_plan(
            depth=depth, layers=layers, base_width=base_width, temporal_depths=(temporal_depth,),
            spatial_size=spatial_size, pointwise_temporal=pointwise_temporal,
            stem_spatial_stride=stem_spatial_stride, temporal_strides=temporal_strides, in_channels=in_channels,
            stem_pool=stem_pool, temporal_padding=temporal_padding,
        ),
        **common,
    )


@register_model
def scn(
    *,
    depth: int = 101,
    base_width: int = 64,
    layers: tuple[int, int, int, int] | None = None,
    temporal_depths: tuple[int, ...] | tuple[tuple[int, ...], ...] = SCN_TEMPORAL_DEPTHS,
    spatial_size: int = 3,
    branch_widths: tuple[float, ...] | None = None,
    pointwise_temporal: int | tuple[int, int] = (1, 3),
    stem_spatial_stride: int = 2,
    temporal_strides: tuple[int, int, int, int] = (1, 2, 2, 2),
    in_channels: int = 3,
    **common: Any,
) -> VideoNet:
    """SCN (Tavakolian & Hadid 2019): Res3D whose bottleneck has K parallel ``s×s×t_k`` convs.

    Block: ``1×1×1`` conv → K parallel ``s×s×t_k`` convs, concatenated → ``1×1×3`` conv, plus an
    identity or projection shortcut (:class:`~pain_lib.models.blocks.Bottleneck`).

    Args:
        depth: 26, 41 (39 accepted as an alias), 50, 101 (the paper's choice) or 152.
        base_width: width of conv1/conv2 (paper 64).
        layers: blocks per stage, overriding ``depth``.
        temporal_depths: ``(t_1, ..., t_K)`` for every stage, e.g. ``(3, 5, 9)`` (Table 2), or one
            tuple per stage conv2..conv5; default as Table 3 prints: 3/5/9, 3/5/9, 3/5/7, 3/5/7.
        spatial_size: ``s`` of the parallel kernels (Fig. 7; paper 3).
        branch_widths: channel multiplier per branch (default 1.0 each: Table 3's "64" per branch).
        pointwise_temporal: ``t`` of the first and last ``1×1×t`` convs, one value or
            ``(first, last)``. Default ``(1, 3)``: Table 3 prints ``1×1×3`` for both, but with that
            Table 9's parameter counts come out 3.5-3.9 % low at every depth; a ``1×1×1`` first conv
            (the 2D ResNet's) with Table 3's temporal depths gives Table 9 within 0.75 % at every
            depth (``(3, 1)`` with depths 3/5/9 in every stage also does, within 0.3 %, but departs
            from two printed choices instead of one). ``scn/09_table9_cost`` shows the readings.
        stem_spatial_stride, temporal_strides, in_channels: as :func:`res3d`.
    """
    return _bottleneck_net(
        bottleneck_plan(
            depth=depth, layers=layers, base_width=base_width, temporal_depths=temporal_depths,
            spatial_size=spatial_size, branch_widths=branch_widths, pointwise_temporal=pointwise_temporal,
            stem_spatial_stride=stem_spatial_stride, temporal_strides=temporal_strides, in_channels=in_channels,
        ),
        **common,
    )


def _basic_net(
    conv, *, depth: int, base_width: int, stem_kernel, stem_stride, temporal_strides, in_channels: int,
    stem_pool: bool = False, temporal_padding: str = "zeros", **common: Any
) -> VideoNet:
    if depth not in BASIC_LAYERS:
        raise ValueError(f"depth must be one of {sorted(BASIC_LAYERS)}, got {depth!r}")
    ts = tuple(temporal_strides)
    stages = [
        Stage.repeat(name, base_width * 2**i, n, (ts[i], 1 if i == 0 else 2, 1 if i == 0 else 2))
        for i, (name, n) in enumerate(zip(STAGE_NAMES, BASIC_LAYERS[depth]))
    ]
    stem = conv_stem(in_channels, base_width, stem_kernel, stem_stride, conv=conv, pool=stem_pool)
    net = VideoNet(stem=stem, block=partial(BasicBlock, conv=conv), stages=stages, **common)
    return set_temporal_padding(net, temporal_padding)


@register_model
def r3d(
    *,
    depth: int = 18,
    base_width: int = 64,
    stem_kernel: tuple[int, int, int] = (3, 7, 7),
    stem_stride: tuple[int, int, int] = (1, 2, 2),
    temporal_strides: tuple[int, int, int, int] = (1, 2, 2, 2),
    in_channels: int = 3,
    stem_pool: bool = False,
    temporal_padding: str = "zeros",
    **common: Any,
) -> VideoNet:
    """R3D (3D ResNet with basic blocks, full ``3×3×3`` convs; torchvision's ``r3d_18`` layout).

    Args:
        depth: 10, 18 or 34.
        base_width: width of the stem and conv2 (64).
        stem_kernel, stem_stride: PyTorch ``(t, h, w)`` kernel and stride of the stem conv.
        temporal_strides: temporal stride of conv2..conv5.
        in_channels: input channels.
        stem_pool: add the 2D ResNet's stem max-pool (``3×3×1``, stride ``1×2×2``; torchvision's
            ``r3d_18`` has none); with it and a ``(t, 7, 7)`` stem of stride ``(1, 2, 2)`` the
            network has torchvision ``resnet18/34``'s layout (depth 18/34) and can take their
            weights (:func:`~pain_lib.models.inflate.inflate_2d_to_3d`).
        temporal_padding: ``"zeros"`` (default) or ``"replicate"`` (time padded by repeating
            the first/last frame, space by zeros; see :class:`~pain_lib.models.layers.SameConv3d`).
    """
    return _basic_net(conv3d, depth=depth, base_width=base_width, stem_kernel=stem_kernel, stem_stride=stem_stride,
                      temporal_strides=temporal_strides, in_channels=in_channels, stem_pool=stem_pool,
                      temporal_padding=temporal_padding, **common)


@register_model
def r2plus1d(
    *,
    depth: int = 18,
    base_width: int = 64,
    stem_kernel: tuple[int, int, int] = (3, 7, 7),
    stem_stride: tuple[int, int, int] = (1, 2, 2),
    temporal_strides: tuple[int, int, int, int] = (1, 2, 2, 2),
    in_channels: int = 3,
    **common: Any,
) -> VideoNet:
    """R(2+1)D: R3D with every ``t×d×d`` conv factorised into ``d×d×1`` then ``1×1×t`` convs
    (paper notation) with mid-width ``M_i = floor(t d² N_{i-1} N_i / (d² N_{i-1} + t N_i))``
    computed per conv (:func:`~pain_lib.models.layers.conv2plus1d_midplanes`), the stem too.

    Args: as :func:`r3d`.
    """
    return _basic_net(conv2plus1d, depth=depth, base_width=base_width, stem_kernel=stem_kernel,
                      stem_stride=stem_stride, temporal_strides=temporal_strides, in_channels=in_channels, **common)


def _plain_net(groups: Sequence[Sequence[int]], *, base_width: int, batch_norm: bool, in_channels: int,
               stem_name: str, pool_ceil_mode: bool = True, pool5: bool = False, temporal_padding: str = "zeros",
               **common: Any) -> VideoNet:
    """C3D/VGG-style: ``groups[i]`` are the conv widths of group ``conv{i+1}`` (paper width); the first
    conv is the stem; group 2 starts with a spatial-only pool, later groups with ``2×2×2`` pools;
    ``pool5`` adds a last ``2×2×2`` pool after the last group (a pool-only stage)."""
    scale = base_width / 64
    groups = [[max(1, round(c * scale)) for c in g] for g in groups]
    stem = conv_stem(in_channels, groups[0][0], 3, 1, batch_norm=batch_norm, name=stem_name)
    stages = []
    for i, g in enumerate(groups):
        widths = g[1:] if i == 0 else g
        if widths:
            stride = (1, 1, 1) if i == 0 else (1, 2, 2) if i == 1 else (2, 2, 2)
            stages.append(Stage(f"conv{i + 1}", tuple(widths), stride))
    if pool5:
        stages.append(Stage(f"pool{len(groups)}", (groups[-1][-1],), (2, 2, 2), {"pool_only": True}))
    common.setdefault("head_hidden", (64 * base_width, 64 * base_width))
    block = partial(PlainBlock, batch_norm=batch_norm, ceil_mode=pool_ceil_mode)
    net = VideoNet(stem=stem, block=block, stages=stages, **common)
    return set_temporal_padding(net, temporal_padding)


@register_model
def c3d(*, base_width: int = 64, batch_norm: bool = True, in_channels: int = 3, **common: Any) -> VideoNet:
    """C3D (Tran et al. 2015): eight ``3×3×3`` convs (64 | 128 | 256×2 | 512×2 | 512×2) with
    max-pools (pool1 ``2×2×1`` spatial only, then ``2×2×2``), fc6/fc7 of ``64·base_width``
    (4096 at paper width). Differences from the original, so any clip size works and training
    from scratch is stable: BatchNorm after each conv (``batch_norm=False`` removes it) and
    global average pooling instead of pool5 + flatten.

    Args:
        base_width: width of conv1a (64); all widths scale with it.
        batch_norm: BatchNorm after every conv.
        in_channels: input channels.
    """
    return _plain_net([[64], [128], [256, 256], [512, 512], [512, 512]], base_width=base_width,
                      batch_norm=batch_norm, in_channels=in_channels, stem_name="conv1a", **common)


@register_model
def vgg3d(
    *,
    base_width: int = 64,
    batch_norm: bool = True,
    in_channels: int = 3,
    pool_ceil_mode: bool = True,
    pool5: bool = False,
    temporal_padding: str = "zeros",
    **common: Any,
) -> VideoNet:
    """VGG3D: VGG-16 inflated to 3D (every ``3×3`` conv a ``3×3×3`` conv), 13 convs in five groups
    (64×2 | 128×2 | 256×3 | 512×3 | 512×3), max-pools between groups (the first spatial only),
    global average pooling and fc6/fc7 of ``64·base_width`` (4096 at paper width).

    Args:
        base_width, batch_norm, in_channels: as :func:`c3d`.
        pool_ceil_mode: ``ceil_mode`` of the max-pools (default True: odd sizes round up, any
            clip length works). torchvision's VGG-16 rounds down (``False``); time is then rounded
            down too, so a clip needs ``2^k`` frames for ``k`` temporal pools (8, 16 with ``pool5``).
        pool5: add VGG's last max-pool (``2×2×2``) after conv5 (a pool-only stage ``pool5``);
            default off (global average pooling follows conv5 directly).
        temporal_padding: ``"zeros"`` (default) or ``"replicate"`` (time padded by repeating
            the first/last frame; see :class:`~pain_lib.models.layers.SameConv3d`).

    With ``batch_norm=False, pool_ceil_mode=False, pool5=True, temporal_padding="replicate"`` the
    trunk has torchvision ``vgg16``'s layout and takes its conv weights
    (:func:`~pain_lib.models.inflate.inflate_2d_to_3d`; fc6/fc7 do not inflate: VGG-16 flattens a
    ``7×7`` map, VGG3D pools globally). Same parameter count with or without these options.
    """
    return _plain_net([[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3], base_width=base_width,
                      batch_norm=batch_norm, in_channels=in_channels, stem_name="conv1_1",
                      pool_ceil_mode=pool_ceil_mode, pool5=pool5, temporal_padding=temporal_padding, **common)


#: Inception-v1 module widths (I3D's Mixed_3b ... Mixed_5c) at paper width
INCEPTION_V1 = {
    "mixed3": ((64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64)),
    "mixed4": (
        (192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
        (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128),
    ),
    "mixed5": ((256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128)),
}


#: ``pool_layout`` values of :func:`inception3d`
INCEPTION_POOL_LAYOUTS = ("i3d", "torchvision")


@register_model
def inception3d(
    *,
    base_width: int = 64,
    in_channels: int = 3,
    bn_eps: float = 1e-5,
    pool_layout: str = "i3d",
    temporal_padding: str = "zeros",
    **common: Any,
) -> VideoNet:
    """Inception3D: Inception-v1 inflated to 3D in the I3D layout (Carreira & Zisserman 2017).

    Stem ``7×7×7`` conv stride 2 → max-pool ``3×3×1`` (spatial) → ``1×1×1`` conv → ``3×3×3``
    conv 192; then Mixed 3b-3c, 4b-4f, 5b-5c (:class:`~pain_lib.models.blocks.InceptionBlock`)
    with max-pools between groups; every width scales with ``base_width / 64``.

    Args:
        base_width: width of the first conv (64).
        in_channels: input channels.
        bn_eps: eps of every BatchNorm (default PyTorch's 1e-5; torchvision's GoogLeNet: 1e-3).
        pool_layout: the max-pools of the stem and between the Mixed groups. ``"i3d"``
            (default): 'same'-padded ``3×3×3`` pools (``3×3×1`` when only spatial), sizes rounded
            down. ``"torchvision"``: GoogLeNet's: spatial ``3×3`` (``2×2`` before Mixed 5),
            stride 2, no padding, ``ceil_mode=True`` (the branch pools too); the temporal kernel
            is the temporal stride, so time is halved rounding up, the same sizes as ``"i3d"``.
        temporal_padding: ``"zeros"`` (default) or ``"replicate"`` (time padded by repeating
            the first/last frame; see :class:`~pain_lib.models.layers.SameConv3d`).

    With ``bn_eps=1e-3, pool_layout="torchvision", temporal_padding="replicate"`` (and
    ``base_width=64``) the network has torchvision ``googlenet``'s layout and takes its weights
    (:func:`~pain_lib.models.inflate.inflate_2d_to_3d`; that GoogLeNet has no auxiliary
    classifiers, and with ImageNet weights it re-normalises its input, ``transform_input``, which
    the 3D network does not). Same parameter count for every option.
    """
    if pool_layout not in INCEPTION_POOL_LAYOUTS:
        raise ValueError(f"pool_layout must be one of {INCEPTION_POOL_LAYOUTS}, got {pool_layout!r}")
    s = base_width / 64
    c = lambda n: max(1, round(n * s))  # noqa: E731
    c1, c2, c3 = c(64), c(64), c(192)
    tv = pool_layout == "torchvision"
    pool = nn.MaxPool3d((1, 3, 3), (1, 2, 2), ceil_mode=True) if tv else max_pool((1, 3, 3), (1, 2, 2))
    stem = Stem(
        *ConvBNReLU(in_channels, c1, 7, 2, bn_eps=bn_eps), pool,
        *ConvBNReLU(c1, c2, 1, bn_eps=bn_eps), *ConvBNReLU(c2, c3, 3, bn_eps=bn_eps),
        out_channels=c3, name="stem",
        description=f"[7×7×7], {c1}, stride 2; max-pool 3×3×1; [1×1×1], {c2}; [3×3×3], {c3}",
    )
    strides = {"mixed3": (1, 2, 2), "mixed4": (2, 2, 2), "mixed5": (2, 2, 2)}
    stages = [
        Stage(n, tuple(tuple(c(x) for x in spec) for spec in specs), strides[n],
              {"bn_eps": bn_eps, "pool": "ceil" if tv else "same", "pool_kernel": 2 if n == "mixed5" else 3})
        for n, specs in INCEPTION_V1.items()
    ]
    net = VideoNet(stem=stem, block=InceptionBlock, stages=stages, **common)
    return set_temporal_padding(net, temporal_padding)


"""Convolution factories and kernel notation shared by every 3D network of the library.

Tensor layout everywhere: clips are ``(N, C, T, H, W)`` (PyTorch ``Conv3d`` order).

Kernel notation
---------------
The SCN paper writes 3D kernels as ``s × s × t`` — *spatial × spatial × temporal*
(Sec. 3.1: "kernels are of size s × s × t, where s is the spatial size of the kernels and t
denotes the temporal depth"). So the paper's ``1 × 1 × 3`` is a purely **temporal** kernel and
``3 × 3 × 9`` is a 3×3 spatial kernel spanning 9 frames. PyTorch's ``Conv3d`` takes
``kernel_size=(t, h, w)``; :func:`kernel_thw` does the mapping and :func:`paper_kernel` maps
back for the architecture tables. The hrg paper uses the same order (``3×3×1`` spatial,
``1×1×3`` temporal).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "Triple",
    "triple",
    "kernel_thw",
    "paper_kernel",
    "same_padding",
    "TEMPORAL_PADDINGS",
    "SameConv3d",
    "set_temporal_padding",
    "conv3d",
    "conv2plus1d",
    "conv2plus1d_midplanes",
    "ConvFactory",
]

Triple = tuple[int, int, int]


def triple(v: int | Sequence[int]) -> Triple:
    """``3 -> (3, 3, 3)``; a length-3 sequence is returned as a tuple."""
    if isinstance(v, int):
        return (v, v, v)
    t = tuple(int(x) for x in v)
    if len(t) != 3:
        raise ValueError(f"expected an int or 3 ints (t, h, w), got {v!r}")
    return t  # type: ignore[return-value]


def kernel_thw(spatial: int, temporal: int) -> Triple:
    """Map the paper's ``s × s × t`` kernel to PyTorch's ``(t, s, s)``."""
    return (int(temporal), int(spatial), int(spatial))


def paper_kernel(kernel: Sequence[int]) -> str:
    """PyTorch ``(t, h, w)`` -> the paper's notation ``"h×w×t"`` (e.g. ``(9,3,3) -> "3×3×9"``)."""
    t, h, w = triple(kernel)
    return f"{h}×{w}×{t}"


def same_padding(kernel: Sequence[int]) -> Triple:
    """Padding that keeps the size for odd kernels at stride 1: ``k // 2`` per axis."""
    return tuple(k // 2 for k in triple(kernel))  # type: ignore[return-value]


#: how :class:`SameConv3d` pads the time axis
TEMPORAL_PADDINGS = ("zeros", "replicate")


class SameConv3d(nn.Conv3d):
    """``nn.Conv3d`` with 'same' padding (``k // 2``) that is safe for kernels larger than
    their input, and optionally pads **time by replication** (space always by zeros).

    PyTorch's CPU conv3d backward misbehaves (NaN gradients, out-of-bounds reads, crashes)
    when a kernel is longer than the *unpadded* input along an axis with implicit padding --
    e.g. a temporal depth of 13 on an 8-frame feature map, which SCN's parallel kernels meet
    in deep stages and small profiles. For such inputs this module (1) crops the outer taps
    that can only ever multiply zero padding (a kernel longer than ``2n - 1`` on an input of
    size ``n``) and (2) pads the input explicitly and convolves without implicit padding.
    Both are exact: same output size, same values, same gradients for the taps in use. The
    parameter tensor keeps its full size, so parameter counts are unchanged.

    ``temporal_padding`` (attribute and keyword argument; :func:`set_temporal_padding` sets it
    on a whole network):

    * ``"zeros"`` (default): zero padding on every axis, as ``nn.Conv3d``.
    * ``"replicate"``: the first and last frames are repeated to pad time
      (``F.pad(..., mode="replicate")``), space is zero-padded. A clip whose frames are all the
      same then stays static through every layer, so a 2D network inflated I3D-style
      (:func:`~pain_lib.models.inflate.inflate_2d_to_3d`) gives the 2D network's output on
      such a clip; zero padding in time makes the clip's first and last frames differ.
    """

    def __init__(self, *args, temporal_padding: str = "zeros", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.temporal_padding = temporal_padding

    @property
    def temporal_padding(self) -> str:
        return self._temporal_padding

    @temporal_padding.setter
    def temporal_padding(self, mode: str) -> None:
        if mode not in TEMPORAL_PADDINGS:
            raise ValueError(f"temporal_padding must be one of {TEMPORAL_PADDINGS}, got {mode!r}")
        self._temporal_padding = mode

    def forward(self, x):
        if self._temporal_padding == "replicate" and self.padding[0] > 0:
            pt, ph, pw = self.padding
            x = F.pad(F.pad(x, (0, 0, 0, 0, pt, pt), mode="replicate"), (pw, pw, ph, ph))
            return F.conv3d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        sizes = x.shape[-3:]
        if all(k <= n for k, n in zip(self.kernel_size, sizes)):
            return super().forward(x)
        weight, padding, slices = self.weight, list(self.padding), [slice(None), slice(None)]
        for axis, (k, n, p) in enumerate(zip(self.kernel_size, sizes, self.padding)):
            if k % 2 == 1 and p == k // 2 and k > 2 * n - 1:
                c = k // 2
                slices.append(slice(c - (n - 1), c + n))
                padding[axis] = n - 1
            else:
                slices.append(slice(None))
        weight = weight[tuple(slices)]
        pt, ph, pw = padding
        x = F.pad(x, (pw, pw, ph, ph, pt, pt))
        return F.conv3d(x, weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self._temporal_padding == "zeros" else f"{s}, temporal_padding={self._temporal_padding}"


def set_temporal_padding(model: nn.Module, mode: str) -> nn.Module:
    """Set ``temporal_padding`` (``"zeros"`` / ``"replicate"``) of every :class:`SameConv3d` in
    ``model``; returns ``model``. Convolutions without temporal padding are unaffected."""
    if mode not in TEMPORAL_PADDINGS:
        raise ValueError(f"temporal_padding must be one of {TEMPORAL_PADDINGS}, got {mode!r}")
    for m in model.modules():
        if isinstance(m, SameConv3d):
            m.temporal_padding = mode
    return model


# A conv factory returns the modules of one (possibly factorised) convolution *without* the
# final BatchNorm/ReLU: ``factory(in_channels, out_channels, kernel, stride) -> list[Module]``.
ConvFactory = Callable[[int, int, Sequence[int], Sequence[int]], list[nn.Module]]


def conv3d(in_channels: int, out_channels: int, kernel: Sequence[int], stride: Sequence[int] = 1) -> list[nn.Module]:
    """A full 3D convolution (no bias: a BatchNorm follows), 'same' padding for odd kernels."""
    k = triple(kernel)
    return [SameConv3d(in_channels, out_channels, k, stride=triple(stride), padding=same_padding(k), bias=False)]


def conv2plus1d_midplanes(in_channels: int, out_channels: int, kernel: Sequence[int]) -> int:
    """Width ``M_i`` of the (2+1)D factorisation that matches a full ``t×d×d`` conv's parameters.

    ``M_i = floor(t d² N_{i-1} N_i / (d² N_{i-1} + t N_i))`` (Tran et al. 2018; the hrg paper's
    formula), computed *per convolution* from its own input/output widths (torchvision computes
    one mid-width per block and reuses it for both convolutions). With this width the
    factorised pair has ``M_i (d² N_{i-1} + t N_i)`` weights, i.e. the full conv's
    ``t d² N_{i-1} N_i`` minus less than ``d² N_{i-1} + t N_i`` (the floor).
    Non-square spatial kernels use ``d² := h·w``.
    """
    t, h, w = triple(kernel)
    d2 = h * w
    return max(1, (t * d2 * in_channels * out_channels) // (d2 * in_channels + t * out_channels))


def conv2plus1d(in_channels: int, out_channels: int, kernel: Sequence[int], stride: Sequence[int] = 1) -> list[nn.Module]:
    """(2+1)D factorisation of a ``(t, d, d)`` conv: ``1×d×d`` spatial conv to ``M_i`` channels,
    BatchNorm + ReLU, then a ``t×1×1`` temporal conv (the paper notation ``d×d×1`` then ``1×1×t``).

    The spatial stride goes to the spatial conv, the temporal stride to the temporal conv.
    A kernel with ``t == 1`` or ``d == 1`` is already separable and stays one conv.
    """
    t, h, w = triple(kernel)
    st, sh, sw = triple(stride)
    if t == 1 or (h == 1 and w == 1):
        return conv3d(in_channels, out_channels, (t, h, w), (st, sh, sw))
    mid = conv2plus1d_midplanes(in_channels, out_channels, (t, h, w))
    return [
        SameConv3d(in_channels, mid, (1, h, w), stride=(1, sh, sw), padding=(0, h // 2, w // 2), bias=False),
        nn.BatchNorm3d(mid),
        nn.ReLU(inplace=True),
        SameConv3d(mid, out_channels, (t, 1, 1), stride=(st, 1, 1), padding=(t // 2, 0, 0), bias=False),
    ]

"""Shared input validation for :mod:`pain_lib.preprocess`.

Every public function of the package funnels its video input through :func:`_check_clip`,
so bad input fails in one place with one kind of message (what was expected, what was
given) instead of deep inside OpenCV or torch.

Layout convention (used by every function of the package):

* a clip is either channels-last ``(T, H, W, C)`` -- what :func:`pain_lib.data.read_clip`
  returns (uint8 RGB) -- or channels-first ``(C, T, H, W)`` -- the PyTorch video layout;
* ``layout="auto"`` decides by the position of the channel axis: the axis whose size is an
  allowed channel count.  When both ends could be channels (e.g. ``(3, 8, 8, 3)``) NumPy
  input is read as ``(T,H,W,C)`` and torch input as ``(C,T,H,W)``;
* outputs mirror the input: NumPy in -> NumPy out, channels-last in -> channels-last out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["ClipInfo", "_check_clip", "_restore", "_check_signal", "_as_numpy"]

LAYOUTS = ("auto", "THWC", "CTHW")


@dataclass(frozen=True)
class ClipInfo:
    """How a clip came in, so that an output can be returned the same way."""

    numpy: bool  #: the input was a NumPy array (or a sequence of frames)
    channels_last: bool  #: the input layout was (T, H, W, C)
    dtype: object  #: the input dtype (NumPy or torch)
    device: torch.device  #: the device the computation runs on
    uint8: bool  #: the input was 8-bit


def _describe(channels: Sequence[int]) -> str:
    cs = "|".join(str(c) for c in channels)
    return f"(T,H,W,{cs}) or ({cs},T,H,W)"


def _check_clip(
    clip,
    *,
    name: str = "clip",
    min_frames: int = 1,
    channels: Sequence[int] = (3,),
    layout: str = "auto",
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, ClipInfo]:
    """Validate a video clip and return it as a float tensor ``(C, T, H, W)``.

    For channels-last input the result is a permuted *view* (not contiguous); callers that
    reduce over time can use ``x.permute(1, 2, 3, 0)`` to get the original memory order.

    Args:
        clip: NumPy array, torch tensor or a sequence of ``(H, W, C)`` frames.
        name: name used in error messages.
        min_frames: fewest frames the caller needs (e.g. 2 for optical flow).
        channels: allowed channel counts.
        layout: ``"auto"``, ``"THWC"`` or ``"CTHW"``.
        device: where the returned tensor lives (default: the input's device, CPU for NumPy).
        dtype: floating dtype of the returned tensor (default: float64 for float64 input,
            float32 otherwise). Values are *not* rescaled (uint8 stays 0..255).

    Raises:
        ValueError: with the expected layout and what was given, for: a non-array, a wrong
            rank, a wrong channel count, an empty clip, too few frames, non-numeric data,
            NaN or infinite values.
    """
    channels = tuple(channels)
    expected = _describe(channels)
    if layout not in LAYOUTS:
        raise ValueError(f"{name}: layout must be one of {LAYOUTS}, got {layout!r}")
    is_numpy = not isinstance(clip, torch.Tensor)
    if is_numpy:
        if isinstance(clip, (list, tuple)):
            if len(clip) == 0:
                raise ValueError(f"{name}: expected a clip of shape {expected}; got an empty sequence")
            try:
                clip = np.stack([np.asarray(f) for f in clip])
            except ValueError as exc:
                raise ValueError(f"{name}: frames of a sequence must share one shape ({exc})") from None
        if not isinstance(clip, np.ndarray):
            raise ValueError(
                f"{name}: expected a clip of shape {expected} as a NumPy array or torch tensor; "
                f"got {type(clip).__name__}"
            )
        if clip.dtype == object or not (
            np.issubdtype(clip.dtype, np.number) or clip.dtype == np.bool_
        ):
            raise ValueError(f"{name}: expected numeric data; got dtype {clip.dtype}")
    src_dtype = clip.dtype
    if clip.ndim != 4:
        raise ValueError(
            f"{name}: expected a clip of shape {expected} (4 dimensions); got shape "
            f"{tuple(clip.shape)} ({clip.ndim} dimensions)"
        )
    shape = tuple(int(s) for s in clip.shape)
    if layout == "auto":
        last_ok, first_ok = shape[-1] in channels, shape[0] in channels
        if last_ok and first_ok:
            channels_last = is_numpy
        elif last_ok or first_ok:
            channels_last = last_ok
        else:
            raise ValueError(
                f"{name}: expected a clip of shape {expected}; got shape {shape} "
                f"(neither the first nor the last axis has {'/'.join(map(str, channels))} channels)"
            )
    else:
        channels_last = layout == "THWC"
        c = shape[-1] if channels_last else shape[0]
        if c not in channels:
            raise ValueError(
                f"{name}: expected a clip of shape {expected} with layout {layout}; got shape "
                f"{shape} ({c} channels)"
            )
    t = shape[0] if channels_last else shape[1]
    if 0 in shape:
        raise ValueError(f"{name}: expected a clip of shape {expected}; got an empty clip {shape}")
    if t < min_frames:
        raise ValueError(
            f"{name}: expected a clip of shape {expected} with at least {min_frames} frames; "
            f"got {t} frame{'s' if t != 1 else ''} (shape {shape})"
        )
    if is_numpy:
        arr = np.ascontiguousarray(clip)
        # a read-only array (a memory-mapped cache entry): torch needs a writable one, so copy it
        tensor = torch.from_numpy(arr if arr.flags.writeable else arr.copy())
    else:
        tensor = clip.detach()
    if tensor.dtype == torch.bool:
        tensor = tensor.to(torch.uint8)
    if device is not None:
        tensor = tensor.to(device)
    if channels_last:
        tensor = tensor.permute(3, 0, 1, 2)
    is_uint8 = tensor.dtype == torch.uint8
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name}: the clip contains NaN or infinite values")
    if dtype is None:
        dtype = torch.float64 if tensor.dtype == torch.float64 else torch.float32
    tensor = tensor.to(dtype)
    info = ClipInfo(
        numpy=is_numpy,
        channels_last=channels_last,
        dtype=src_dtype,
        device=tensor.device,
        uint8=is_uint8,
    )
    return tensor, info


def _restore(x: torch.Tensor, info: ClipInfo, *, channel_dim: int = 0):
    """Return a channels-first result the way the clip came in.

    ``x`` has its channel axis at ``channel_dim`` (e.g. ``(C,H,W)`` or ``(N,C,H,W)``); for a
    channels-last input it is moved to the end, and NumPy input gives a NumPy output.
    """
    if info.channels_last:
        x = torch.movedim(x, channel_dim, -1)
    if info.numpy:
        return x.detach().cpu().numpy()
    return x


def _as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _check_signal(
    x,
    *,
    name: str,
    ndim: int = 1,
    min_len: int = 1,
    last_dim: int | None = None,
    expected: str | None = None,
) -> np.ndarray:
    """Validate a 1-D signal (``ndim=1``) or a ``(T, k)`` trace and return float64 NumPy."""
    desc = expected or ("(T,)" if ndim == 1 else f"(T,{last_dim if last_dim else 'k'})")
    if not isinstance(x, (np.ndarray, torch.Tensor, list, tuple)):
        raise ValueError(f"{name}: expected an array of shape {desc}; got {type(x).__name__}")
    arr = _as_numpy(x)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name}: expected numeric data of shape {desc}; got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name}: expected an array of shape {desc}; got shape {arr.shape}")
    if last_dim is not None and arr.shape[-1] != last_dim:
        raise ValueError(f"{name}: expected an array of shape {desc}; got shape {arr.shape}")
    if arr.shape[0] < min_len:
        raise ValueError(
            f"{name}: expected an array of shape {desc} with at least {min_len} samples; "
            f"got {arr.shape[0]}"
        )
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: the signal contains NaN or infinite values")
    return arr

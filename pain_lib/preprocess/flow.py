"""Dense optical flow (OpenCV) and its encodings for 2D networks.

* ``farneback`` -- Farneback (2003) polynomial expansion; AHDI's motion activity uses it.
* ``dis`` -- Dense Inverse Search (Kroeger et al. 2016), fast.
* ``tvl1`` -- TV-L1 (Zach et al. 2007), the SSD paper's choice; needs ``cv2.optflow`` from
  ``opencv-contrib-python``.  Without it :func:`optical_flow` warns once, naming the package,
  and falls back to ``dis``.

Flow between frame ``t`` and ``t+1`` is ``(dx, dy)`` in pixels per frame: a clip of ``T``
frames gives ``(T-1, H, W, 2)`` float32 (NumPy, channels-last: OpenCV runs on the CPU).
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import torch

from ._validate import _check_clip

__all__ = [
    "FLOW_METHODS",
    "tvl1_available",
    "to_gray_uint8",
    "optical_flow",
    "flow_magnitude_angle",
    "flow_to_rgb",
]

FLOW_METHODS = ("farneback", "dis", "tvl1")

#: Farneback parameters (OpenCV's documented example values)
FARNEBACK_DEFAULTS = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5,
                          poly_sigma=1.2, flags=0)

_warned_tvl1 = False


def tvl1_available() -> bool:
    """Whether OpenCV's contrib TV-L1 (``cv2.optflow.DualTVL1OpticalFlow_create``) exists."""
    return hasattr(cv2, "optflow") and hasattr(cv2.optflow, "DualTVL1OpticalFlow_create")


def to_gray_uint8(frames, *, layout: str = "auto", min_frames: int = 1) -> np.ndarray:
    """RGB (or grey) clip -> ``(T, H, W)`` uint8 grey (ITU-R 601 luma, as ``cv2.COLOR_RGB2GRAY``).

    Float input is taken in 0..255 units and clipped.
    """
    x, _ = _check_clip(frames, channels=(1, 3), layout=layout, min_frames=min_frames, device="cpu")
    if x.shape[0] == 3:
        x = 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    else:
        x = x[0]
    return torch.clamp(torch.round(x), 0, 255).to(torch.uint8).numpy()


def _make_engine(method: str, params: dict):
    if method == "farneback":
        p = {**FARNEBACK_DEFAULTS, **params}
        return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, **p)
    if method == "dis":
        preset = params.get("preset", cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        dis = cv2.DISOpticalFlow_create(preset)
        return lambda a, b: dis.calc(a, b, None)
    if method == "tvl1":
        tv = cv2.optflow.DualTVL1OpticalFlow_create(**params)
        return lambda a, b: tv.calc(a, b, None)
    raise ValueError(f"method must be one of {FLOW_METHODS}, got {method!r}")


def optical_flow(frames, method: str = "farneback", *, layout: str = "auto", **params) -> np.ndarray:
    """Dense optical flow between successive frames.

    Args:
        frames: ``(T,H,W,3)`` uint8 RGB (or ``(3,T,H,W)``, or grey with 1 channel), T >= 2.
        method: ``"farneback"``, ``"dis"`` or ``"tvl1"`` (falls back to ``"dis"`` with a
            warning when ``cv2.optflow`` is missing).
        **params: passed to the OpenCV constructor/call (``preset`` for DIS).

    Returns:
        ``(T-1, H, W, 2)`` float32: ``flow[t]`` maps frame ``t`` to ``t+1`` as ``(dx, dy)``.
    """
    global _warned_tvl1
    if method not in FLOW_METHODS:
        raise ValueError(f"method must be one of {FLOW_METHODS}, got {method!r}")
    gray = to_gray_uint8(frames, layout=layout, min_frames=2)
    if method == "tvl1" and not tvl1_available():
        if not _warned_tvl1:
            warnings.warn(
                "optical_flow(method='tvl1'): TV-L1 needs cv2.optflow, which is in "
                "opencv-contrib-python (not installed); falling back to DIS optical flow.",
                RuntimeWarning,
                stacklevel=2,
            )
            _warned_tvl1 = True
        method, params = "dis", {}
    T, H, W = gray.shape
    out = np.empty((T - 1, H, W, 2), np.float32)
    workers = max(1, min(_n_workers(), T - 1))

    def run(chunk):  # one engine per thread (DIS objects are not thread-safe)
        engine = _make_engine(method, params)
        for t in chunk:
            out[t] = engine(gray[t], gray[t + 1])

    chunks = np.array_split(np.arange(T - 1), workers)
    if workers == 1:
        run(chunks[0])
    else:  # OpenCV releases the GIL: frame pairs run in parallel
        with ThreadPoolExecutor(workers) as ex:
            list(ex.map(run, chunks))
    return out


def _n_workers() -> int:
    """Threads for per-frame OpenCV work: ``$PAIN_LIB_FLOW_THREADS`` or the CPU count (<= 8)."""
    env = os.environ.get("PAIN_LIB_FLOW_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(8, os.cpu_count() or 1))


def _check_flow(flow) -> np.ndarray:
    arr = flow.detach().cpu().numpy() if isinstance(flow, torch.Tensor) else np.asarray(flow)
    if arr.ndim < 3 or arr.shape[-1] != 2:
        raise ValueError(f"flow: expected shape (..., H, W, 2); got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("flow: contains NaN or infinite values")
    return arr.astype(np.float32, copy=False)


def flow_magnitude_angle(flow) -> tuple[np.ndarray, np.ndarray]:
    """``(..., H, W, 2)`` flow -> magnitude ``(..., H, W)`` (pixels) and angle ``(..., H, W)``
    in radians in ``[0, 2*pi)`` (image coordinates: y points down)."""
    f = _check_flow(flow)
    mag = np.hypot(f[..., 0], f[..., 1])
    ang = np.mod(np.arctan2(f[..., 1], f[..., 0]), 2 * np.pi)
    return mag, ang


def flow_to_rgb(flow, *, mode: str = "hsv", max_magnitude: float | None = None) -> np.ndarray:
    """Encode flow ``(..., H, W, 2)`` as uint8 RGB ``(..., H, W, 3)`` for display or a 2D CNN.

    * ``"hsv"``: hue = direction, value = magnitude / ``max_magnitude``, full saturation
      (the usual colour-wheel picture);
    * ``"uvm"``: R = 128 + 127 dx/max, G = 128 + 127 dy/max, B = 255 |f|/max (linear, no hue
      wrap-around: the two-stream-network style input, used for SSD on flow).

    ``max_magnitude`` defaults to the largest magnitude in ``flow`` (a zero flow maps to hue 0,
    value 0 / mid-grey).
    """
    f = _check_flow(flow)
    mag, ang = flow_magnitude_angle(f)
    m = float(mag.max()) if max_magnitude is None else float(max_magnitude)
    if not m > 0:
        m = 1.0
    if mode == "hsv":
        hsv = np.empty(f.shape[:-1] + (3,), np.uint8)
        hsv[..., 0] = np.round(ang * (90.0 / np.pi)).astype(np.uint8) % 180  # OpenCV hue: 0..179
        hsv[..., 1] = 255
        hsv[..., 2] = np.clip(np.round(255.0 * mag / m), 0, 255).astype(np.uint8)
        flat = hsv.reshape(-1, 1, 3)
        return cv2.cvtColor(flat, cv2.COLOR_HSV2RGB).reshape(hsv.shape)
    if mode == "uvm":
        out = np.stack(
            [128.0 + 127.0 * f[..., 0] / m, 128.0 + 127.0 * f[..., 1] / m, 255.0 * mag / m], axis=-1
        )
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    raise ValueError(f"mode must be 'hsv' or 'uvm', got {mode!r}")

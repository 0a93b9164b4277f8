"""Key-frame selection and frame-skip sampling (hrg Sec. III-A).

hrg: "In a time window of 2i frames, where i is set to 3 empirically, the histograms of
frames are calculated. A chi-square distance is employed to measure the difference of
successive frame histograms. The frame with the least difference is picked up as the key
frame in this time window."  Then "frame skip sampling on a processed video that only
contains key frames" turns one video into several training samples.

Choices (the paper does not fix them): per-channel histograms of ``bins`` bins each,
normalised to sum 1 per channel and concatenated; chi-square distance
``0.5 * sum (a-b)^2 / (a+b)`` (terms with ``a+b = 0`` are 0); the difference of frame ``t``
is its distance to frame ``t-1`` (frame 0 uses its distance to frame 1); windows are fixed,
non-overlapping, the last one may be shorter; ties go to the earliest frame.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ._validate import _check_clip

__all__ = [
    "frame_histograms",
    "chi_square_distance",
    "successive_distances",
    "select_key_frames",
    "frame_skip_sampling",
]


def frame_histograms(frames, bins: int = 32, *, layout: str = "auto") -> np.ndarray:
    """Per-channel intensity histograms: ``(T,H,W,C)`` / ``(C,T,H,W)`` -> ``(T, C*bins)``
    float64, each channel's block summing to 1.  Bin of a level ``v`` is
    ``floor(v * bins / 256)``; float input is floored and clipped to 0..255.  (OpenCV
    ``calcHist`` per frame and channel.)"""
    if not isinstance(bins, (int, np.integer)) or not 1 <= bins <= 256:
        raise ValueError(f"bins must be an integer in 1..256, got {bins!r}")
    x, info = _check_clip(frames, channels=(1, 3), layout=layout, device="cpu")
    C, T, H, W = x.shape
    v = x.permute(1, 2, 3, 0)  # (T,H,W,C) view
    if not info.uint8:
        v = torch.clamp(torch.floor(v), 0, 255)
    f = np.ascontiguousarray(v.to(torch.uint8).numpy())
    # cv2.calcHist with uniform bins over [0, 256): bin = floor(level * bins / 256)
    h = np.empty((T, C, bins), np.float64)
    for t in range(T):
        for c in range(C):
            h[t, c] = cv2.calcHist([f[t]], [c], None, [bins], [0, 256]).ravel()
    return h.reshape(T, C * bins) / float(H * W)


def chi_square_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``0.5 * sum_k (a_k - b_k)^2 / (a_k + b_k)`` over the last axis (0/0 terms count 0)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    s = a + b
    num = (a - b) ** 2
    return 0.5 * np.sum(np.divide(num, s, out=np.zeros_like(num), where=s > 0), axis=-1)


def successive_distances(frames, bins: int = 32, *, layout: str = "auto") -> np.ndarray:
    """Chi-square distance of each frame's histogram to the previous frame's: ``(T,)``.

    ``d[t] = chi2(h[t-1], h[t])`` for ``t >= 1`` and ``d[0] = d[1]``. Needs T >= 2.
    """
    h = frame_histograms(frames, bins, layout=layout)
    if h.shape[0] < 2:
        raise ValueError(
            f"frames: expected a clip of shape (T,H,W,3) or (3,T,H,W) with at least 2 frames; "
            f"got {h.shape[0]} frame"
        )
    d = chi_square_distance(h[:-1], h[1:])
    return np.concatenate([d[:1], d])


def select_key_frames(frames, window: int = 6, *, bins: int = 32, layout: str = "auto") -> np.ndarray:
    """Indices of the key frames: in each fixed window of ``window`` (= 2i, i = 3) frames, the
    frame whose histogram changed least from its predecessor.

    Returns ``(ceil(T / window),)`` int64 indices, increasing.
    """
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    d = successive_distances(frames, bins, layout=layout)
    T = d.shape[0]
    n = -(-T // window)
    padded = np.full(n * window, np.inf)
    padded[:T] = d
    return np.argmin(padded.reshape(n, window), axis=1) + np.arange(n) * window


def frame_skip_sampling(n_frames: int, skip: int, clip_len: int | None = None) -> list[np.ndarray]:
    """Frame-skip sampling for augmentation (hrg Sec. III-A): one index array per offset
    ``o = 0..skip-1``, ``[o, o+skip, o+2*skip, ...]`` (cut to ``clip_len`` if given).

    Offsets that would give fewer than ``clip_len`` frames are dropped (so every sample has the
    same length); with ``clip_len=None`` every offset below ``n_frames`` is returned.
    """
    if not isinstance(n_frames, (int, np.integer)) or n_frames < 1:
        raise ValueError(f"n_frames must be a positive integer, got {n_frames!r}")
    if not isinstance(skip, (int, np.integer)) or skip < 1:
        raise ValueError(f"skip must be a positive integer, got {skip!r}")
    if clip_len is not None and (not isinstance(clip_len, (int, np.integer)) or clip_len < 1):
        raise ValueError(f"clip_len must be a positive integer or None, got {clip_len!r}")
    out = []
    for o in range(min(skip, n_frames)):
        idx = np.arange(o, n_frames, skip)
        if clip_len is not None:
            if len(idx) < clip_len:
                continue
            idx = idx[:clip_len]
        out.append(idx)
    return out

"""Pure helpers over the simulator's ground truth (used by the data notebook and tests).

Arrays: envelopes / AU curves ``(T,)``, frames ``(T, H, W, 3)`` uint8 RGB, landmarks
``(T, 68, 2)`` frame px, ECG ``(N,)`` at ``fs`` Hz.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

__all__ = ["rise_time", "onset_index", "onset_aligned", "cheek_trace", "ecg_r_peaks", "instantaneous_hr"]


def rise_time(env: np.ndarray, fps: float, lo: float = 0.1, hi: float = 0.9) -> float:
    """Seconds from ``lo`` to ``hi`` of the *first* peak of ``env`` (the first episode's
    onset; NaN if flat)."""
    env = np.asarray(env, float)
    if env.size == 0 or env.max() <= 0:
        return float("nan")
    start = int(np.argmax(env > 0.02 * env.max()))
    falling = np.flatnonzero(np.diff(env[start:]) < -1e-9 * env.max())
    end = start + (int(falling[0]) if falling.size else len(env) - 1 - start)
    peak = env[end]
    seg = env[start:end + 1]
    i_lo = int(np.argmax(seg >= lo * peak))
    i_hi = int(np.argmax(seg >= hi * peak))
    return (i_hi - i_lo) / fps


def onset_index(env: np.ndarray, frac: float = 0.1) -> int | None:
    """First frame where ``env`` exceeds ``frac`` of its peak (``None`` if flat)."""
    env = np.asarray(env, float)
    if env.size == 0 or env.max() <= 0:
        return None
    return int(np.argmax(env >= frac * env.max()))


def onset_aligned(curve: np.ndarray, env: np.ndarray, fps: float, before: float = 0.5,
                  after: float = 3.0) -> np.ndarray:
    """``curve`` resampled on ``[-before, after]`` s around the onset of ``env``
    (``round((before + after) * fps) + 1`` samples, NaN outside the recording)."""
    t = np.arange(-before, after + 1e-9, 1 / fps)
    i0 = onset_index(env)
    if i0 is None:
        return np.full(len(t), np.nan)
    src = (np.arange(len(curve)) - i0) / fps
    return np.interp(t, src, np.asarray(curve, float), left=np.nan, right=np.nan)


def cheek_trace(frames: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Mean RGB ``(T, 3)`` of the cheek/nose band below the eyes (landmarks 1, 15, 28, 33)."""
    out = np.empty((len(frames), 3))
    for i, (f, lm) in enumerate(zip(frames, landmarks)):
        x0, x1 = int(lm[1, 0]) + 2, int(lm[15, 0]) - 2
        y0, y1 = int(lm[28, 1]), int(lm[33, 1])
        out[i] = f[max(y0, 0):max(y1, y0 + 1), max(x0, 0):max(x1, x0 + 1)].reshape(-1, 3).mean(axis=0)
    return out


def ecg_r_peaks(ecg: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of R peaks: maxima at least 0.7 x the 99th-percentile amplitude above
    their surroundings, at least 0.3 s apart."""
    ecg = np.asarray(ecg, float)
    prom = 0.7 * (np.percentile(ecg, 99) - np.median(ecg))
    peaks, _ = find_peaks(ecg, prominence=prom, distance=int(0.3 * fs))
    return peaks


def instantaneous_hr(peaks: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """``(times, bpm)`` of each R-R interval (time = the interval's midpoint, s)."""
    peaks = np.asarray(peaks)
    if len(peaks) < 2:
        return np.zeros(0), np.zeros(0)
    rr = np.diff(peaks) / fs
    return (peaks[:-1] + peaks[1:]) / 2 / fs, 60.0 / rr

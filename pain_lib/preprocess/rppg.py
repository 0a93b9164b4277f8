"""Remote photoplethysmography: heart rate from the colour of facial skin.

* :func:`rgb_trace` -- mean R, G, B of skin pixels per frame, ``(T,H,W,3)`` uint8 **RGB** ->
  ``(T,3)``.  OpenCV decodes BGR: convert (``frame[..., ::-1]``) before calling.
* :func:`pos_signal` -- POS (Wang et al. 2017): temporal normalisation in windows of 1.6 s,
  projection ``[[0, 1, -1], [-2, 1, 1]]``, alpha-tuning ``h = S1 + (std S1 / std S2) S2``,
  overlap-add of the zero-mean window signals.
* :func:`chrom_signal` -- CHROM (de Haan & Jeanne 2013): ``X = 3R - 2G``,
  ``Y = 1.5R + G - 1.5B`` on window-normalised colour, band-passed, ``S = Xf - (std Xf /
  std Yf) Yf``, Hann-windowed overlap-add with half-window steps.
* :func:`estimate_heart_rate` -- band-pass 0.75-3 Hz (45-180 bpm), then the spectral peak of a
  zero-padded FFT (default; 0.1 bpm grid) or of Welch's estimate.  On 5.5 s clips a plain FFT
  has 60/5.5 = 11 bpm bins; zero padding interpolates the spectrum between them.

The pulse extraction is vectorised NumPy/SciPy (windows via ``sliding_window_view``);
traces are tiny, so there is nothing to gain from a GPU.  The skin trace runs OpenCV once per
frame (colour conversion, ``inRange`` and a masked mean).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from ._validate import _check_clip, _check_signal

__all__ = [
    "POS_PROJECTION",
    "skin_mask_ycrcb",
    "rgb_trace",
    "pos_signal",
    "chrom_signal",
    "bandpass",
    "spectral_peak_bpm",
    "estimate_heart_rate",
]

POS_PROJECTION = np.array([[0.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])
#: YCrCb skin box (Chai & Ngan 1999)
CR_RANGE = (133, 173)
CB_RANGE = (77, 127)


def _frames_uint8(frames, layout: str) -> np.ndarray:
    """Validated clip as contiguous ``(T,H,W,3)`` uint8 RGB NumPy (float input is rounded and
    clipped to 0..255)."""
    x, info = _check_clip(frames, channels=(3,), layout=layout, device="cpu")
    if info.numpy and info.channels_last and info.uint8:
        return np.ascontiguousarray(frames)
    v = x.permute(1, 2, 3, 0)
    if not info.uint8:
        v = torch.clamp(torch.round(v), 0, 255)
    return np.ascontiguousarray(v.to(torch.uint8).numpy())


_SKIN_LO = np.array([0, CR_RANGE[0], CB_RANGE[0]], np.uint8)
_SKIN_HI = np.array([255, CR_RANGE[1], CB_RANGE[1]], np.uint8)


def skin_mask_ycrcb(frames, *, layout: str = "auto") -> np.ndarray:
    """Boolean skin mask ``(T,H,W)`` from the YCrCb rule ``133<=Cr<=173, 77<=Cb<=127``
    (``cv2.COLOR_RGB2YCrCb``). Input: RGB clip (uint8, or floats in 0..255)."""
    f = _frames_uint8(frames, layout)
    return np.stack([cv2.inRange(cv2.cvtColor(fr, cv2.COLOR_RGB2YCrCb), _SKIN_LO, _SKIN_HI) > 0
                     for fr in f])


def rgb_trace(frames, mask=None, *, min_skin_fraction: float = 0.01, layout: str = "auto") -> np.ndarray:
    """Mean colour of skin pixels per frame.

    Args:
        frames: ``(T,H,W,3)`` uint8 **RGB** (or ``(3,T,H,W)``; floats in 0..255 are rounded),
            typically a face crop.
        mask: ``None`` = YCrCb skin rule per frame; ``"all"`` = every pixel (the face box);
            or a boolean ``(H,W)`` / ``(T,H,W)`` array.
        min_skin_fraction: frames whose mask keeps fewer pixels than this fraction use every
            pixel instead (a face box is mostly skin; an empty mask has no mean).

    Returns:
        ``(T, 3)`` float64 mean R, G, B (one OpenCV ``cvtColor``/``inRange``/``mean`` per
        frame: ~20 us for a 112x112 crop).
    """
    f = _frames_uint8(frames, layout)
    T, H, W, _ = f.shape
    if isinstance(mask, str) and mask != "all":
        raise ValueError(f"mask must be None, 'all' or a boolean array; got {mask!r}")
    if mask is not None and not isinstance(mask, str):
        m = np.asarray(mask).astype(bool)
        if m.shape == (H, W):
            m = np.broadcast_to(m, (T, H, W))
        if m.shape != (T, H, W):
            raise ValueError(f"mask: expected shape ({H},{W}) or ({T},{H},{W}); got {m.shape}")
    min_count = max(1, min_skin_fraction * H * W)
    out = np.empty((T, 3))
    for t in range(T):
        if isinstance(mask, str):
            mt = None
        elif mask is None:
            mt = cv2.inRange(cv2.cvtColor(f[t], cv2.COLOR_RGB2YCrCb), _SKIN_LO, _SKIN_HI)
        else:
            mt = m[t].astype(np.uint8)
        if mt is not None and cv2.countNonZero(mt) < min_count:
            mt = None
        out[t] = cv2.mean(f[t], mask=mt)[:3]
    return out


def _window_len(fps: float, window_s: float, T: int) -> int:
    return int(min(T, max(2, math.ceil(window_s * fps))))


def _check_trace(rgb, fps) -> np.ndarray:
    arr = _check_signal(rgb, name="rgb", ndim=2, last_dim=3, min_len=2,
                        expected="(T,3) mean R,G,B per frame")
    if not (isinstance(fps, (int, float, np.floating, np.integer)) and fps > 0 and math.isfinite(fps)):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if (arr <= 0).any():
        raise ValueError("rgb: colour means must be positive (is the mask empty or the clip black?)")
    return arr


def pos_signal(rgb, fps: float, *, window_s: float = 1.6) -> np.ndarray:
    """POS pulse signal ``(T,3) -> (T,)`` (Wang et al. 2017, Algorithm 1), vectorised."""
    c = _check_trace(rgb, fps)
    T = c.shape[0]
    n = _window_len(fps, window_s, T)
    win = sliding_window_view(c, n, axis=0)  # (N, 3, n)
    cn = win / win.mean(axis=2, keepdims=True)
    s = np.einsum("ij,wjn->win", POS_PROJECTION, cn)  # (N, 2, n)
    std = s.std(axis=2)
    ratio = np.divide(std[:, 0], std[:, 1], out=np.zeros_like(std[:, 0]), where=std[:, 1] > 0)
    h = s[:, 0] + ratio[:, None] * s[:, 1]
    h -= h.mean(axis=1, keepdims=True)
    out = np.zeros(T)
    N = h.shape[0]
    for k in range(n):  # overlap-add: n shifted adds of length N (no loop over windows)
        out[k:k + N] += h[:, k]
    return out


def bandpass(x: np.ndarray, fps: float, band=(0.75, 3.0), order: int = 2, axis: int = -1) -> np.ndarray:
    """Zero-phase Butterworth band-pass (``sosfiltfilt``); the upper edge is capped below
    Nyquist."""
    lo, hi = band
    nyq = fps / 2.0
    hi = min(hi, 0.95 * nyq)
    if not 0 < lo < hi:
        raise ValueError(f"band {band} is not below the Nyquist frequency {nyq} Hz")
    sos = signal.butter(order, [lo, hi], btype="bandpass", fs=fps, output="sos")
    n = x.shape[axis]
    padlen = min(3 * (2 * len(sos) + 1), n - 1)
    return signal.sosfiltfilt(sos, x, axis=axis, padlen=padlen)


def chrom_signal(rgb, fps: float, *, window_s: float = 1.6, band=(0.75, 3.0)) -> np.ndarray:
    """CHROM pulse signal ``(T,3) -> (T,)`` (de Haan & Jeanne 2013), vectorised over windows."""
    c = _check_trace(rgb, fps)
    T = c.shape[0]
    n = _window_len(fps, window_s, T)
    n += n % 2  # even, for half-window steps
    if n > T:
        n = T - (T % 2)
    step = max(1, n // 2)
    win = sliding_window_view(c, n, axis=0)[::step]  # (N, 3, n)
    cn = win / win.mean(axis=2, keepdims=True)
    X = 3.0 * cn[:, 0] - 2.0 * cn[:, 1]
    Y = 1.5 * cn[:, 0] + cn[:, 1] - 1.5 * cn[:, 2]
    Xf = bandpass(X, fps, band, axis=1)
    Yf = bandpass(Y, fps, band, axis=1)
    sx, sy = Xf.std(axis=1), Yf.std(axis=1)
    alpha = np.divide(sx, sy, out=np.zeros_like(sx), where=sy > 0)
    S = (Xf - alpha[:, None] * Yf) * signal.windows.hann(n, sym=False)
    out = np.zeros(T)
    N = S.shape[0]
    idx = np.arange(N) * step
    for k in range(n):  # overlap-add
        np.add.at(out, idx + k, S[:, k])
    return out


def spectral_peak_bpm(x: np.ndarray, fps: float, *, band=(0.75, 3.0), peak: str = "fft",
                      resolution_bpm: float = 0.1) -> float:
    """Frequency (bpm) of the largest spectral peak of ``x`` inside ``band`` (Hz).

    ``peak="fft"``: Hann-windowed FFT zero-padded to a grid of ``resolution_bpm``;
    ``peak="welch"``: Welch's periodogram (segments of up to 8 s, 50 % overlap) on the same grid.
    """
    x = np.asarray(x, np.float64)
    T = x.size
    nfft = int(2 ** math.ceil(math.log2(max(T, 60.0 * fps / resolution_bpm))))
    if peak == "fft":
        spec = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(T), n=nfft)) ** 2
        freqs = np.fft.rfftfreq(nfft, 1.0 / fps)
    elif peak == "welch":
        nper = min(T, int(8 * fps))
        freqs, spec = signal.welch(x, fs=fps, nperseg=nper, noverlap=nper // 2, nfft=max(nfft, nper))
    else:
        raise ValueError(f"peak must be 'fft' or 'welch', got {peak!r}")
    sel = (freqs >= band[0]) & (freqs <= band[1])
    return float(60.0 * freqs[sel][np.argmax(spec[sel])])


def estimate_heart_rate(rgb, fps: float, method: str = "pos", *, peak: str = "fft",
                        band=(0.75, 3.0), window_s: float = 1.6) -> float:
    """Heart rate (bpm) from an RGB trace ``(T,3)`` (see :func:`rgb_trace`) at ``fps``.

    ``method``: ``"pos"`` or ``"chrom"``; the pulse is band-passed to ``band`` (Hz) and its
    spectral peak (``peak="fft"`` zero-padded, or ``"welch"``) is returned.
    """
    if method == "pos":
        pulse = pos_signal(rgb, fps, window_s=window_s)
    elif method == "chrom":
        pulse = chrom_signal(rgb, fps, window_s=window_s, band=band)
    else:
        raise ValueError(f"method must be 'pos' or 'chrom', got {method!r}")
    if pulse.size < 8:
        raise ValueError(f"rgb: need at least 8 frames for a heart rate, got {pulse.size}")
    return spectral_peak_bpm(bandpass(pulse, fps, band), fps, band=band, peak=peak)

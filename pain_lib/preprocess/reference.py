"""Straightforward reference implementations (loops, float64 NumPy).

They follow the formulas line by line, with no vectorisation, so that the fast versions in
this package can be checked against them on tiny inputs (tests) and timed against them
(``bench/preprocess.py``).  Not for real use: the SSD reference loops over every pixel.
All take channels-last NumPy clips ``(T, H, W, C)``.
"""

from __future__ import annotations

import math

import numpy as np

from .ssd import _EIG_FLOOR, _FLAT

#: IW-SSIM's noise variance as its authors' code sets it (``sigma_nsq = 0.4`` grey levels^2, Wang & Li
#: 2011), on the [0, 1] intensity scale: the reference's own value, not the checked module's
SIGMA_N2 = 0.4 / 255.0**2

__all__ = [
    "rank_pooling_weights_reference",
    "dynamic_image_reference",
    "ssd_map_reference",
    "pos_signal_reference",
]


def rank_pooling_weights_reference(T: int) -> list[float]:
    """alpha_t = 2(T-t+1) - (T+1)(H_T - H_{t-1}) with harmonic numbers summed term by term."""

    def H(n: int) -> float:
        return sum(1.0 / i for i in range(1, n + 1))

    return [2.0 * (T - t + 1) - (T + 1) * (H(T) - H(t - 1)) for t in range(1, T + 1)]


def dynamic_image_reference(frames: np.ndarray) -> np.ndarray:
    """``(T,H,W,C) -> (H,W,C)``: a Python loop over frames accumulating alpha_t * I_t."""
    frames = np.asarray(frames, np.float64)
    alpha = rank_pooling_weights_reference(frames.shape[0])
    d = np.zeros(frames.shape[1:])
    for t in range(frames.shape[0]):
        d += alpha[t] * frames[t]
    return d


def _blocks(img: np.ndarray, ph: int, pw: int):
    """Yield ``(i, j, block_vector)`` for every pixel of a 2-D image (reflect borders)."""
    pad = np.pad(img, ((ph // 2, ph // 2), (pw // 2, pw // 2)), mode="reflect")
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            yield i, j, pad[i:i + ph, j:j + pw].ravel()


def ssd_map_reference(
    frames: np.ndarray,
    segment_length: int,
    patch: int = 5,
    *,
    sigma_n2: float = SIGMA_N2,
    value_scale: float = 255.0,
    temperature: float = 1.0,
) -> np.ndarray:
    """SSD ``(T,H,W,C) -> (H,W,C)`` with explicit loops over pairs, channels, frames, pixels."""
    x = np.asarray(frames, np.float64) / value_scale
    T, H, W, C = x.shape
    ph = pw = patch
    K = ph * pw
    S = T // segment_length
    maps = []
    for s in range(S - 1):
        X = x[s * segment_length:(s + 1) * segment_length]
        Y = x[(s + 1) * segment_length:(s + 2) * segment_length]
        e_pair = np.zeros((H, W, C))
        for c in range(C):
            Xc = X[..., c] - X[..., c].mean()
            # C_u from every block of the (zero-mean) reference segment
            Cu = np.zeros((K, K))
            n = 0
            for f in range(segment_length):
                for _, _, v in _blocks(Xc[f], ph, pw):
                    Cu += np.outer(v, v)
                    n += 1
            Cu /= n
            lam, vecs = np.linalg.eigh(Cu)
            lam = np.maximum(lam, _EIG_FLOOR * max(lam[-1], 0.0))
            lam = np.maximum(lam, np.finfo(np.float64).tiny)
            Cinv = vecs @ np.diag(1.0 / lam) @ vecs.T
            for f in range(segment_length):
                w = np.zeros((H, W))
                xb = dict(((i, j), v) for i, j, v in _blocks(X[f, ..., c], ph, pw))
                yb = dict(((i, j), v) for i, j, v in _blocks(Y[f, ..., c], ph, pw))
                cb = dict(((i, j), v) for i, j, v in _blocks(Xc[f], ph, pw))
                for i in range(H):
                    for j in range(W):
                        bx, by, bc = xb[i, j], yb[i, j], cb[i, j]
                        vx = max(np.mean(bx * bx) - np.mean(bx) ** 2, 0.0)
                        vy = max(np.mean(by * by) - np.mean(by) ** 2, 0.0)
                        cxy = np.mean(bx * by) - np.mean(bx) * np.mean(by)
                        if vx < _FLAT:
                            g, vv = 0.0, vy
                        else:
                            g = cxy / vx
                            vv = max(vy - g * cxy, 0.0)
                        alpha2 = bc @ Cinv @ bc / K
                        w[i, j] = 0.5 * sum(
                            math.log(1 + vv / sigma_n2
                                     + (vv / sigma_n2**2 + (1 + g * g) / sigma_n2) * alpha2 * lk)
                            for lk in lam
                        )
                d2 = (X[f, ..., c] - Y[f, ..., c]) ** 2
                wsum = w.sum()
                e = (H * W) * w * d2 / wsum if wsum > 0 else d2
                e_pair[..., c] += e / segment_length
        maps.append(e_pair)
    maps = np.stack(maps)  # (M,H,W,C)
    out = np.zeros((H, W, C))
    for i in range(H):
        for j in range(W):
            for c in range(C):
                z = maps[:, i, j, c] / temperature
                beta = np.exp(z - z.max())
                beta /= beta.sum()
                out[i, j, c] = float(np.sum(beta * maps[:, i, j, c]))
    return out


def pos_signal_reference(rgb: np.ndarray, fps: float, window_s: float = 1.6) -> np.ndarray:
    """POS as printed in Wang et al. 2017 (Algorithm 1): a loop over window end points."""
    C = np.asarray(rgb, np.float64)
    N = C.shape[0]
    n_win = int(min(N, max(2, math.ceil(window_s * fps))))
    P = np.array([[0, 1, -1], [-2, 1, 1]], np.float64)
    H = np.zeros(N)
    for n in range(N):
        m = n - n_win + 1
        if m >= 0:
            Cn = (C[m:n + 1] / C[m:n + 1].mean(axis=0)).T  # (3, l)
            S = P @ Cn
            s1, s2 = S[0], S[1]
            r = s1.std() / s2.std() if s2.std() > 0 else 0.0
            h = s1 + r * s2
            H[m:n + 1] += h - h.mean()
    return H


def ahdi_reference(
    frames: np.ndarray,
    segments: np.ndarray,
    patch_size: int = 9,
) -> np.ndarray:
    """AHDI ``(T,H,W,C) -> (H,W,C)`` given the (overlapping) windows ``(m, 2)``: loops over
    windows and frames for layer 1, a per-pixel loop for the patch means, a loop over
    windows for layer 2 (no non-linearity)."""
    x = np.asarray(frames, np.float64)
    T, H, W, C = x.shape
    level1 = []
    for s, e in segments:
        level1.append(dynamic_image_reference(x[s:e]))
    p = patch_size // 2
    smoothed = []
    for d in level1:
        pad = np.pad(d, ((p, p), (p, p), (0, 0)), mode="reflect")
        out = np.zeros_like(d)
        for i in range(H):
            for j in range(W):
                out[i, j] = pad[i:i + patch_size, j:j + patch_size].mean(axis=(0, 1))
        smoothed.append(out)
    alpha = rank_pooling_weights_reference(len(smoothed))
    img = np.zeros((H, W, C))
    for a, d in zip(alpha, smoothed):
        img += a * d
    return img

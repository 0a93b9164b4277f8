"""Rank pooling and dynamic images (Fernando et al. 2016; Bilen et al. 2016/2018).

A *dynamic image* summarises a clip in one image: the parameters of a linear function that
ranks the frames by time.  Bilen et al.'s *approximate rank pooling* takes one gradient step
of the RankSVM objective on time-varying-mean-smoothed frames; folded back onto the raw
frames it is a fixed weighted sum::

    d = sum_t alpha_t * I_t,
    alpha_t = 2 (T - t + 1) - (T + 1) (H_T - H_{t-1}),   t = 1..T,  H_0 = 0,
    H_t = sum_{i<=t} 1/i  (harmonic numbers)

(ahdi Eq. 2), equal to Bilen et al.'s released code ``alpha_t = sum_{j=t..T} (2j - T - 1)/j``.
The weights sum to zero, so a constant clip gives a zero image, and ``sum_t alpha_t t > 0``, so
a clip that changes linearly in time (``I_t = A + t B``) gives ``d = c B`` with ``c > 0``;
reversing such a clip negates its image exactly.  (The weights themselves are *not*
antisymmetric in time -- the time-varying mean makes early frames weigh most -- so for an
arbitrary clip reversal does not simply negate the image.)  A widely copied Python port uses
``(2j - N) / j`` per frame; it is wrong (it is not the summed coefficient and does not sum to
zero) and is not used here.

Layouts: clips are ``(C,T,H,W)`` torch or ``(T,H,W,C)`` NumPy (see ``_validate``); images
come back as ``(C,H,W)`` or ``(H,W,C)`` accordingly.
"""

from __future__ import annotations

import numpy as np
import torch

from ._validate import _check_clip, _restore

__all__ = [
    "harmonic_numbers",
    "approx_rank_pooling_weights",
    "approx_rank_pool",
    "dynamic_image",
    "mean_image",
    "multiple_dynamic_images",
    "exact_rank_pooling",
    "to_uint8_image",
]


def harmonic_numbers(T: int) -> np.ndarray:
    """``[H_0, H_1, ..., H_T]`` with ``H_0 = 0`` (float64, shape ``(T+1,)``)."""
    if T < 0:
        raise ValueError(f"T must be >= 0, got {T}")
    return np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, T + 1, dtype=np.float64))])


def approx_rank_pooling_weights(T: int) -> np.ndarray:
    """Approximate-rank-pooling coefficients ``alpha_1..alpha_T`` (float64, shape ``(T,)``).

    ``alpha_t = 2 (T - t + 1) - (T + 1) (H_T - H_{t-1})``; they sum to zero.
    ``T = 1`` gives ``[0.]``; ``T = 3`` gives ``[-4/3, 2/3, 2/3]``.
    """
    if not isinstance(T, (int, np.integer)) or isinstance(T, bool) or T < 1:
        raise ValueError(f"T must be a positive integer number of frames, got {T!r}")
    H = harmonic_numbers(int(T))
    t = np.arange(1, T + 1, dtype=np.float64)
    return 2.0 * (T - t + 1) - (T + 1) * (H[T] - H[t.astype(int) - 1])


def approx_rank_pool(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Approximate rank pooling of a float tensor along ``dim`` (removed from the result).

    Low-level: no validation, any layout, works on any device and under autograd (AHDI's
    second layer uses it; a network's temporal rank-pooling layer can too).
    """
    T = x.shape[dim]
    a = torch.as_tensor(approx_rank_pooling_weights(T), dtype=x.dtype, device=x.device)
    return torch.tensordot(x.movedim(dim, -1), a, dims=([-1], [0]))


def dynamic_image(clip, *, layout: str = "auto", device=None):
    """Dynamic image by approximate rank pooling.

    ``(C,T,H,W) -> (C,H,W)`` (torch) or ``(T,H,W,C) -> (H,W,C)`` (NumPy), float32, in the
    input's intensity units (uint8 input: 0..255 scale, values signed).  Needs T >= 2.
    """
    x, info = _check_clip(clip, min_frames=2, channels=(1, 2, 3), layout=layout, device=device)
    return _restore(_pool_time(x, info, approx_rank_pooling_weights(x.shape[1])), info)


def _pool_time(x: torch.Tensor, info, weights: np.ndarray) -> torch.Tensor:
    """Weighted sums over time in the input's own memory order (no transpose copy).

    ``x`` ``(C,T,H,W)``; ``weights`` ``(T,)`` -> ``(C,H,W)``, or ``(m,T)`` -> ``(m,C,H,W)``.
    """
    C, T, H, W = x.shape
    a = torch.as_tensor(weights, dtype=x.dtype, device=x.device)
    lead = a.shape[:-1]
    if info.channels_last:  # memory is (T, H, W, C)
        out = torch.matmul(a, x.permute(1, 2, 3, 0).reshape(T, -1)).reshape(*lead, H, W, C)
        return out.movedim(-1, -3)
    return torch.matmul(a, x.transpose(0, 1).reshape(T, -1)).reshape(*lead, C, H, W)


def mean_image(clip, *, layout: str = "auto", device=None):
    """Temporal mean: ``(C,T,H,W) -> (C,H,W)`` / ``(T,H,W,C) -> (H,W,C)``, float32."""
    x, info = _check_clip(clip, min_frames=1, channels=(1, 2, 3), layout=layout, device=device)
    T = x.shape[1]
    return _restore(_pool_time(x, info, np.full(T, 1.0 / T)), info)


def multiple_dynamic_images(clip, window: int, stride: int = 1, *, layout: str = "auto", device=None):
    """Dynamic images of sliding windows (ahdi Sec. 4.2, MDV).

    Windows of ``window`` frames every ``stride`` frames; frames after the last full window
    are not used.  ``(C,T,H,W) -> (N,C,H,W)`` / ``(T,H,W,C) -> (N,H,W,C)`` with
    ``N = (T - window) // stride + 1``.
    """
    if not isinstance(window, (int, np.integer)) or window < 2:
        raise ValueError(f"window must be an integer >= 2 frames, got {window!r}")
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}")
    x, info = _check_clip(clip, min_frames=window, channels=(1, 2, 3), layout=layout, device=device)
    T = x.shape[1]
    starts = np.arange(0, T - window + 1, stride)
    Wm = np.zeros((len(starts), T))  # one row of weights per window: a single (N,T) x (T,CHW) GEMM
    a = approx_rank_pooling_weights(int(window))
    for i, s in enumerate(starts):
        Wm[i, s:s + window] = a
    return _restore(_pool_time(x, info, Wm), info, channel_dim=1)


def _time_varying_mean(v: np.ndarray) -> np.ndarray:
    """``m_t = mean(v_1..v_t)`` over axis 0."""
    return np.cumsum(v, axis=0) / np.arange(1, v.shape[0] + 1, dtype=v.dtype)[:, None]


def exact_rank_pooling(
    clip,
    *,
    method: str = "svr",
    C: float = 1.0,
    smoothing: bool = True,
    normalize: bool = True,
    layout: str = "auto",
    max_iter: int = 10000,
):
    """Exact rank pooling (Fernando et al. 2016, Bilen et al. 2016), for comparison.

    Frames become vectors ``v_t``, centred by the clip's mean frame and scaled by one global
    constant (neither changes which direction ranks the frames; without centring, unit-norm
    raw pixel vectors all point the same way and the solvers need huge weights); with
    ``smoothing`` they are replaced by their time-varying
    means ``m_t = mean(v_1..v_t)`` and, with ``normalize``, scaled to unit L2 norm (as in
    Fernando et al.'s code).  Then

    * ``method="svr"``: linear support-vector regression of the frame index ``t`` on the
      vectors (L2-regularised, epsilon-insensitive; Fernando et al.'s choice);
    * ``method="ranksvm"``: linear RankSVM, i.e. a linear SVM without intercept on the pairwise
      differences ``m_j - m_i`` (label +1) and ``m_i - m_j`` (label -1), ``i < j``.

    The weight vector is the dynamic image. ``(C,T,H,W) -> (C,H,W)`` /
    ``(T,H,W,C) -> (H,W,C)``, float32. CPU (scikit-learn), meant for small inputs.
    """
    from sklearn.svm import LinearSVC, LinearSVR

    if method not in ("svr", "ranksvm"):
        raise ValueError(f"method must be 'svr' or 'ranksvm', got {method!r}")
    x, info = _check_clip(clip, min_frames=2, channels=(1, 2, 3), layout=layout, device="cpu")
    Cn, T, H, W = x.shape
    v = x.permute(1, 0, 2, 3).reshape(T, -1).double().numpy()
    # centre and scale (does not change the ranking direction; helps the solvers converge)
    v = (v - v.mean(axis=0)) / (v.std() + 1e-12)
    if smoothing:
        v = _time_varying_mean(v)
    if normalize:
        v = v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-12)
    t = np.arange(1, T + 1, dtype=np.float64)
    if method == "svr":
        model = LinearSVR(C=C, epsilon=0.1, fit_intercept=True, loss="squared_epsilon_insensitive",
                          dual=True, max_iter=max_iter, random_state=0)
        model.fit(v, t)
        w = model.coef_
    else:
        i, j = np.triu_indices(T, k=1)
        diff = v[j] - v[i]
        X = np.concatenate([diff, -diff])
        y = np.concatenate([np.ones(len(diff)), -np.ones(len(diff))])
        model = LinearSVC(C=C, fit_intercept=False, dual=True, max_iter=max_iter, random_state=0)
        model.fit(X, y)
        w = model.coef_.ravel()
    d = torch.from_numpy(w.astype(np.float32)).reshape(Cn, H, W)
    return _restore(d, info)


def to_uint8_image(image, *, per_channel: bool = False, layout: str = "auto"):
    """Rescale a signed image (dynamic image, AHDI, SSD map) to uint8 for a 2D CNN.

    Min-max over the whole image (``per_channel=False``, keeps the colour balance) or per
    channel. A constant image maps to 0. ``(C,H,W)`` torch -> ``(C,H,W)`` uint8 torch;
    ``(H,W,C)`` NumPy -> ``(H,W,C)`` uint8 NumPy.
    """
    is_numpy = not isinstance(image, torch.Tensor)
    x = torch.as_tensor(np.asarray(image)) if is_numpy else image.detach()
    if x.ndim != 3:
        raise ValueError(f"image: expected shape (C,H,W) or (H,W,C); got {tuple(x.shape)}")
    if layout == "auto":
        channels_last = x.shape[-1] in (1, 2, 3) and (is_numpy or x.shape[0] not in (1, 2, 3))
    elif layout in ("HWC", "CHW"):
        channels_last = layout == "HWC"
    else:
        raise ValueError(f"layout must be 'auto', 'HWC' or 'CHW', got {layout!r}")
    x = x.double()
    if not bool(torch.isfinite(x).all()):
        raise ValueError("image: contains NaN or infinite values")
    dims = (0, 1) if channels_last else (1, 2)
    if per_channel:
        lo = x.amin(dim=dims, keepdim=True)
        hi = x.amax(dim=dims, keepdim=True)
    else:
        lo, hi = x.min(), x.max()
    span = hi - lo
    y = torch.where(span > 0, (x - lo) / torch.where(span > 0, span, torch.ones_like(span)), 0.0)
    out = torch.round(y * 255.0).to(torch.uint8)
    return out.numpy() if is_numpy else out

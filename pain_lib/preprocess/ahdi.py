"""Adaptive Hierarchical Spatio-temporal Dynamic Image (AHDI; ahdi Sec. 3.1, Algorithm 1).

Algorithm 1, as implemented here:

1. *Motion activity*: Farneback flow between ``I_{t-1}`` and ``I_t``; ``MA_t`` = mean flow
   magnitude over the frame (the paper's sum over pixels divided by ``H*W``, so that the
   threshold ``epsilon`` is in pixels/frame at any resolution); ``MA_0 = MA_1``.  Frames with
   ``MA_t <= epsilon`` are *inactive*; their activity is raised to ``epsilon`` (so a static
   passage counts as slow, never as zero motion, and a static clip splits evenly).
2. *Segmentation*: the frames are first cut into ``n`` contiguous segments of equal length
   (``SL_t``); segment means ``SM_i`` and their average ``ASM`` follow the algorithm; the new
   lengths are ``L_i = T * (ASM / SM_i) / sum_j (ASM / SM_j)``, rounded by largest remainder
   to integers >= ``min_length`` that sum to ``T``.
3. *Overlap*: segment ``i`` is extended to the right by ``ceil(overlap * L_{i+1})`` frames,
   so consecutive segments share frames (Fig. 2: "overlapping video segments of variable
   lengths").
4. *Hierarchical rank pooling*: layer 1 is the dynamic image (Eqs. 1-2, approximate rank
   pooling with ``M`` = the segment's own length) of each segment, with the frames described
   by ``p x p`` patch means (Eq. 3's patch matrix, sliding with stride 1 so the image keeps its
   size); layer 2 rank-pools the ``m`` layer-1 images in time order into one image (Eq. 4),
   optionally after a signed square root (Fernando et al.'s hierarchical rank pooling
   non-linearity).

Interpretation choices: Algorithm 1 step 2(d) prints ``L_i = SM_i / ASM * T``: those lengths
sum to ``n*T`` and grow with motion, contradicting the text ("for instances with heightened
motion, shorter segments"); we use the inverse ratio, normalised to sum to ``T``.  The
"cluster frames into n segments" of step 2(a) is read as a contiguous equal split (clusters
of a video must stay contiguous to be rank-pooled).  The patch size acts as the spatial
support of each pooled descriptor (Table 3: 9x9 best).

``hierarchy="pairs"`` reads Eq. 4 as the text around it describes it -- "an information weight
map for every pair of overlapping video segments", giving "an (N-1)-channel image map" -- rather
than as a second rank pooling: each pair of consecutive windows ``[w_q.start, w_{q+1}.end)`` is
rank-pooled (Eqs. 1-2, ``M`` = the pair's frame count) over the luma frames' patch descriptors,
and the ``N - 1`` grayscale maps are the image's channels (``N = 4`` gives exactly RGB; more maps
are averaged in three contiguous groups, fewer interpolated, :func:`pairs_to_channels`). The
channels keep *when* in the clip each change happened, which a second rank pooling of the layer-1
images mixes away.

The fixed-length variant (ahdi Table 4) is ``ahdi(..., segment_length=L)``: segments of
``L`` frames (the last one takes the remainder), same overlap and pooling.

Two further readings, chosen by the ``ahdi`` paper package (``pain_lib/papers/ahdi/NOTES.md``):

* ``segmentation="clusters"`` (:func:`motion_clusters`, :func:`cluster_segments`): step 2(a)
  read as a clustering of the frames *by their motion activity*: the ``n`` contiguous segments
  that minimise the within-segment squared deviation of ``MA_t`` (an exact dynamic programme),
  so segment boundaries fall where the activity changes; steps 2(b)-(d) then set each cluster's
  segment length ``L_i = (T / n) * ASM / SM_i`` (inverse, as above; capped at the cluster) and
  cut the cluster into pieces of about that length -- a busy cluster into several short
  segments, a calm one stays whole.
* ``patch_mode="normalize"``: Eq. 3's patch descriptor ``phi`` as a non-linear function of the
  ``p x p`` patch: each frame's pixel minus its patch mean over the patch's standard deviation
  (local contrast normalisation, floor ``patch_floor`` intensity units), computed on the frames
  before the first rank-pooling layer. With the default ``patch_mode="mean"`` (a linear ``phi``)
  the patch commutes with the pooling and is only a box blur of the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ._validate import _check_clip, _restore
from .rank_pooling import _pool_time, approx_rank_pool, approx_rank_pooling_weights

__all__ = [
    "AHDIResult",
    "motion_activity",
    "adaptive_segments",
    "fixed_segments",
    "motion_clusters",
    "cluster_segments",
    "patch_normalize",
    "overlap_segments",
    "pair_windows",
    "pairs_to_channels",
    "ahdi",
    "ahdi_details",
]


@dataclass
class AHDIResult:
    """Everything AHDI computed, for plots and ablations."""

    image: object  #: (C,H,W) torch or (H,W,C) NumPy, float32 (``pairs``: C = 3)
    motion: np.ndarray  #: (T,) motion activity MA_t, pixels/frame
    segments: np.ndarray  #: (m, 2) [start, end) of the adaptive (non-overlapping) segments
    windows: np.ndarray  #: (k, 2) [start, end) of what was rank-pooled: k = m windows after overlap
    #: (``rank``) or the k = m - 1 pairs of consecutive windows (``pairs``)
    level1: object  #: (k,C,H,W) torch / (k,H,W,C) NumPy layer-1 dynamic images (``pairs``: C = 1)


def motion_activity(frames, *, flow=None, method: str = "farneback", layout: str = "auto") -> np.ndarray:
    """Per-frame motion activity ``MA_t`` = mean optical-flow magnitude (pixels/frame).

    ``(T,H,W,3)`` / ``(3,T,H,W)`` -> ``(T,)`` float64 with ``MA_0 = MA_1``.  ``flow``:
    precomputed ``(T-1,H,W,2)`` flow (skips the flow computation).
    """
    from .flow import flow_magnitude_angle, optical_flow

    if flow is None:
        flow = optical_flow(frames, method, layout=layout)
    mag, _ = flow_magnitude_angle(flow)
    ma = mag.reshape(mag.shape[0], -1).mean(axis=1).astype(np.float64)
    return np.concatenate([ma[:1], ma])


def _round_lengths(raw: np.ndarray, total: int, min_length: int) -> np.ndarray:
    """Integers >= min_length summing to ``total``, closest to ``raw`` (largest remainder)."""
    n = len(raw)
    fixed = np.zeros(n, bool)
    lengths = raw.astype(np.float64).copy()
    # clamp segments that fall below the minimum, redistribute the rest proportionally
    for _ in range(n):
        low = (~fixed) & (lengths < min_length)
        if not low.any():
            break
        fixed |= low
        rest = total - min_length * fixed.sum()
        free = ~fixed
        lengths = np.where(fixed, float(min_length), 0.0)
        if free.any():
            lengths[free] = raw[free] / raw[free].sum() * rest
    base = np.floor(lengths).astype(int)
    base = np.maximum(base, min_length)
    short = total - base.sum()
    order = np.argsort(-(lengths - np.floor(lengths)), kind="stable")
    i = 0
    while short > 0:
        base[order[i % n]] += 1
        short -= 1
        i += 1
    while short < 0:  # only if rounding pushed above total; take from the longest
        j = int(np.argmax(base))
        base[j] -= 1
        short += 1
    return base


def adaptive_segments(
    motion,
    n_segments: int = 4,
    *,
    epsilon: float = 0.01,
    min_length: int = 2,
) -> np.ndarray:
    """Motion-adaptive segmentation (Algorithm 1 step 2): ``(T,)`` activity -> ``(m, 2)``
    ``[start, end)`` contiguous segments covering ``0..T`` whose lengths are inversely
    proportional to their mean activity.  ``m = min(n_segments, T // min_length)``.
    """
    ma = np.asarray(motion, dtype=np.float64)
    if ma.ndim != 1 or ma.size == 0:
        raise ValueError(f"motion: expected a non-empty (T,) array; got shape {ma.shape}")
    if not np.isfinite(ma).all() or (ma < 0).any():
        raise ValueError("motion: expected finite non-negative activity values")
    if not isinstance(n_segments, (int, np.integer)) or n_segments < 1:
        raise ValueError(f"n_segments must be a positive integer, got {n_segments!r}")
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon!r}")
    T = ma.size
    if T < min_length:
        raise ValueError(f"motion: need at least {min_length} frames, got {T}")
    n = int(min(n_segments, T // min_length))
    act = np.maximum(ma, epsilon)  # inactive frames count as epsilon
    labels = (np.arange(T) * n) // T  # step 2(a): contiguous equal split SL_t
    sm = np.bincount(labels, weights=act, minlength=n) / np.bincount(labels, minlength=n)  # 2(b)
    asm = sm.mean()  # 2(c)
    inv = asm / sm  # 2(d), inverted (see module docstring)
    lengths = _round_lengths(inv / inv.sum() * T, T, min_length)
    ends = np.cumsum(lengths)
    return np.stack([ends - lengths, ends], axis=1).astype(np.int64)  # 2(e)


def fixed_segments(T: int, segment_length: int, *, min_length: int = 2) -> np.ndarray:
    """Fixed-length segments ``(m, 2)`` covering ``0..T``; a last piece shorter than
    ``min_length`` is merged into the previous segment."""
    if not isinstance(segment_length, (int, np.integer)) or segment_length < min_length:
        raise ValueError(f"segment_length must be an integer >= {min_length}, got {segment_length!r}")
    starts = np.arange(0, T, segment_length)
    ends = np.minimum(starts + segment_length, T)
    if len(starts) > 1 and ends[-1] - starts[-1] < min_length:
        starts, ends = starts[:-1], np.concatenate([ends[:-2], [T]])
    return np.stack([starts, ends], axis=1).astype(np.int64)


def motion_clusters(motion, n_segments: int = 4, *, min_length: int = 2) -> np.ndarray:
    """The ``n`` contiguous segments ``(m, 2)`` ``[start, end)`` of a ``(T,)`` activity curve
    that minimise the total within-segment squared deviation of the activity (the optimal 1-D
    segmentation, an exact ``O(n T^2)`` dynamic programme), each at least ``min_length`` frames;
    ``m = min(n_segments, T // min_length)``. Ties go to the earliest boundary."""
    ma = np.asarray(motion, dtype=np.float64)
    if ma.ndim != 1 or ma.size == 0 or not np.isfinite(ma).all():
        raise ValueError(f"motion: expected a non-empty finite (T,) array; got shape {ma.shape}")
    if not isinstance(n_segments, (int, np.integer)) or n_segments < 1:
        raise ValueError(f"n_segments must be a positive integer, got {n_segments!r}")
    T = ma.size
    if T < min_length:
        raise ValueError(f"motion: need at least {min_length} frames, got {T}")
    n = int(min(n_segments, T // min_length))
    c1 = np.concatenate([[0.0], np.cumsum(ma)])
    c2 = np.concatenate([[0.0], np.cumsum(ma * ma)])

    def cost(i: np.ndarray, j: int) -> np.ndarray:  # squared deviation of ma[i:j] for many i
        s = c1[j] - c1[i]
        return (c2[j] - c2[i]) - s * s / (j - i)

    inf = np.inf
    best = np.full((n + 1, T + 1), inf)
    arg = np.zeros((n + 1, T + 1), np.int64)
    best[0, 0] = 0.0
    for k in range(1, n + 1):
        for j in range(k * min_length, T - (n - k) * min_length + 1):
            i = np.arange((k - 1) * min_length, j - min_length + 1)
            tot = best[k - 1, i] + cost(i, j)
            b = int(np.argmin(tot))  # the first minimum
            best[k, j], arg[k, j] = tot[b], i[b]
    ends = [T]
    for k in range(n, 1, -1):
        ends.append(int(arg[k, ends[-1]]))
    ends = np.array(ends[::-1], np.int64)
    starts = np.concatenate([[0], ends[:-1]])
    return np.stack([starts, ends], axis=1)


def cluster_segments(motion, n_segments: int = 4, *, epsilon: float = 0.01, min_length: int = 2) -> np.ndarray:
    """Adaptive segments, the ``clusters`` reading of Algorithm 1 step 2 (module docstring):
    :func:`motion_clusters` of the activity (inactive frames, ``MA_t <= epsilon``, count as 0),
    then each cluster ``i`` cut into ``round(len_i / L_i)`` near-equal pieces with
    ``L_i = (T / n) * ASM / SM_i`` (``SM_i`` the cluster's mean activity floored at ``epsilon``,
    ``ASM`` their mean). ``(T,)`` -> ``(m, 2)`` contiguous ``[start, end)`` covering ``0..T``."""
    ma = np.asarray(motion, dtype=np.float64)
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon!r}")
    if ma.ndim == 1 and ma.size and (ma < 0).any():
        raise ValueError("motion: expected finite non-negative activity values")
    active = np.where(ma > epsilon, ma, 0.0) if ma.ndim == 1 else ma
    clusters = motion_clusters(active, n_segments, min_length=min_length)
    T, n = ma.size, len(clusters)
    sm = np.array([max(active[s:e].mean(), epsilon) for s, e in clusters])  # 2(b)
    asm = sm.mean()  # 2(c)
    out = []
    for (s, e), m in zip(clusters, sm):
        length = (T / n) * asm / m  # 2(d), inverse (see the module docstring)
        pieces = int(np.clip(round((e - s) / length), 1, (e - s) // min_length))
        cuts = s + np.round(np.linspace(0, e - s, pieces + 1)).astype(np.int64)
        out += [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:])]  # 2(e)
    return np.array(out, np.int64)


def patch_normalize(x: torch.Tensor, patch: int, *, floor: float = 4.0) -> torch.Tensor:
    """Local contrast normalisation of ``(N, C, H, W)`` images over ``patch x patch``
    neighbourhoods (every channel together): ``(x - mean_p) / sqrt(var_p + floor^2)`` (reflect
    borders; ``floor`` in the images' intensity units). The ``normalize`` reading of Eq. 3's
    patch descriptor: non-linear, so the patch size changes what rank pooling sees."""
    if patch < 3:
        raise ValueError(f"patch_mode='normalize' needs a patch of at least 3 px, got {patch}")
    mean = _patch_mean(x.mean(1, keepdim=True), patch)
    var = (_patch_mean((x * x).mean(1, keepdim=True), patch) - mean * mean).clamp_min(0)
    return (x - mean) / torch.sqrt(var + float(floor) ** 2)


def overlap_segments(segments: np.ndarray, overlap: float, T: int) -> np.ndarray:
    """Extend segment ``i`` to the right by ``ceil(overlap * L_{i+1})`` frames (clipped at T)."""
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap!r}")
    seg = np.asarray(segments, dtype=np.int64).copy()
    lengths = seg[:, 1] - seg[:, 0]
    ext = np.zeros(len(seg), np.int64)
    ext[:-1] = np.ceil(overlap * lengths[1:] - 1e-9).astype(np.int64)
    seg[:, 1] = np.minimum(seg[:, 1] + ext, T)
    return seg


def pair_windows(windows: np.ndarray) -> np.ndarray:
    """The windows of every pair of consecutive segments: ``(m, 2)`` -> ``(m - 1, 2)``, pair ``q``
    spanning ``[windows[q, 0], windows[q + 1, 1])`` (the ``pairs`` hierarchy, module docstring)."""
    w = np.asarray(windows, dtype=np.int64)
    if w.ndim != 2 or w.shape[1] != 2 or len(w) < 2:
        raise ValueError(f"windows: expected an (m, 2) array with m >= 2; got shape {w.shape}")
    return np.stack([w[:-1, 0], w[1:, 1]], axis=1)


def pairs_to_channels(maps: torch.Tensor, channels: int = 3) -> torch.Tensor:
    """``(K, H, W)`` pair maps -> ``(channels, H, W)``: ``K == channels`` as they are; more maps
    are averaged in ``channels`` contiguous, near-equal groups (time order kept); fewer are
    linearly interpolated along time (``K == 1`` fills every channel)."""
    K = maps.shape[0]
    if maps.ndim != 3 or K < 1:
        raise ValueError(f"maps: expected a non-empty (K, H, W) tensor; got shape {tuple(maps.shape)}")
    if K >= channels:
        groups = np.array_split(np.arange(K), channels)
        return torch.stack([maps[g[0]:g[-1] + 1].mean(0) for g in groups])
    pos = np.linspace(0.0, K - 1.0, channels)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, K - 1)
    w = torch.as_tensor(pos - lo, dtype=maps.dtype, device=maps.device)[:, None, None]
    return maps[lo] * (1 - w) + maps[hi] * w


def _window_weights(windows: np.ndarray, T: int) -> np.ndarray:
    """``(k, 2)`` windows -> ``(k, T)``: row ``i`` holds the rank-pooling weights of window ``i``
    (Eq. 2 with ``M`` = its length) on its frames, 0 elsewhere."""
    Wm = np.zeros((len(windows), T))
    for i, (s, e) in enumerate(windows):  # loop over windows (a handful), not pixels
        Wm[i, s:e] = approx_rank_pooling_weights(int(e - s))
    return Wm


def _luma(x: torch.Tensor) -> torch.Tensor:
    """``(C, T, H, W)`` -> ``(1, T, H, W)`` BT.601 luma of RGB (a one-channel clip as it is)."""
    if x.shape[0] == 1:
        return x
    coef = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device)
    return torch.einsum("cthw,c->thw", x, coef).unsqueeze(0)


def _patch_mean(x: torch.Tensor, patch: int) -> torch.Tensor:
    """``(N,C,H,W)`` -> mean over the ``patch x patch`` neighbourhood (reflect borders)."""
    if patch == 1:
        return x
    p = patch // 2
    mode = "reflect" if min(x.shape[-2:]) > p else "replicate"
    return F.avg_pool2d(F.pad(x, (p, p, p, p), mode=mode), patch, stride=1)


def ahdi_details(
    clip,
    *,
    n_segments: int = 4,
    segment_length: int | None = None,
    patch_size: int = 9,
    overlap: float = 0.5,
    epsilon: float = 0.01,
    nonlinearity: str = "none",
    segmentation: str = "rescale",
    patch_mode: str = "mean",
    patch_floor: float = 4.0,
    hierarchy: str = "rank",
    motion=None,
    layout: str = "auto",
    device=None,
) -> AHDIResult:
    """AHDI with everything it computed (see :func:`ahdi` for the arguments)."""
    if not isinstance(patch_size, (int, np.integer)) or patch_size < 1 or patch_size % 2 == 0:
        raise ValueError(f"patch_size must be an odd positive integer, got {patch_size!r}")
    if nonlinearity not in ("none", "ssr"):
        raise ValueError(f"nonlinearity must be 'none' or 'ssr', got {nonlinearity!r}")
    if segmentation not in ("rescale", "clusters"):
        raise ValueError(f"segmentation must be 'rescale' or 'clusters', got {segmentation!r}")
    if patch_mode not in ("mean", "normalize"):
        raise ValueError(f"patch_mode must be 'mean' or 'normalize', got {patch_mode!r}")
    if patch_mode == "normalize" and patch_size < 3:
        raise ValueError(f"patch_mode='normalize' needs patch_size >= 3, got {patch_size}")
    if not patch_floor > 0:
        raise ValueError(f"patch_floor must be > 0, got {patch_floor!r}")
    if hierarchy not in ("rank", "pairs"):
        raise ValueError(f"hierarchy must be 'rank' or 'pairs', got {hierarchy!r}")
    x, info = _check_clip(clip, channels=(1, 3), min_frames=4, layout=layout, device=device)
    C, T, H, W = x.shape
    if motion is None:
        motion = motion_activity(x.cpu(), layout="CTHW")
    else:
        motion = np.asarray(motion, np.float64)
        if motion.shape != (T,):
            raise ValueError(f"motion: expected shape ({T},) for a {T}-frame clip; got {motion.shape}")
    if segment_length is None and segmentation == "clusters":
        segs = cluster_segments(motion, n_segments, epsilon=epsilon)
    elif segment_length is None:
        segs = adaptive_segments(motion, n_segments, epsilon=epsilon)
    else:
        segs = fixed_segments(T, segment_length)
    if len(segs) < 2:
        raise ValueError(
            f"AHDI needs at least 2 segments; got {len(segs)} for T={T} frames "
            f"(segment_length={segment_length})"
        )
    wins = overlap_segments(segs, overlap, T)
    if hierarchy == "pairs":
        return _pairs_image(x, info, motion, segs, pair_windows(wins), patch_mode, int(patch_size), patch_floor,
                            nonlinearity)
    # layer 1: one dynamic image per (overlapping) window, as one (m, T) weight matrix
    Wm = _window_weights(wins, T)
    if patch_mode == "normalize":  # non-linear patch descriptors of every frame, then pooling
        frames = patch_normalize(x.transpose(0, 1), int(patch_size), floor=patch_floor)  # (T, C, H, W)
        a = torch.as_tensor(Wm, dtype=frames.dtype, device=frames.device)
        level1 = torch.einsum("mt,tchw->mchw", a, frames)
    else:
        level1 = _pool_time(x, info, Wm)  # (m, C, H, W)
        level1 = _patch_mean(level1, int(patch_size))  # patch descriptors (linear: commutes with pooling)
    z = torch.sign(level1) * torch.sqrt(level1.abs()) if nonlinearity == "ssr" else level1
    image = approx_rank_pool(z, dim=0)  # layer 2
    return AHDIResult(
        image=_restore(image, info),
        motion=motion,
        segments=segs,
        windows=wins,
        level1=_restore(level1, info, channel_dim=1),
    )


def _pairs_image(x, info, motion, segs, wins, patch_mode, patch, floor, nonlinearity) -> AHDIResult:
    """The ``pairs`` hierarchy: one luma dynamic image per pair window -> the image's channels."""
    Wm = _window_weights(wins, x.shape[1])
    luma = _luma(x).transpose(0, 1)  # (T, 1, H, W)
    frames = patch_normalize(luma, patch, floor=floor) if patch_mode == "normalize" else luma
    a = torch.as_tensor(Wm, dtype=frames.dtype, device=frames.device)
    level1 = torch.einsum("mt,tchw->mchw", a, frames)  # (m-1, 1, H, W)
    if patch_mode == "mean":
        level1 = _patch_mean(level1, patch)
    z = torch.sign(level1) * torch.sqrt(level1.abs()) if nonlinearity == "ssr" else level1
    image = pairs_to_channels(z[:, 0])
    return AHDIResult(image=_restore(image, info), motion=motion, segments=segs, windows=wins,
                      level1=_restore(level1, info, channel_dim=1))


def ahdi(
    clip,
    *,
    n_segments: int = 4,
    segment_length: int | None = None,
    patch_size: int = 9,
    overlap: float = 0.5,
    epsilon: float = 0.01,
    nonlinearity: str = "none",
    segmentation: str = "rescale",
    patch_mode: str = "mean",
    patch_floor: float = 4.0,
    hierarchy: str = "rank",
    motion=None,
    layout: str = "auto",
    device=None,
):
    """AHDI image of a clip: ``(C,T,H,W) -> (C,H,W)`` torch / ``(T,H,W,C) -> (H,W,C)`` NumPy.

    Args:
        clip: RGB clip (uint8 0..255 or float in the same units), ``T >= 4``.
        n_segments: the "primary number of segments" ``n`` (capped at ``T // 2``).
        segment_length: fixed segment length instead of adaptive segmentation (ahdi
            Table 4's ablation); ``None`` = adaptive.
        patch_size: spatial patch side ``p`` (odd; paper's best 9).
        overlap: fraction of the next segment's length shared with it (``0 <= overlap < 1``).
        epsilon: activity threshold (pixels/frame) below which a frame is inactive.
        nonlinearity: between the two rank-pooling layers: ``"none"`` or ``"ssr"`` (signed
            square root).
        segmentation: ``"rescale"`` (equal split, lengths rescaled by motion) or ``"clusters"``
            (change points of the activity, busy clusters cut finer); see the module docstring.
        patch_mode: ``"mean"`` (patch means, linear: a box blur) or ``"normalize"`` (local
            contrast normalisation over the patch, before pooling; ``patch_size >= 3``).
        patch_floor: the ``normalize`` mode's floor of the patch standard deviation (intensity
            units of the clip, 0..255 for uint8).
        hierarchy: ``"rank"`` (layer 2 rank-pools the segments' dynamic images into one image)
            or ``"pairs"`` (one luma dynamic image per pair of consecutive segments, the pairs as
            the image's channels, Eq. 4's "(N-1)-channel image map"); see the module docstring.
        motion: precomputed ``(T,)`` motion activity (skips Farneback).
        device: compute device for the pooling (flow runs on the CPU).

    Returns:
        The signed float32 AHDI image; :func:`~pain_lib.preprocess.rank_pooling.to_uint8_image`
        turns it into RGB for a 2D CNN.
    """
    return ahdi_details(
        clip, n_segments=n_segments, segment_length=segment_length, patch_size=patch_size,
        overlap=overlap, epsilon=epsilon, nonlinearity=nonlinearity, segmentation=segmentation,
        patch_mode=patch_mode, patch_floor=patch_floor, hierarchy=hierarchy, motion=motion, layout=layout,
        device=device,
    ).image


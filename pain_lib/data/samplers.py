"""Frame samplers: which frame indices of a ``T``-frame sequence make a clip.

Every sampler is a callable ``sampler(n_frames, rng=None) -> np.ndarray`` of int64 indices
(length fixed by the sampler, indices in ``[0, n_frames)``, repeated when the sequence is
too short).  ``rng=None`` makes random samplers deterministic (centred choices) for
evaluation.

* :class:`UniformSampler` ``(k)`` -- k evenly spaced frames over the whole sequence;
* :class:`StrideSampler` ``(clip_len, stride)`` -- a contiguous clip with a temporal stride,
  random start when training;
* :class:`SegmentSampler` ``(k)`` -- k equal segments, one random frame from each
  (TSN-style; the *binary* paper's segment sampling);
* :class:`KeyFrameSampler` ``(select, k)`` -- a hook: ``select(frames (T, H, W, 3)) -> indices``
  (e.g. the HRG paper's chi-square histogram key frames from :mod:`pain_lib.preprocess`);
* :func:`sliding_windows` -- all clips of a sequence for per-frame continuous prediction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["UniformSampler", "StrideSampler", "SegmentSampler", "KeyFrameSampler", "sliding_windows",
           "make_sampler", "SAMPLERS"]


def _check(n_frames: int) -> None:
    if n_frames <= 0:
        raise ValueError(f"cannot sample from an empty sequence (n_frames={n_frames})")


@dataclass(frozen=True)
class UniformSampler:
    k: int

    def __call__(self, n_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        _check(n_frames)
        return np.round(np.linspace(0, n_frames - 1, self.k)).astype(np.int64)


@dataclass(frozen=True)
class StrideSampler:
    clip_len: int
    stride: int = 1

    def __call__(self, n_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        _check(n_frames)
        span = (self.clip_len - 1) * self.stride + 1
        if span > n_frames:  # too short: spread over the sequence, repeating frames
            return np.floor(np.linspace(0, n_frames - 1, self.clip_len) + 0.5).astype(np.int64)
        free = n_frames - span
        start = int(rng.integers(0, free + 1)) if rng is not None else free // 2
        return start + np.arange(self.clip_len, dtype=np.int64) * self.stride


@dataclass(frozen=True)
class SegmentSampler:
    k: int

    def __call__(self, n_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        _check(n_frames)
        edges = np.linspace(0, n_frames, self.k + 1)
        lo = np.floor(edges[:-1]).astype(np.int64)
        hi = np.maximum(np.ceil(edges[1:]).astype(np.int64) - 1, lo)
        if rng is None:
            return (lo + hi) // 2
        return lo + np.floor(rng.random(self.k) * (hi - lo + 1)).astype(np.int64)


@dataclass(frozen=True)
class KeyFrameSampler:
    """Key frames chosen by ``select(frames) -> indices`` (needs the decoded frames)."""

    select: Callable[[np.ndarray], np.ndarray]
    k: int | None = None
    needs_frames: bool = True

    def __call__(self, n_frames: int, rng: np.random.Generator | None = None, *,
                 frames: np.ndarray | None = None) -> np.ndarray:
        _check(n_frames)
        if frames is None:
            raise ValueError("KeyFrameSampler needs the decoded frames: call sampler(n, frames=clip)")
        idx = np.asarray(self.select(frames), dtype=np.int64)
        if self.k is not None and len(idx) != self.k:
            idx = idx[np.round(np.linspace(0, len(idx) - 1, self.k)).astype(int)]
        return idx


def sliding_windows(n_frames: int, clip_len: int, stride: int = 1, hop: int | None = None) -> np.ndarray:
    """All clips ``(n_clips, clip_len)`` covering a sequence, ``hop`` frames apart (default
    ``clip_len * stride``: non-overlapping); the last clip is aligned to the end so every
    frame is covered.  Short sequences give one clip with repeated frames."""
    _check(n_frames)
    span = (clip_len - 1) * stride + 1
    if span >= n_frames:
        return StrideSampler(clip_len, stride)(n_frames)[None, :]
    hop = hop or span
    starts = list(range(0, n_frames - span + 1, hop))
    if starts[-1] != n_frames - span:
        starts.append(n_frames - span)
    return np.array(starts, np.int64)[:, None] + np.arange(clip_len, dtype=np.int64)[None, :] * stride


#: name -> sampler class
SAMPLERS = {"uniform": UniformSampler, "stride": StrideSampler, "segments": SegmentSampler,
            "keyframes": KeyFrameSampler}


def make_sampler(name: str, **kwargs):
    """Build a sampler by name (``uniform``, ``stride``, ``segments``, ``keyframes``)."""
    try:
        return SAMPLERS[name](**kwargs)
    except KeyError:
        raise ValueError(f"unknown sampler {name!r}; valid: {', '.join(SAMPLERS)}") from None

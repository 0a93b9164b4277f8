"""Clip samplers on the frame bank: which frames of a sample make a clip.

Every sampler has ``clip_len`` and two methods that return ``(sample_positions (M,),
frame_indices (M, clip_len))`` (indices local to each sample), the interface of
:class:`~pain_lib.data.bank.Contiguous` (the default: contiguous windows):

* ``train(lengths, per_sample=, rng=, frames=)`` -- ``per_sample`` random clips per sample;
* ``evaluate(lengths, hop=, frames=)`` -- a fixed set of clips covering each sample.

======================  ===========================================================================
:class:`Contiguous`     ``clip_len`` frames ``stride`` apart (``stride`` > 1 is frame skipping)
:class:`Segments`       ``clip_len`` equal segments, one random frame from each (the *binary*
                        paper; evaluation: each segment's middle frame)
:class:`FrameSkip`      every ``skip``-th frame from a random offset 0..skip-1 (the *hrg* paper's
                        frame-skip augmentation; evaluation: every offset)
:class:`KeyFrames`      chi-square histogram key frames in windows of ``window`` frames (the *hrg*
                        paper), then ``clip_len`` consecutive key frames
======================  ===========================================================================

A sampler is part of a recipe's identity (its ``__fingerprint__``), so clips of another sampler
never share a store entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..data.bank import Contiguous, clip_frames
from ..preprocess.keyframes import select_key_frames

__all__ = ["Contiguous", "Segments", "FrameSkip", "KeyFrames", "make_sampler"]


class _Sampler:
    needs_frames = False

    def __fingerprint__(self) -> dict:
        return {"sampler": type(self).__name__, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.__fingerprint__() == other.__fingerprint__()

    def __hash__(self) -> int:
        return hash(repr(self))


class Segments(_Sampler):
    """``clip_len`` equal segments of each sample, one frame from each: uniformly random in the
    segment when training, the segment's middle frame when evaluating (one clip per sample)."""

    def __init__(self, clip_len: int) -> None:
        if clip_len < 1:
            raise ValueError(f"Segments needs clip_len >= 1 segments, got {clip_len}")
        self.clip_len = int(clip_len)

    def _bounds(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """First and last frame of each segment: the frames ``i`` with ``e_k <= i < e_{k+1}``
        (``e = linspace(0, n, K + 1)``), so segments never share a frame; a segment shorter than
        one frame (``n < K``) takes the frame it starts in."""
        edges = np.linspace(0, n, self.clip_len + 1)
        lo = np.ceil(edges[:-1] - 1e-9).astype(np.int64)
        hi = np.maximum(np.ceil(edges[1:] - 1e-9).astype(np.int64) - 1, lo)
        return np.minimum(lo, n - 1), np.minimum(hi, n - 1)

    def train(self, lengths, *, per_sample: int, rng: np.random.Generator, frames=()):
        lengths = np.asarray(lengths, np.int64)
        pos = rng.permutation(np.repeat(np.arange(len(lengths)), per_sample))
        idx = np.empty((len(pos), self.clip_len), np.int64)
        for row, p in enumerate(pos):
            lo, hi = self._bounds(int(lengths[p]))
            idx[row] = lo + np.floor(rng.random(self.clip_len) * (hi - lo + 1)).astype(np.int64)
        return pos, idx

    def evaluate(self, lengths, *, hop: int = 1, frames=()):
        lengths = np.asarray(lengths, np.int64)
        idx = np.stack([(lambda b: (b[0] + b[1]) // 2)(self._bounds(int(n))) for n in lengths])
        return np.arange(len(lengths), dtype=np.int64), idx


class FrameSkip(_Sampler):
    """``clip_len`` frames ``skip`` apart from offset ``o`` (random 0..skip-1 when training, and
    a random start within the skipped sequence); evaluation takes every offset's first clip."""

    def __init__(self, clip_len: int, skip: int = 2) -> None:
        if clip_len < 1 or skip < 1:
            raise ValueError(f"FrameSkip needs clip_len >= 1 and skip >= 1, got {clip_len}, {skip}")
        self.clip_len, self.skip = int(clip_len), int(skip)

    def train(self, lengths, *, per_sample: int, rng: np.random.Generator, frames=()):
        lengths = np.asarray(lengths, np.int64)
        pos = rng.permutation(np.repeat(np.arange(len(lengths)), per_sample))
        span = (self.clip_len - 1) * self.skip + 1
        free = np.maximum(lengths[pos] - span, 0)
        starts = np.floor(rng.random(len(pos)) * (free + 1)).astype(np.int64)
        return pos, clip_frames(lengths[pos], starts, self.clip_len, self.skip)

    def evaluate(self, lengths, *, hop: int = 1, frames=()):
        lengths = np.asarray(lengths, np.int64)
        pos = np.repeat(np.arange(len(lengths)), self.skip)
        offsets = np.tile(np.arange(self.skip), len(lengths))
        span = (self.clip_len - 1) * self.skip + 1
        offsets = np.where(lengths[pos] >= span + offsets, offsets, 0)
        return pos, clip_frames(lengths[pos], offsets, self.clip_len, self.skip)


class KeyFrames(_Sampler):
    """Key frames of each sample (:func:`pain_lib.preprocess.select_key_frames`: in each window of
    ``window`` frames, the frame whose colour histogram changed least from its predecessor,
    chi-square distance), computed on the bank's face crops when clips are drawn; a clip is
    ``clip_len`` consecutive key frames (random start when training; windows ``hop`` key
    frames apart when evaluating). Too few key frames repeat."""

    needs_frames = True

    def __init__(self, clip_len: int, window: int = 6, bins: int = 32) -> None:
        if clip_len < 1 or window < 1:
            raise ValueError(f"KeyFrames needs clip_len >= 1 and window >= 1, got {clip_len}, {window}")
        self.clip_len, self.window, self.bins = int(clip_len), int(window), int(bins)

    def key_frames(self, frames: torch.Tensor) -> np.ndarray:
        """Key-frame indices of one sample's face crops ``(T, S, S, 3)`` uint8 (histograms of
        small crops: cheap enough to recompute whenever clips are drawn)."""
        arr = frames.cpu().numpy()
        return select_key_frames(arr, self.window, bins=self.bins) if len(arr) >= 2 else np.zeros(1, np.int64)

    def _keys_of(self, frames: Sequence[torch.Tensor]) -> list[np.ndarray]:
        return [self.key_frames(f) for f in frames]

    def train(self, lengths, *, per_sample: int, rng: np.random.Generator, frames: Sequence[torch.Tensor] = ()):
        keys = self._keys_of(frames)
        pos = rng.permutation(np.repeat(np.arange(len(keys)), per_sample))
        n_keys = np.array([len(keys[p]) for p in pos], np.int64)
        starts = np.floor(rng.random(len(pos)) * (np.maximum(n_keys - self.clip_len, 0) + 1)).astype(np.int64)
        local = clip_frames(n_keys, starts, self.clip_len, 1)
        return pos, np.stack([keys[p][row] for p, row in zip(pos, local)])

    def evaluate(self, lengths, *, hop: int = 1, frames: Sequence[torch.Tensor] = ()):
        from ..data.samplers import sliding_windows

        pos, idx = [], []
        for i, k in enumerate(self._keys_of(frames)):
            w = sliding_windows(len(k), self.clip_len, 1, max(1, hop // self.window))
            pos.append(np.full(len(w), i, np.int64))
            idx.append(k[w])
        return np.concatenate(pos), np.concatenate(idx)


def make_sampler(name: str, clip_len: int, **params) -> object:
    """A sampler by name: ``contiguous`` (``stride``), ``segments``, ``frame-skip`` (``skip``),
    ``key-frames`` (``window``, ``bins``)."""
    kinds = {"contiguous": Contiguous, "segments": Segments, "frame-skip": FrameSkip, "key-frames": KeyFrames}
    if name not in kinds:
        raise ValueError(f"unknown clip sampler {name!r}; samplers: {', '.join(kinds)}")
    return kinds[name](clip_len, **params)

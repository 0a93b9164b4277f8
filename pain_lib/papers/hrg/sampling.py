"""Sec. III-A's clips: key frames (chi-square histogram distance, windows of 2i = 6 frames), then
frame-skip sampling on the video of key frames only (one video -> several training samples)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ...data.bank import clip_frames
from ...experiments.samplers import KeyFrames

__all__ = ["KeyFrameSkip"]


class KeyFrameSkip(KeyFrames):
    """Key frames of each sample (:class:`~pain_lib.experiments.samplers.KeyFrames`), then
    ``clip_len`` of them ``skip`` apart: from a random offset ``0..skip-1`` (and a random start)
    when training; every offset's first clip when evaluating (the paper's "several training
    samples" of one video). Too few key frames are spread over the clip, repeating frames."""

    def __init__(self, clip_len: int, window: int = 6, skip: int = 2, bins: int = 32) -> None:
        super().__init__(clip_len, window, bins)
        if skip < 1:
            raise ValueError(f"KeyFrameSkip needs skip >= 1, got {skip}")
        self.skip = int(skip)

    def _clips(self, keys: Sequence[np.ndarray], pos: np.ndarray, starts: np.ndarray) -> np.ndarray:
        n = np.array([len(keys[p]) for p in pos], np.int64)
        local = clip_frames(n, starts, self.clip_len, self.skip)
        local = np.minimum(local, n[:, None] - 1)
        return np.stack([keys[p][row] for p, row in zip(pos, local)])

    def train(self, lengths, *, per_sample: int, rng: np.random.Generator, frames: Sequence[torch.Tensor] = ()):
        keys = self._keys_of(frames)
        pos = rng.permutation(np.repeat(np.arange(len(keys)), per_sample))
        n = np.array([len(keys[p]) for p in pos], np.int64)
        span = (self.clip_len - 1) * self.skip + 1
        starts = np.floor(rng.random(len(pos)) * (np.maximum(n - span, 0) + 1)).astype(np.int64)
        return pos, self._clips(keys, pos, starts)

    def evaluate(self, lengths, *, hop: int = 1, frames: Sequence[torch.Tensor] = ()):
        keys = self._keys_of(frames)
        pos = np.repeat(np.arange(len(keys)), self.skip)
        offsets = np.tile(np.arange(self.skip), len(keys))
        n = np.array([len(keys[p]) for p in pos], np.int64)
        span = (self.clip_len - 1) * self.skip + 1
        offsets = np.where(n >= span + offsets, offsets, 0)
        return pos, self._clips(keys, pos, offsets)

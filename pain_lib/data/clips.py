"""``ClipDataset``: face-cropped clip tensors ``(C, T, H, W)`` for 3D CNNs.

Each sample is decoded once, face-cropped over *all* its frames (so Haar boxes can be
smoothed in time), resized to ``size`` and kept as ``(T, size, size, 3)`` uint8 -- in the
on-disk :class:`~pain_lib.data.cache.ClipCache` when ``cache_dir`` is given, else in a small
in-memory LRU.  Items are then sliced from it.

Modes
-----
``"random"``   ``clips_per_sample`` clips per sample, random start (seeded by ``seed`` and
               :meth:`ClipDataset.set_epoch`) -- training.
``"center"``   one centred clip per sample -- sequence-level evaluation.
Samplers: ``sampler=`` replaces the contiguous clip of modes ``random`` / ``center`` (e.g.
:class:`~pain_lib.data.samplers.SegmentSampler` or a key-frame hook).
``"sliding"``  every window of :func:`~pain_lib.data.samplers.sliding_windows` (``hop``) --
               continuous per-frame prediction; :attr:`ClipDataset.items` maps each item
               back to ``(sample index, frame indices)``.

Targets: ``"pspi"`` (per-frame PSPI of the clip's frames, ``(T,)``), ``"mean_pspi"``,
``"max_pspi"``, ``"class"``, ``"level"``, ``"posed"``, ``"none"``, or a callable
``f(sample, frame_indices) -> float | array``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from .base import Sample
from .cache import ClipCache
from .crop import face_crop_params, load_face_frames
from .labels import frame_pspi
from .samplers import StrideSampler, sliding_windows

__all__ = ["ClipDataset", "load_face_frames", "TARGETS"]


def _pspi(s, idx):
    return frame_pspi(s)[idx].astype(np.float32)


TARGETS: dict[str, Callable[[Sample, np.ndarray], object]] = {
    "pspi": _pspi,
    "mean_pspi": lambda s, idx: np.float32(frame_pspi(s)[idx].mean()),
    "max_pspi": lambda s, idx: np.float32(frame_pspi(s)[idx].max()),
    "class": lambda s, idx: np.int64(s.labels["class"]),
    "level": lambda s, idx: np.int64(s.labels.get("level", s.labels.get("class"))),
    "posed": lambda s, idx: np.int64(s.labels.get("posed", 0)),
    "none": lambda s, idx: np.float32(0.0),
}


class ClipDataset(torch.utils.data.Dataset):
    """Clips over ``samples``; ``dataset[i] -> (clip, target)``, clip ``(3, clip_len, size, size)``
    float32 in [0, 1] (or standardised with ``mean``/``std``)."""

    def __init__(
        self,
        samples: Sequence[Sample],
        *,
        clip_len: int = 16,
        size: int = 112,
        stride: int = 1,
        target: str | Callable = "mean_pspi",
        crop: str = "auto",
        cache_dir: str | Path | None = None,
        mode: str = "random",
        clips_per_sample: int = 1,
        hop: int | None = None,
        seed: int = 0,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        memory_items: int = 64,
        return_index: bool = False,
        sampler: Callable | None = None,
    ):
        if mode not in ("random", "center", "sliding"):
            raise ValueError(f"mode must be 'random', 'center' or 'sliding', got {mode!r}")
        if isinstance(target, str) and target not in TARGETS:
            raise ValueError(f"unknown target {target!r}; valid: {', '.join(TARGETS)} or a callable")
        if clip_len < 1 or size < 8 or stride < 1:
            raise ValueError(f"bad clip geometry clip_len={clip_len}, size={size}, stride={stride}")
        self.samples = list(samples)
        self.clip_len, self.size, self.stride = clip_len, size, stride
        self.target_fn = TARGETS[target] if isinstance(target, str) else target
        self.crop, self.mode, self.seed, self.epoch = crop, mode, seed, 0
        self.cache = ClipCache(cache_dir) if cache_dir is not None else None
        self.mean = None if mean is None else torch.tensor(mean, dtype=torch.float32).view(3, 1, 1, 1)
        self.std = None if std is None else torch.tensor(std, dtype=torch.float32).view(3, 1, 1, 1)
        self.return_index = return_index
        self._memory: OrderedDict[int, np.ndarray] = OrderedDict()
        self._memory_items = memory_items
        #: frame sampler of modes "random" / "center": ``sampler(n_frames, rng) -> indices``
        #: (default: a contiguous clip, :class:`StrideSampler`); a sampler with
        #: ``needs_frames`` (e.g. :class:`KeyFrameSampler`) also gets ``frames=`` the face crops
        self.sampler = sampler or StrideSampler(clip_len, stride)
        #: (sample index, frame indices or None for a sampled clip) per item
        self.items: list[tuple[int, np.ndarray | None]] = []
        for si, s in enumerate(self.samples):
            if mode == "sliding":
                for w in sliding_windows(s.n_frames, clip_len, stride, hop):
                    self.items.append((si, w))
            elif mode == "center" and not getattr(self.sampler, "needs_frames", False):
                self.items.append((si, self.sampler(s.n_frames, None)))
            elif mode == "center":
                self.items.append((si, None))
            else:
                self.items.extend((si, None) for _ in range(clips_per_sample))

    def set_epoch(self, epoch: int) -> None:
        """Change the random clip positions (mode ``"random"``) deterministically."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.items)

    def faces(self, si: int) -> np.ndarray:
        """Face-cropped frames ``(T, size, size, 3)`` uint8 of sample ``si`` (cached)."""
        if si in self._memory:
            self._memory.move_to_end(si)
            return self._memory[si]
        s = self.samples[si]
        params = face_crop_params(self.size, self.crop)
        compute = lambda: load_face_frames(s, self.size, crop=self.crop)  # noqa: E731
        arr = self.cache.get_or_compute(s, params, compute) if self.cache else compute()
        self._memory[si] = arr
        if len(self._memory) > self._memory_items:
            self._memory.popitem(last=False)
        return arr

    def frame_indices(self, i: int) -> np.ndarray:
        """Frame indices of item ``i`` (drawn for mode ``"random"``)."""
        si, idx = self.items[i]
        if idx is not None:
            return idx
        rng = None if self.mode == "center" else np.random.default_rng([self.seed, self.epoch, i])
        n = self.samples[si].n_frames
        if getattr(self.sampler, "needs_frames", False):
            return np.asarray(self.sampler(n, rng, frames=self.faces(si)), dtype=np.int64)
        return np.asarray(self.sampler(n, rng), dtype=np.int64)

    def __getitem__(self, i: int):
        si, _ = self.items[i]
        idx = self.frame_indices(i)
        faces = self.faces(si)
        clip = torch.from_numpy(np.ascontiguousarray(faces[idx])).permute(3, 0, 1, 2).float().div_(255.0)
        if self.mean is not None:
            clip = (clip - self.mean) / self.std
        y = self.target_fn(self.samples[si], idx)
        y = torch.as_tensor(np.asarray(y))
        if self.return_index:
            return clip, y, {"sample": si, "frames": torch.from_numpy(idx)}
        return clip, y

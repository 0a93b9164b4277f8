"""Face crops of a whole dataset in one tensor on the training device, and clips drawn from it by
indexing -- the data path of every clip experiment.

A :class:`FrameBank` holds the decoded, face-cropped frames of every sample it was given as one
``uint8`` tensor ``(N_frames, S, S, 3)`` (on the GPU when training there: 10,000 frames of
64 × 64 px take 123 MB), and a slot ``(offset, length)`` per sample. Clips are index arrays
``(B, T)`` into it, so a batch is one gather, one permute and one conversion:

    (B, T) int64 frame indices -> frames[idx] (B, T, S, S, 3) uint8
                               -> (B, 3, T, S, S) float32 in [0, 1] (channels-last-3d on a GPU)

(no per-clip Python work, no DataLoader workers, no host-to-device copy per batch). Which clips
are drawn is decided by :func:`random_clips` (training: ``clips_per_sample`` random starts per
sample and epoch, from ``np.random.default_rng([seed, epoch])``) and :func:`sliding_clips`
(evaluation: windows ``hop`` frames apart covering every frame); :class:`ClipBatches` turns
them into batches of ``(clips, targets)``.

Face crops come from the on-disk :class:`~pain_lib.data.cache.ClipCache` (decoded and cropped
once per sample and size); banks are shared per ``(size, crop, cache, device)`` within a process
(:meth:`FrameBank.shared`), so every configuration of a results table reuses the same tensor.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .base import Sample
from .crop import face_crop_params, load_face_frames
from .samplers import sliding_windows

__all__ = ["FrameBank", "ClipBatches", "Contiguous", "random_clips", "sliding_clips", "clip_frames"]


def clip_frames(lengths: np.ndarray, starts: np.ndarray, clip_len: int, stride: int) -> np.ndarray:
    """Frame indices ``(M, clip_len)`` of clips starting at ``starts`` in sequences of
    ``lengths`` frames; a sequence shorter than the clip's span is spread over its length,
    repeating frames (as :class:`~pain_lib.data.samplers.StrideSampler`)."""
    lengths = np.asarray(lengths, np.int64)
    span = (clip_len - 1) * stride + 1
    steps = np.arange(clip_len, dtype=np.int64)
    idx = np.asarray(starts, np.int64)[:, None] + steps[None, :] * stride
    short = lengths < span
    if short.any():
        spread = np.floor(steps[None, :] * (lengths[short, None] - 1) / max(clip_len - 1, 1) + 0.5)
        idx[short] = spread.astype(np.int64)
    return idx


def random_clips(lengths: Sequence[int], *, clip_len: int, stride: int, per_sample: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``per_sample`` clips per sequence with uniformly random starts, in random order.

    Returns ``(sample_positions (M,), frame_indices (M, clip_len))`` with ``M = per_sample ·
    len(lengths)``; frame indices are local to each sequence."""
    lengths = np.asarray(lengths, np.int64)
    pos = np.repeat(np.arange(len(lengths)), per_sample)
    free = np.maximum(lengths[pos] - ((clip_len - 1) * stride + 1), 0)
    starts = np.floor(rng.random(len(pos)) * (free + 1)).astype(np.int64)
    order = rng.permutation(len(pos))
    pos, starts = pos[order], starts[order]
    return pos, clip_frames(lengths[pos], starts, clip_len, stride)


def sliding_clips(lengths: Sequence[int], *, clip_len: int, stride: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of :func:`~pain_lib.data.samplers.sliding_windows` of each sequence, in order:
    ``(sample_positions (M,), frame_indices (M, clip_len))``."""
    pos, idx = [], []
    for i, n in enumerate(lengths):
        w = sliding_windows(int(n), clip_len, stride, hop)
        pos.append(np.full(len(w), i, np.int64))
        idx.append(w)
    return np.concatenate(pos), np.concatenate(idx)


class Contiguous:
    """The default clip sampler: ``clip_len`` frames ``stride`` apart, from a random start when
    training (:func:`random_clips`), every window ``hop`` frames apart when evaluating
    (:func:`sliding_clips`).

    A clip sampler is any object with ``clip_len`` and the two methods below; ``frames`` is one
    ``(T_i, S, S, 3)`` uint8 tensor per sample (the bank's face crops, for samplers that look
    at the pixels, e.g. key frames). Returned frame indices are local to each sample; the
    target of a frame-level task is the value at the clip's centre column."""

    def __init__(self, clip_len: int, stride: int = 1) -> None:
        self.clip_len, self.stride = int(clip_len), int(stride)

    def train(self, lengths: np.ndarray, *, per_sample: int, rng: np.random.Generator,
              frames: Sequence[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
        return random_clips(lengths, clip_len=self.clip_len, stride=self.stride, per_sample=per_sample, rng=rng)

    def evaluate(self, lengths: np.ndarray, *, hop: int, frames: Sequence[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
        return sliding_clips(lengths, clip_len=self.clip_len, stride=self.stride, hop=hop)

    def __fingerprint__(self) -> dict:
        return {"sampler": "contiguous", "clip_len": self.clip_len, "stride": self.stride}


class FrameBank:
    """Face crops ``(N, S, S, 3)`` uint8 of every sample added, on ``device`` (see the module
    docstring). ``add(samples)`` returns each sample's ``(offset, length)`` slot."""

    _shared: OrderedDict[tuple, FrameBank] = OrderedDict()
    _SHARED_MAX = 4

    def __init__(self, *, size: int, crop: str = "auto", cache_dir: str | Path | None = None,
                 device: torch.device | str = "cpu") -> None:
        from .cache import ClipCache

        self.size, self.crop = int(size), crop
        self.device = torch.device(device)
        self.cache = ClipCache(cache_dir) if cache_dir is not None else None
        self.frames = torch.empty((0, self.size, self.size, 3), dtype=torch.uint8, device=self.device)
        self._slot: dict[tuple[str, str], tuple[int, int]] = {}
        #: content digests of the cached face crops used (for the experiment store's records)
        self.digests: dict[str, str] = {}

    @classmethod
    def shared(cls, *, size: int, crop: str = "auto", cache_dir: str | Path | None = None,
               device: torch.device | str = "cpu") -> FrameBank:
        """The process-wide bank of ``(size, crop, cache_dir, device)`` (a small LRU)."""
        key = (int(size), crop, str(cache_dir), str(torch.device(device)))
        bank = cls._shared.get(key)
        if bank is None:
            bank = cls(size=size, crop=crop, cache_dir=cache_dir, device=device)
            cls._shared[key] = bank
            while len(cls._shared) > cls._SHARED_MAX:
                cls._shared.popitem(last=False)
        cls._shared.move_to_end(key)
        return bank

    @staticmethod
    def _key(sample: Sample) -> tuple[str, str]:
        return (str(sample.source), sample.sample_id)

    @property
    def params(self) -> dict:
        """The face-crop parameters of this bank's cache entries."""
        return face_crop_params(self.size, self.crop)

    def fill_cache(self, samples: Sequence[Sample], *, progress: bool = False) -> int:
        """Decode and crop the faces of ``samples`` missing from the on-disk cache, in parallel
        processes (face detection is CPU-bound); nothing without a cache. Returns how many."""
        if self.cache is None:
            return 0
        import functools
        import os

        return self.cache.fill(list(samples), self.params,
                               functools.partial(load_face_frames, size=self.size, crop=self.crop),
                               workers=min(8, os.cpu_count() or 1), progress=progress)

    def faces(self, sample: Sample) -> np.ndarray:
        """Face crops of one sample ``(T, S, S, 3)`` uint8, from the on-disk cache when given."""
        compute = lambda: load_face_frames(sample, self.size, crop=self.crop)  # noqa: E731
        if self.cache is None:
            return compute()
        arr = self.cache.get_or_compute(sample, self.params, compute)
        d = self.cache.digest(sample, self.params)
        if d:
            self.digests[sample.sample_id] = d
        return np.asarray(arr)

    def add(self, samples: Sequence[Sample], *, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Load the samples not in the bank yet; return ``(offsets, lengths)`` of all of them."""
        missing = list({self._key(s): s for s in samples if self._key(s) not in self._slot}.values())
        if missing:
            self.fill_cache(missing, progress=progress)  # decode and crop in parallel processes first
            from tqdm.auto import tqdm

            chunks, n = [], int(self.frames.shape[0])
            for s in tqdm(missing, desc=f"face crops {self.size}px", disable=not progress, leave=False):
                faces = torch.from_numpy(np.array(self.faces(s)))  # a writable copy of the memory-mapped entry
                self._slot[self._key(s)] = (n, int(faces.shape[0]))
                n += int(faces.shape[0])
                chunks.append(faces)
            new = torch.cat(chunks).to(self.device)
            self.frames = torch.cat([self.frames, new]) if self.frames.numel() else new
        slots = np.array([self._slot[self._key(s)] for s in samples], np.int64).reshape(-1, 2)
        return slots[:, 0], slots[:, 1]

    def gather(self, frame_index: torch.Tensor) -> torch.Tensor:
        """Clips ``(B, 3, T, S, S)`` float32 in [0, 1] for global frame indices ``(B, T)``: on a
        GPU in channels-last-3d layout (the frames' own NDHWC order, no copy to reorder), on a
        CPU contiguous (its fast 3D convolutions are NCDHW)."""
        x = self.frames[frame_index.to(self.device)].permute(0, 4, 1, 2, 3)  # (B, 3, T, S, S), NDHWC strides
        if self.device.type != "cuda":
            x = x.contiguous()
        return x.float().div_(255.0)


class ClipBatches:
    """Batches ``(clips (B, 3, T, S, S), targets (B,))`` of clips of ``samples`` from a
    :class:`FrameBank`, ready on the bank's device.

    Args:
        bank: the frame bank (samples are added to it).
        samples: the sequences.
        frame_targets: one array ``(T_i,)`` per sample; a clip's target is the value at its
            centre frame (e.g. frame PSPI). Or
        labels: one label per sample (e.g. a BioVid class, ``int64``), or ``(N, k)`` float
            values of ``k`` sample targets at once. Neither: targets are 0.
        clip_len, stride: clip geometry of the default :class:`Contiguous` sampler, or
        sampler: which frames make a clip (e.g. key frames, one frame per segment; see
            :mod:`pain_lib.experiments.samplers`).
        per_sample: random clips per sequence and epoch (training), or ``None`` with ``hop``:
            every sliding window ``hop`` frames apart (evaluation, fixed order).
        batch_size, seed, drop_last: as a DataLoader; :meth:`set_epoch` redraws the random clips
            (``np.random.default_rng([seed, epoch])``: a rerun draws the same clips).

    ``positions`` (sample of each clip) and ``frame_index`` (local frame indices ``(M, T)``)
    describe the current epoch's clips, in batch order.
    """

    def __init__(self, bank: FrameBank, samples: Sequence[Sample], *, clip_len: int, stride: int = 1,
                 per_sample: int | None = None, hop: int | None = None,
                 frame_targets: Sequence[np.ndarray] | None = None, labels: Sequence[Any] | None = None,
                 batch_size: int = 8, seed: int = 0, drop_last: bool = False, progress: bool = False,
                 sampler: Any = None) -> None:
        if (per_sample is None) == (hop is None):
            raise ValueError("give exactly one of per_sample= (random training clips) or hop= (sliding windows)")
        if frame_targets is not None and labels is not None:
            raise ValueError("give frame_targets= or labels=, not both")
        self.bank, self.samples = bank, list(samples)
        self.offsets, self.lengths = bank.add(self.samples, progress=progress)
        self.sampler = sampler if sampler is not None else Contiguous(clip_len, stride)
        self.clip_len, self.stride = int(self.sampler.clip_len), int(getattr(self.sampler, "stride", stride))
        self.per_sample, self.hop = per_sample, hop
        self.batch_size, self.seed, self.drop_last = int(batch_size), int(seed), drop_last
        dev = bank.device
        self._labels = self._flat = None
        if frame_targets is not None:
            if len(frame_targets) != len(self.samples):
                raise ValueError(f"{len(frame_targets)} frame-target arrays for {len(self.samples)} samples")
            self._flat = torch.from_numpy(np.concatenate([np.asarray(v, np.float32) for v in frame_targets])).to(dev)
            starts = np.concatenate([[0], np.cumsum([len(v) for v in frame_targets])[:-1]]).astype(np.int64)
            self._target_off = torch.from_numpy(starts).to(dev)
        elif labels is not None:
            if len(labels) != len(self.samples):
                raise ValueError(f"{len(labels)} labels for {len(self.samples)} samples")
            self._labels = torch.as_tensor(np.asarray(labels)).to(dev)
        self.epoch = 0
        self._draw()

    def sample_frames(self) -> list[torch.Tensor]:
        """Each sample's face crops ``(T_i, S, S, 3)`` uint8 (views into the bank)."""
        return [self.bank.frames[int(o):int(o + n)] for o, n in zip(self.offsets, self.lengths)]

    def _draw(self) -> None:
        frames = self.sample_frames() if getattr(self.sampler, "needs_frames", False) else []
        if self.per_sample is not None:
            rng = np.random.default_rng([self.seed, self.epoch])
            self.positions, self.frame_index = self.sampler.train(self.lengths, per_sample=self.per_sample, rng=rng,
                                                                  frames=frames)
        else:
            self.positions, self.frame_index = self.sampler.evaluate(self.lengths, hop=self.hop, frames=frames)

    def set_epoch(self, epoch: int) -> None:
        """Draw the random clips of ``epoch`` (sliding windows do not change)."""
        if int(epoch) != self.epoch:
            self.epoch = int(epoch)
            self._draw()

    def __len__(self) -> int:
        n = len(self.positions)
        return n // self.batch_size if self.drop_last and n >= self.batch_size else -(-n // self.batch_size)

    def targets(self, pos: torch.Tensor, local: torch.Tensor) -> torch.Tensor:
        """Targets of clips ``(sample positions (B,), local frame indices (B, T))``."""
        if self._flat is not None:
            return self._flat[self._target_off[pos] + local[:, self.clip_len // 2]]
        if self._labels is not None:
            return self._labels[pos]
        return torch.zeros(len(pos), device=pos.device)

    def __iter__(self):
        dev = self.bank.device
        glob = torch.from_numpy(self.offsets[self.positions][:, None] + self.frame_index).to(dev)
        pos = torch.from_numpy(self.positions).to(dev)
        local = torch.from_numpy(self.frame_index).to(dev)
        for b in range(len(self)):
            sl = slice(b * self.batch_size, (b + 1) * self.batch_size)
            yield self.bank.gather(glob[sl]), self.targets(pos[sl], local[sl])

    def centre_frames(self) -> np.ndarray:
        """The centre frame (local index) of every clip of the current epoch, in batch order."""
        return self.frame_index[:, self.clip_len // 2]

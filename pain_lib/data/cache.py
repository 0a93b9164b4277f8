"""On-disk cache of decoded, cropped clips (``.npy``, atomic writes).

Key = SHA-1 of the source (video file or frame folder: path, size, modification time, frame
count) and the processing parameters (crop mode, size, ...).  Entries are ``(T, S, S, 3)``
uint8 arrays, memory-mapped on read so slicing a clip out of a long sequence is cheap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..io import atomic_write
from .base import Sample

__all__ = ["ClipCache", "source_fingerprint"]


def source_fingerprint(sample: Sample) -> dict:
    """What identifies a sample's pixels: path, size and mtime of its video or frame files."""
    if sample.video is not None:
        st = Path(sample.video).stat()
        return {"video": str(Path(sample.video).resolve()), "size": st.st_size, "mtime": st.st_mtime_ns}
    frames = sample.frames or []
    ends = [frames[0], frames[-1]] if frames else []
    return {"frames": str(Path(frames[0]).parent.resolve()) if frames else "", "n": len(frames),
            "ends": [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in ends]}


class ClipCache:
    """``ClipCache(root)``: ``get_or_compute(sample, params, compute)``."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()
        self.root.mkdir(parents=True, exist_ok=True)

    def key(self, sample: Sample, params: dict) -> str:
        doc = json.dumps({"src": source_fingerprint(sample), "params": params}, sort_keys=True, default=str)
        return hashlib.sha1(doc.encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        p = self.path(key)
        if not p.exists():
            return None
        try:
            return np.load(p, mmap_mode="r")
        except (OSError, ValueError):  # a damaged entry is recomputed
            return None

    def put(self, key: str, array: np.ndarray) -> Path:
        return atomic_write(self.path(key), lambda fh: np.save(fh, np.ascontiguousarray(array)))

    def get_or_compute(self, sample: Sample, params: dict, compute: Callable[[], np.ndarray]) -> np.ndarray:
        key = self.key(sample, params)
        hit = self.get(key)
        if hit is not None:
            return hit
        arr = compute()
        self.put(key, arr)
        return arr

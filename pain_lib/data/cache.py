"""On-disk cache of decoded, cropped clips (``.npy`` with a content checksum, atomic writes).

Key = SHA-1 of the sample's *source* and the processing parameters (crop mode, size, ...).
The source is identified by the library's one fingerprint rule for samples
(:func:`source_fingerprint`: every frame file or the video, and the landmark files the crop may
use, by name, size and modification time; ``stat`` only).  Replacing, editing or touching any
one frame gives a new key.

Entry = ``<root>/<key[:2]>/<key>.npy``: a standard ``.npy`` array ``(T, S, S, 3)`` uint8
followed by a fixed-size trailer ``#pain-lib sha256 <64 hex>\\n`` holding the SHA-256 of every
byte before it (NumPy ignores bytes after the array).  Loading verifies the checksum -- one
read of the file -- once per process per file version (path, size, mtime, inode), then
memory-maps the array, so slicing a clip out of a long sequence stays cheap.  A damaged
entry (checksum mismatch, no trailer, unreadable header) is deleted and recomputed, with a
:class:`~pain_lib.io.CacheIntegrityWarning` naming the file.

:meth:`ClipCache.digest` returns an entry's verified checksum, so a result can record which
cached inputs it was computed from.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..fingerprint import fingerprint
from ..io import CacheIntegrityWarning, atomic_write
from .base import Sample

__all__ = ["ClipCache", "source_fingerprint", "CACHE_FORMAT"]

#: bump when the key or the entry format changes (old entries are then simply not found)
CACHE_FORMAT = 2
_MAGIC = b"#pain-lib sha256 "
_TRAILER_LEN = len(_MAGIC) + 64 + 1
#: path -> ((size, mtime_ns, inode), sha256) of entries verified (or written) in this process
_VERIFIED: dict[str, tuple[tuple[int, int, int], str]] = {}


class _Damaged(Exception):
    """A cache entry failed verification (message: why)."""


def source_fingerprint(sample: Sample) -> str:
    """What identifies a sample's pixels: :func:`pain_lib.fingerprint.fingerprint` of the sample
    (the library's one rule: its media files by name, size and modification time -- every frame,
    the landmark files a crop may use -- plus id and labels; ``stat`` only)."""
    return fingerprint(sample)


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns, st.st_ino


def _verify(path: Path) -> str:
    """The stored checksum of entry ``path`` after checking it against the content (once per
    process per file version); raises :class:`_Damaged`."""
    try:
        stamp = _stamp(path)
    except OSError as e:
        raise _Damaged(f"cannot stat it ({e})") from None
    known = _VERIFIED.get(str(path))
    if known is not None and known[0] == stamp:
        return known[1]
    size = stamp[0]
    if size < _TRAILER_LEN:
        raise _Damaged(f"{size} bytes, shorter than its checksum trailer")
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        left = size - _TRAILER_LEN
        while left > 0:
            block = fh.read(min(left, 1 << 20))
            if not block:
                raise _Damaged("ended early")
            h.update(block)
            left -= len(block)
        trailer = fh.read(_TRAILER_LEN)
    if not trailer.startswith(_MAGIC) or not trailer.endswith(b"\n"):
        raise _Damaged("no checksum trailer")
    stored = trailer[len(_MAGIC):-1].decode("ascii", "replace")
    if stored != h.hexdigest():
        raise _Damaged(f"content checksum {h.hexdigest()[:12]} differs from the stored {stored[:12]}")
    _VERIFIED[str(path)] = (stamp, stored)
    return stored


class _HashingWriter:
    """File-like wrapper that hashes what is written through it."""

    def __init__(self, fh):
        self.fh = fh
        self.sha = hashlib.sha256()

    def write(self, data) -> int:
        self.sha.update(data)
        return self.fh.write(data)


class ClipCache:
    """``ClipCache(root)``: ``get_or_compute(sample, params, compute)`` and ``digest(sample, params)``."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()
        self.root.mkdir(parents=True, exist_ok=True)

    def key(self, sample: Sample, params: dict) -> str:
        doc = json.dumps({"format": CACHE_FORMAT, "src": source_fingerprint(sample), "params": params},
                         sort_keys=True, default=str)
        return hashlib.sha1(doc.encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def _discard(self, p: Path, why: str) -> None:
        warnings.warn(f"clip cache entry {str(p)!r} is damaged ({why}); discarding and recomputing it",
                      CacheIntegrityWarning, stacklevel=4)
        _VERIFIED.pop(str(p), None)
        try:
            p.unlink()
        except OSError:
            pass

    def _checked(self, key: str) -> str | None:
        """The verified checksum of entry ``key``; ``None`` when absent or damaged (then deleted)."""
        p = self.path(key)
        if not p.exists():
            return None
        try:
            return _verify(p)
        except _Damaged as e:
            self._discard(p, str(e))
            return None

    def get(self, key: str) -> np.ndarray | None:
        """The entry ``key`` memory-mapped, after verification; ``None`` when absent or damaged."""
        if self._checked(key) is None:
            return None
        p = self.path(key)
        try:
            return np.load(p, mmap_mode="r")
        except (OSError, ValueError) as e:
            self._discard(p, f"unreadable: {e}")
            return None

    def put(self, key: str, array: np.ndarray) -> Path:
        """Store ``array`` under ``key`` with its checksum (atomically)."""
        arr = np.ascontiguousarray(array)
        digest: list[str] = []

        def write(fh):
            tee = _HashingWriter(fh)
            np.save(tee, arr)
            digest.append(tee.sha.hexdigest())
            fh.write(_MAGIC + digest[0].encode("ascii") + b"\n")

        p = atomic_write(self.path(key), write)
        try:
            _VERIFIED[str(p)] = (_stamp(p), digest[0])
        except OSError:
            pass
        return p

    def digest(self, sample: Sample, params: dict) -> str | None:
        """The stored content checksum (SHA-256 hex) of the entry of ``sample`` and ``params``,
        after verifying it; ``None`` when there is no (intact) entry."""
        return self._checked(self.key(sample, params))

    def fill(self, samples: list[Sample], params: dict, compute: Callable[[Sample], np.ndarray], *,
             workers: int = 1, progress: bool = False) -> int:
        """Compute the missing entries of ``samples`` (``compute(sample)``, picklable) in
        ``workers`` processes -- face detection is CPU-bound and per sample independent -- and
        return how many were computed. Concurrent writers of one entry are safe (atomic writes)."""
        missing = [s for s in samples if self._checked(self.key(s, params)) is None]
        if not missing:
            return 0
        jobs = [(str(self.root), s, params, compute) for s in missing]
        if workers <= 1 or len(missing) < 2 * workers:
            for job in jobs:
                _fill_one(job)
            return len(missing)
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        from tqdm.auto import tqdm

        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            for _ in tqdm(pool.map(_fill_one, jobs, chunksize=4), total=len(jobs), disable=not progress,
                          desc="face crops", leave=False):
                pass
        return len(missing)

    def get_or_compute(self, sample: Sample, params: dict, compute: Callable[[], np.ndarray]) -> np.ndarray:
        key = self.key(sample, params)
        hit = self.get(key)
        if hit is not None:
            return hit
        arr = compute()
        self.put(key, arr)
        return arr


def _fill_one(job: tuple) -> None:
    """Compute and store one cache entry (a worker process of :meth:`ClipCache.fill`)."""
    import cv2

    cv2.setNumThreads(1)
    root, sample, params, compute = job
    cache = ClipCache(root)
    key = cache.key(sample, params)
    if cache._checked(key) is None:
        cache.put(key, compute(sample))

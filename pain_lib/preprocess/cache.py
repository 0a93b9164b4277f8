"""On-disk cache of preprocessing results, so notebooks never recompute them.

A result is stored as one ``.npz`` under ``<root>/<function>/<key[:2]>/<key>.npz`` where
``key = sha256(version, function name, identity digest, params)``:

* the *identity* of the input is hashed by content: arrays/tensors by dtype, shape and bytes;
  existing files by path, size and modification time; a dataset ``Sample`` by its id and its
  media files (the video, or every frame file, and its landmark and biosignal files: ``stat``
  only, see :func:`pain_lib.data.cache.source_fingerprint`); objects with
  ``__cache_identity__()`` by what it returns; other dataclasses, mappings, lists and scalars
  recursively;
* ``params`` are canonical JSON (sorted keys), so keyword order does not matter;
* every entry stores a SHA-256 of its content (``__sha256__``: kind, and each array's name,
  dtype, shape and bytes), written on save and checked on load (once per process per file
  version); a mismatch or an unreadable entry is deleted and recomputed with a
  :class:`~pain_lib.io.CacheIntegrityWarning` naming the file;
* writes are atomic (:func:`pain_lib.io.atomic_write`).

>>> cache = FeatureCache()                     # $PAIN_LIB_CACHE or <repo>/cache/preprocess
>>> di = cache(dynamic_image, clip)            # computed once, then loaded
>>> m = cache.get_or_compute("ssd_map", sample, {"l": 20}, lambda: ssd_map(read_clip(sample), 20))
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..fingerprint import fingerprint
from ..io import CacheIntegrityWarning, atomic_write
from ..paths import preprocess_cache_dir

__all__ = ["CACHE_VERSION", "default_cache_dir", "identity_digest", "cache_key", "content_digest", "FeatureCache"]

#: bump to invalidate every cached entry after a change of the preprocessing code
CACHE_VERSION = 2


def default_cache_dir() -> Path:
    """``<cache>/preprocess`` (:func:`pain_lib.paths.preprocess_cache_dir`; ``$PAIN_LIB_CACHE``
    moves the cache root)."""
    return preprocess_cache_dir()


def _canonical(obj: Any) -> Any:
    """A JSON-able, order-independent description of ``obj`` (arrays by content hash)."""
    if isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        h = hashlib.sha256()
        h.update(str(obj.dtype).encode())
        h.update(str(obj.shape).encode())
        h.update(np.ascontiguousarray(obj).tobytes())
        return {"ndarray": h.hexdigest()}
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Path):
        if obj.is_file():
            st = obj.stat()
            return {"file": str(obj.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        return {"path": str(obj)}
    if hasattr(obj, "__cache_identity__"):
        return _canonical(obj.__cache_identity__())
    if hasattr(obj, "sample_id") and (hasattr(obj, "video") or hasattr(obj, "frames")):
        return _sample_identity(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"dataclass": type(obj).__qualname__,
                "fields": {f.name: _canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    if isinstance(obj, Mapping):
        return {"dict": sorted(([str(k), _canonical(v)] for k, v in obj.items()), key=lambda kv: kv[0])}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, torch.dtype):
        return str(obj)
    if callable(obj):
        return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', repr(obj))}"
    raise TypeError(f"cannot hash an object of type {type(obj).__name__} for the cache key")


def _sample_identity(sample) -> dict:
    """A dataset sample (``pain_lib.data.Sample``) is identified by the library's one rule,
    :func:`pain_lib.fingerprint.fingerprint` (its id, labels and every media file it is read
    from -- video or every frame, landmarks, biosignals -- by name, size and mtime)."""
    return {"sample": fingerprint(sample)}


def identity_digest(identity: Any) -> str:
    """sha256 hex digest of an input's identity (see module docstring)."""
    return hashlib.sha256(json.dumps(_canonical(identity), sort_keys=True).encode()).hexdigest()


def cache_key(func_name: str, identity: Any, params: dict | None = None) -> str:
    """The cache key of ``func_name`` applied to ``identity`` with ``params``."""
    payload = {
        "version": CACHE_VERSION,
        "function": func_name,
        "identity": identity_digest(identity),
        "params": _canonical(dict(params or {})),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _to_arrays(value: Any) -> tuple[dict[str, np.ndarray], str]:
    if isinstance(value, torch.Tensor):
        return {"value": value.detach().cpu().numpy()}, "tensor"
    if isinstance(value, (np.ndarray, np.generic, float, int)):
        return {"value": np.asarray(value)}, "array"
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or k.startswith("__"):
                raise TypeError(f"cache: dict keys must be strings not starting with '__'; got {k!r}")
            out[k] = v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
            if out[k].dtype == object:
                raise TypeError(f"cache: value {k!r} is not a numeric array")
        return out, "dict"
    raise TypeError(
        f"cache: results must be arrays, tensors or dicts of arrays; got {type(value).__name__}"
    )


def content_digest(kind: str, arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 of an entry's content: its kind and each array's name, dtype, shape and bytes."""
    h = hashlib.sha256(f"kind={kind}\n".encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}\n".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class _Damaged(Exception):
    """A cache entry failed verification (message: why)."""


#: path -> ((size, mtime_ns, inode), sha256) of entries verified (or written) in this process
_VERIFIED: dict[str, tuple[tuple[int, int, int], str]] = {}


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns, st.st_ino


class FeatureCache:
    """Content-addressed ``.npz`` cache of preprocessing results (see module docstring)."""

    def __init__(self, root: str | os.PathLike | None = None, *, enabled: bool = True):
        self.root = Path(root) if root is not None else default_cache_dir()
        self.enabled = enabled
        self.hits = 0
        self.misses = 0

    def path(self, func_name: str, key: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in func_name)
        return self.root / safe / key[:2] / f"{key}.npz"

    @staticmethod
    def _read(p: Path) -> tuple[str, dict[str, np.ndarray], str]:
        """``(kind, arrays, checksum)`` of entry ``p``, verified; raises :class:`_Damaged`."""
        try:
            stamp = _stamp(p)
            with np.load(p, allow_pickle=False) as z:
                kind = str(z["__kind__"])
                stored = str(z["__sha256__"])
                arrays = {k: z[k] for k in z.files if not k.startswith("__")}
        except KeyError as e:
            raise _Damaged(f"no {e} member") from None
        except Exception as e:  # any unreadable file is a damaged entry
            raise _Damaged(f"unreadable: {type(e).__name__}: {e}") from None
        known = _VERIFIED.get(str(p))
        if known is None or known != (stamp, stored):
            actual = content_digest(kind, arrays)
            if actual != stored:
                raise _Damaged(f"content checksum {actual[:12]} differs from the stored {stored[:12]}")
            _VERIFIED[str(p)] = (stamp, stored)
        return kind, arrays, stored

    def _checked(self, p: Path) -> tuple[str, dict[str, np.ndarray], str] | None:
        if not p.is_file():
            return None
        try:
            return self._read(p)
        except _Damaged as e:
            warnings.warn(f"preprocessing cache entry {str(p)!r} is damaged ({e}); discarding and "
                          f"recomputing it", CacheIntegrityWarning, stacklevel=3)
            _VERIFIED.pop(str(p), None)
            try:
                p.unlink()
            except OSError:
                pass
            return None

    def load(self, func_name: str, identity: Any, params: dict | None = None):
        """The cached value, or ``None`` when absent or damaged (a damaged entry is deleted,
        with a warning)."""
        entry = self._checked(self.path(func_name, cache_key(func_name, identity, params)))
        if entry is None:
            return None
        kind, arrays, _ = entry
        if kind == "tensor":
            return torch.from_numpy(arrays["value"])
        if kind == "array":
            return arrays["value"]
        return arrays

    def digest(self, func_name: str, identity: Any, params: dict | None = None) -> str | None:
        """The verified content checksum of an entry (``None`` when absent or damaged)."""
        entry = self._checked(self.path(func_name, cache_key(func_name, identity, params)))
        return None if entry is None else entry[2]

    def save(self, func_name: str, identity: Any, params: dict | None, value: Any) -> Path:
        """Store ``value`` with its content checksum, atomically; returns the file written."""
        key = cache_key(func_name, identity, params)
        p = self.path(func_name, key)
        arrays, kind = _to_arrays(value)
        digest = content_digest(kind, arrays)
        meta = json.dumps({"function": func_name, "params": _canonical(dict(params or {})),
                           "version": CACHE_VERSION}, sort_keys=True)
        atomic_write(p, lambda f: np.savez(f, __kind__=np.array(kind), __meta__=np.array(meta),
                                           __sha256__=np.array(digest), **arrays))
        try:
            _VERIFIED[str(p)] = (_stamp(p), digest)
        except OSError:
            pass
        return p

    def get_or_compute(self, func_name: str, identity: Any, params: dict | None,
                       compute: Callable[[], Any]):
        """Load the cached value or compute, store and return it."""
        if self.enabled:
            hit = self.load(func_name, identity, params)
            if hit is not None:
                self.hits += 1
                return hit
        self.misses += 1
        value = compute()
        if self.enabled:
            self.save(func_name, identity, params, value)
            # return what a later hit returns (NumPy stays NumPy, tensors come back on the CPU)
            return self.load(func_name, identity, params)
        return value

    def __call__(self, fn: Callable, x: Any, *, identity: Any = None, **params):
        """``fn(x, **params)`` through the cache; the input's identity defaults to ``x``'s
        content (pass ``identity=`` e.g. a dataset sample to avoid hashing the pixels)."""
        name = f"{fn.__module__}.{fn.__qualname__}"
        ident = x if identity is None else identity
        return self.get_or_compute(name, ident, params, lambda: fn(x, **params))

    def clear(self) -> None:
        """Delete every cached entry under ``root``."""
        import shutil

        if self.root.exists():
            shutil.rmtree(self.root)

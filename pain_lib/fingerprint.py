"""One rule for "the same content": :func:`fingerprint`.

Caches and the experiment store key their entries by it. Equal content gives equal
fingerprints in any process; anything that changes a result changes the fingerprint.

* arrays and tensors: dtype, shape and bytes (memory layout does not matter);
* mappings (sorted keys), sequences, dataclasses, NumPy scalars and plain scalars;
* objects that define ``__fingerprint__()`` contribute the digest of what that returns. A dataset
  :class:`~pain_lib.data.Sample` does: its id, subject, labels and the name, size and
  modification time of every media file it reads (so an edited or regenerated frame changes it,
  a mere re-listing of the same files does not).

Within :func:`memoized` (an experiment runs inside one) an object's ``__fingerprint__`` digest is
computed once and reused: an experiment fingerprints its samples once, at its start, instead of
``stat``-ing every frame file again for every cache key and store key it forms. The digests are
the same as without it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["fingerprint", "memoized"]

#: id(obj) -> (obj, digest of its ``__fingerprint__``) while :func:`memoized` is active (the object
#: is held so that its id cannot be reused by another one)
_MEMO: dict[int, tuple[Any, str]] | None = None


@contextmanager
def memoized() -> Iterator[None]:
    """Within this block, each object's ``__fingerprint__()`` is evaluated once (nested blocks
    share the outer one's memo). Use it around work that treats its inputs as fixed -- one
    experiment -- not around a whole session in which files may change."""
    global _MEMO
    if _MEMO is not None:
        yield
        return
    _MEMO = {}
    try:
        yield
    finally:
        _MEMO = None


def _object_digest(o: Any) -> str:
    if _MEMO is not None:
        hit = _MEMO.get(id(o))
        if hit is not None and hit[0] is o:
            return hit[1]
    h = hashlib.sha1()
    _feed(h, o.__fingerprint__())
    digest = h.hexdigest()
    if _MEMO is not None:
        _MEMO[id(o)] = (o, digest)
    return digest


def _feed(h: Any, o: Any) -> None:
    if getattr(o, "__fingerprint__", None) is not None and not isinstance(o, type):
        h.update(f"O{type(o).__name__}:{_object_digest(o)}".encode())
        return
    if type(o).__module__.startswith("torch") and hasattr(o, "detach"):  # a tensor (torch stays optional)
        t = o.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        if t.numel():
            import torch

            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        return
    if isinstance(o, np.ndarray):
        a = np.ascontiguousarray(o)
        h.update(f"A{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    elif isinstance(o, dict):
        h.update(f"D{len(o)}".encode())
        for k in sorted(o, key=str):
            _feed(h, str(k))
            _feed(h, o[k])
    elif isinstance(o, (list, tuple)):
        h.update(f"L{len(o)}".encode())
        for v in o:
            _feed(h, v)
    elif dataclasses.is_dataclass(o) and not isinstance(o, type):
        h.update(f"C{type(o).__name__}".encode())
        _feed(h, {f.name: getattr(o, f.name) for f in dataclasses.fields(o)})
    elif isinstance(o, np.generic):
        _feed(h, o.item())
    else:
        h.update(f"{type(o).__name__}:{o!r};".encode())


def fingerprint(obj: Any) -> str:
    """SHA-1 hex digest of the content of ``obj`` (see the module docstring)."""
    h = hashlib.sha1()
    _feed(h, obj)
    return h.hexdigest()

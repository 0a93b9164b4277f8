"""The content-addressed experiment store: every cross-validated configuration, per fold.

Layout (``<store>`` is :func:`pain_lib.paths.experiments_dir` for notebooks)::

    <store>/<name>-<key16>/             one configuration (recipe + data + protocol + seed)
        identity.json                   what the key was computed from (for people)
        <fold>.json                     the fold's record, written last: metrics, timings,
                                        learning curve, the checksums of the files below and
                                        the fingerprints of the cached inputs it used
        <fold>.npz                      the fold's predictions (arrays)
        <fold>.pt                       the fitted model(s) of the fold
        <fold>.ckpt                     training in progress (per-epoch resume), removed at the end
        <fold>.lock                     held while a process computes the fold
    <store>/stages/<name>-<key16>.pt    a sub-computation shared by configurations (a pretext, a
                                        pre-training, a codebook: :meth:`Store.stage`), with
        <name>-<key16>.sha256           its checksum, and
        <name>-<key16>.json             the identity its key was computed from (for people)

A fold is complete when its record exists and every file it lists has the recorded checksum.
A damaged or truncated entry (unreadable record, checksum mismatch, a ``.npz`` or ``.pt`` that
does not load) is reported in a warning naming the file, discarded and recomputed. Two
processes asking for the same fold never compute it twice: the second waits on the lock and
then reads the first one's result.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..fingerprint import fingerprint
from ..io import atomic_write, atomic_write_json, sha256_bytes, sha256_file

__all__ = ["STORE_VERSION", "Store", "Entry", "DamagedEntryWarning", "experiment_key", "stage_key"]

#: part of every store key; bump when the engine's training or evaluation changes meaning
#: (a recipe's or a stage's own code changes bump its ``version``, which is part of its key)
STORE_VERSION = 6


class DamagedEntryWarning(UserWarning):
    """A store file was unreadable or failed its checksum; it is discarded and recomputed."""


def experiment_key(**parts: Any) -> str:
    """The store key of a configuration: :func:`~pain_lib.fingerprint.fingerprint` of ``parts``
    and :data:`STORE_VERSION` (keyword names are part of the key)."""
    return fingerprint({"store_version": STORE_VERSION, **parts})


def stage_key(name: str, identity: Any, version: int = 1) -> str:
    """The key of a stage: its name, its code ``version`` and the identity it was asked with."""
    return fingerprint({"store_version": STORE_VERSION, "stage": name, "version": int(version), "identity": identity})


def _record_checksum(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "checksum"}
    return sha256_bytes(json.dumps(body, sort_keys=True, default=str).encode())


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no cross-process lock
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Entry:
    """One configuration's folder in the store (see the module docstring)."""

    def __init__(self, path: Path, key: str) -> None:
        self.path, self.key = Path(path), key

    # ------------------------------------------------------------------ files
    def file(self, name: str) -> Path:
        return self.path / name

    def lock(self, name: str):
        """An exclusive, cross-process lock named ``name`` (e.g. a fold)."""
        return _flock(self.path / f"{name}.lock")

    def _damaged(self, path: Path, why: str) -> None:
        warnings.warn(f"experiment store: {path} is damaged ({why}); discarding it and recomputing",
                      DamagedEntryWarning, stacklevel=3)

    def write_identity(self, identity: dict) -> None:
        p = self.path / "identity.json"
        if not p.exists():
            atomic_write_json(p, identity)

    # ------------------------------------------------------------------ folds
    def load_fold(self, fold: str, load_arrays: Callable[[Path], dict]) -> tuple[dict, dict] | None:
        """The record and predictions of a complete ``fold``, or ``None`` (missing, or damaged:
        then its files are removed and a warning names the damaged one)."""
        rec_path = self.path / f"{fold}.json"
        if not rec_path.is_file():
            return None
        try:
            record = json.loads(rec_path.read_text())
            if record.get("checksum") != _record_checksum(record):
                raise ValueError("record checksum mismatch")
        except (OSError, ValueError) as exc:
            self._damaged(rec_path, str(exc))
            self.discard_fold(fold)
            return None
        for name, digest in record.get("files", {}).items():
            p = self.path / name
            if not p.is_file() or sha256_file(p) != digest:
                self._damaged(p, "missing" if not p.is_file() else "checksum mismatch")
                self.discard_fold(fold)
                return None
        arrays: dict = {}
        npz = self.path / f"{fold}.npz"
        if npz.is_file():
            try:
                arrays = load_arrays(npz)
            except Exception as exc:  # noqa: BLE001 - a checksum-valid file that still fails to load
                self._damaged(npz, f"{type(exc).__name__}: {exc}")
                self.discard_fold(fold)
                return None
        return record, arrays

    def save_fold(self, fold: str, record: dict, *, arrays: dict | None = None,
                  write_arrays: Callable[[Any, dict], Any] | None = None,
                  fitted_writer: Callable[[Any], Any] | None = None) -> dict:
        """Write the fold's predictions and fitted model, then its record (last: the record
        marks the fold complete and carries the other files' checksums)."""
        files = {}
        if arrays:
            p = atomic_write(self.path / f"{fold}.npz", lambda fh: write_arrays(fh, arrays))
            files[p.name] = sha256_file(p)
        if fitted_writer is not None:
            p = atomic_write(self.path / f"{fold}.pt", fitted_writer)
            files[p.name] = sha256_file(p)
        record = {**record, "files": files}
        record["checksum"] = _record_checksum(record)
        atomic_write_json(self.path / f"{fold}.json", record)
        (self.path / f"{fold}.ckpt").unlink(missing_ok=True)
        return record

    def discard_fold(self, fold: str) -> None:
        for suffix in (".json", ".npz", ".pt", ".ckpt"):
            (self.path / f"{fold}{suffix}").unlink(missing_ok=True)


class Store:
    """``Store(root)``: :meth:`entry` gives the folder of a configuration; ``Store(None)``
    keeps everything in a temporary folder that is removed with the object."""

    def __init__(self, root: str | os.PathLike | None) -> None:
        self._tmp = None
        if root is None:
            import tempfile

            self._tmp = tempfile.TemporaryDirectory(prefix="pain-lib-store-")
            root = self._tmp.name
        self.root = Path(root)

    def entry(self, name: str, key: str) -> Entry:
        """The entry ``<root>/<name>-<key[:16]>`` (created)."""
        path = self.root / f"{name}-{key[:16]}"
        path.mkdir(parents=True, exist_ok=True)
        return Entry(path, key)

    def stage(self, name: str, identity: Any, compute: Callable[[], Any], *, version: int = 1,
              save: Callable[[Any, Any], None] | None = None, load: Callable[[Path], Any] | None = None) -> tuple[Any, str]:
        """``(value, key)``: the result of ``compute()`` for ``identity``, computed once (under a
        cross-process lock) and filed in ``<root>/stages/`` with its checksum and identity; read
        back (checksum verified) by every later call with the same name, identity and
        ``version``. A damaged file is named in a warning and recomputed. ``save(value, fh)`` /
        ``load(path)`` default to :func:`torch.save` / :func:`torch.load` (``weights_only``) of
        plain values, tensors and arrays (the recipe layer passes its own for networks)."""
        import torch

        key = stage_key(name, identity, version)
        folder = self.root / "stages"
        stem = folder / f"{name}-{key[:16]}"
        path, digest_path = stem.with_suffix(".pt"), stem.with_suffix(".sha256")
        save = save or (lambda value, fh: torch.save(value, fh))
        load = load or (lambda p: torch.load(p, map_location="cpu", weights_only=True))
        with _flock(stem.with_suffix(".lock")):
            if path.is_file() and digest_path.is_file():
                try:
                    if sha256_file(path) != digest_path.read_text().strip():
                        raise ValueError("checksum mismatch")
                    return load(path), key
                except Exception as exc:  # noqa: BLE001 - damaged: recompute
                    warnings.warn(f"experiment store: {path} is damaged ({type(exc).__name__}: {exc}); "
                                  "recomputing it", DamagedEntryWarning, stacklevel=2)
            value = compute()
            atomic_write(path, lambda fh: save(value, fh))
            atomic_write(digest_path, lambda fh: fh.write(sha256_file(path).encode()))
            atomic_write_json(stem.with_suffix(".json"), {"stage": name, "version": int(version), "key": key,
                                                          "identity": _plain(identity)})
            return value, key

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"


def _plain(obj: Any) -> Any:
    """``obj`` as JSON for people: plain values kept, anything else by its fingerprint."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and len(obj) <= 32:
        return [_plain(v) for v in obj]
    return {"fingerprint": fingerprint(obj)}

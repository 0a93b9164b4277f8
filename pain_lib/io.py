"""The one atomic writer of the library, and content checksums.

Every file the library writes (results, caches, the experiment store, checkpoints, generated
datasets) goes through :func:`atomic_write`: the bytes go to a uniquely named temporary file
in the target folder, are flushed to disk, and the file is renamed over the target. A reader
never sees a half-written file, two processes writing the same path never share a temporary
file, and an interrupted write leaves at most an ignored ``.*.tmp`` file behind.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "atomic_write_json", "sha256_bytes",
           "sha256_file", "CacheIntegrityWarning"]


class CacheIntegrityWarning(UserWarning):
    """A cache entry failed its content checksum (or could not be read); it was discarded and
    is recomputed.  The message names the file."""


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(fh)`` on a temporary binary file beside ``path``, then rename it to ``path``.

    ``write`` may be ``np.save``-like (``lambda fh: np.save(fh, a)``) or ``torch.save``-like.
    The file gets ordinary permissions (``0666 & ~umask``). Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if not isinstance(exc, (OSError, KeyboardInterrupt, SystemExit)) and _disk_full(path.parent):
            # a writer that hides the error of the disk (torch.save: "[enforce fail at
            # inline_container.cc] unexpected pos"): say what it was, naming the file
            raise OSError(errno.ENOSPC, "No space left on device", str(path)) from exc
        raise
    return path


def _disk_full(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return False
    return st.f_bavail * st.f_frsize < 1 << 20  # under 1 MiB left


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any, *, indent: int = 1, sort_keys: bool = False) -> Path:
    """Write ``obj`` as JSON (non-JSON values as their text) atomically."""
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, default=str, ensure_ascii=False)
    return atomic_write_text(path, text + "\n")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's content, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()

"""One line for every system error: what failed, on which path, and what to do.

The command line never shows a traceback for an error of the machine (a full disk, a read-only
file system, a symlink loop, a file where a folder should be, a missing permission): it prints
:func:`describe_os_error` of it. ``-v`` shows the traceback as well.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = ["describe_os_error", "shorten", "is_disk_full", "PathProblem", "check_folder"]

#: errno -> (what happened, what to do)
_ADVICE = {
    errno.ENOSPC: ("no space left on the device (the disk holding it is full)",
                   "free space on that disk, or write elsewhere (--results-dir DIR, or move the folder's environment variable)"),
    errno.EDQUOT: ("disk quota exceeded", "free space within your quota, or write elsewhere"),
    errno.EROFS: ("the file system is read-only", "use a folder on a writable file system"),
    errno.ELOOP: ("a symbolic-link loop (a link that points back at itself)",
                  "remove or repoint the link, or give a real folder"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "give a folder (or a new name) instead"),
    errno.EISDIR: ("it is a folder, not a file", "give a file instead"),
    errno.EACCES: ("permission denied", "make it writable (readable) for you, or use another folder"),
    errno.EPERM: ("operation not permitted", "make it writable for you, or use another folder"),
    errno.ENAMETOOLONG: ("the name is too long", "use a shorter path"),
    errno.ENOENT: ("it does not exist", "check the path (relative paths start at the current folder)"),
    errno.EEXIST: ("it already exists", "remove it or choose another name"),
    errno.ENOTEMPTY: ("the folder is not empty", "empty it or choose another folder"),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n) or run fewer notebooks at once (--jobs)"),
    errno.EIO: ("an input/output error of the device", "check the disk"),
}


def is_disk_full(exc: BaseException | str | None) -> bool:
    """Whether ``exc`` (an exception, or an error's text) is a full disk or quota."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    text = str(exc or "")
    return any(s in text for s in ("Errno 28]", "No space left on device", "no space left on the device", "Errno 122]"))


def describe_os_error(exc: OSError, *, path: str | os.PathLike | None = None, what: str = "") -> str:
    """One line for ``exc``: the path, what happened and what to do (no ``[Errno N]``)."""
    where = path if path is not None else (exc.filename if exc.filename is not None else "")
    where = str(where)
    if getattr(exc, "filename2", None):
        where += f" -> {exc.filename2}"
    happened, todo = _ADVICE.get(exc.errno, (exc.strerror or str(exc) or type(exc).__name__, ""))
    if exc.errno == errno.ENOSPC and where:
        where = f"{where} (disk of {_mount_point(where)})"
    head = f"{what} " if what else ""
    text = f"{head}{where}: {happened}" if where else f"{head}{happened}"
    return text + (f": {todo}" if todo else "")


def _mount_point(path: str) -> str:
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        while p != p.parent and not os.path.ismount(p):
            p = p.parent
    except OSError:
        pass
    return str(p)


def shorten(value: object, limit: int = 60, *, raw: bool = False) -> str:
    """``repr(value)`` (``raw``: ``str(value)``), cut to ``limit`` characters:
    ``'[[[[…' (3002 characters)``."""
    text = str(value) if raw else repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} characters)"


class PathProblem(ValueError):
    """A folder the run needs (from an option or the environment) cannot be used; the message
    is one line naming it, why and what to do."""


def check_folder(path: str | os.PathLike, what: str, *, write: bool = True) -> Path:
    """The absolute folder ``path`` after checking it can be used: created when missing,
    written to (a temporary file) when ``write``; else :class:`PathProblem` naming ``what``
    (e.g. ``"PAIN_LIB_CACHE"``) and the folder."""
    import tempfile

    raw = Path(path).expanduser()
    try:
        p = raw.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop before Python 3.13
        raise PathProblem(
            f"{what} {raw}: a symbolic-link loop (a link that points back at itself): remove or repoint the link, "
            f"or give a real folder") from (exc if isinstance(exc, OSError) else None)
    if p.exists() and not p.is_dir():
        raise PathProblem(f"{what} {p} is a file, not a folder: give a folder (or a new name)")
    try:
        p.mkdir(parents=True, exist_ok=True)
        if write:
            with tempfile.NamedTemporaryFile(dir=p, prefix=".pain-lib-write-check."):
                pass
        elif not os.access(p, os.R_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "permission denied", str(p))
    except OSError as exc:
        raise PathProblem(describe_os_error(exc, path=p, what=what)) from None
    return p

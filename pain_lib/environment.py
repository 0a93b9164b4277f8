"""The locked environment: which versions ``requirements/lock.txt`` pins, and whether this
interpreter has them.

``make setup`` installs the lock (hash-checked), so every machine runs the same packages. A
notebook started in another environment (a conda env, a hand-made venv, an upgraded torch)
still runs, but :func:`pain_lib.notebook.start` prints one warning line naming the packages
that change numbers and differ from the lock, and every result's provenance records the
lock file's SHA-256 (:func:`lock_sha256`).

The lock is uv's universal ``requirements.txt`` format: ``name==version ; marker`` lines with
``--hash`` options, one line per package and per group of Pythons / platforms.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .io import sha256_file
from .paths import project_root

__all__ = [
    "NUMERIC_PACKAGES",
    "LOCK_RELPATH",
    "LockedPin",
    "lock_path",
    "lock_sha256",
    "read_lock",
    "locked_versions",
    "installed_versions",
    "differences",
    "drift_warning",
    "check_environment",
]

#: the packages whose version changes the numbers a notebook computes
NUMERIC_PACKAGES = ("torch", "torchvision", "numpy", "opencv-python", "scikit-learn", "scipy")
#: the lock, relative to the project root
LOCK_RELPATH = "requirements/lock.txt"


@dataclass(frozen=True)
class LockedPin:
    name: str  # normalised (PEP 503)
    version: str
    marker: str  # "" when the pin holds everywhere
    hashes: tuple[str, ...]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_path(root: Path | None = None) -> Path:
    """``<project>/requirements/lock.txt`` (it may not exist outside a checkout)."""
    return (Path(root) if root is not None else project_root()) / LOCK_RELPATH


def lock_sha256(path: Path | None = None) -> str | None:
    """SHA-256 of the lock file, or None when there is none."""
    path = Path(path) if path is not None else lock_path()
    return sha256_file(path) if path.is_file() else None


def read_lock(path: Path | None = None) -> list[LockedPin]:
    """Every ``name==version`` line of the lock, with its marker and hashes."""
    from packaging.requirements import Requirement

    path = Path(path) if path is not None else lock_path()
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    pins = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line or line.startswith("-"):
            continue
        hashes = tuple(re.findall(r"--hash=(\w+:[0-9a-f]+)", line))
        spec = re.sub(r"--hash=\S+", "", line).strip()
        req = Requirement(spec)
        versions = [s.version for s in req.specifier if s.operator == "=="]
        if len(versions) != 1 or len(req.specifier) != 1:
            raise ValueError(f"{path}:{lineno}: {req.name} is not pinned with == ({spec!r})")
        pins.append(LockedPin(_normalise(req.name), versions[0], str(req.marker or ""), hashes))
    return pins


def locked_versions(
    path: Path | None = None,
    environment: Mapping[str, str] | None = None,
    pins: Iterable[LockedPin] | None = None,
) -> dict[str, str]:
    """name -> version the lock pins for ``environment`` (marker variables; default: this
    interpreter). Raises ``ValueError`` when two pins of one package both apply."""
    from packaging.markers import Marker

    out: dict[str, str] = {}
    for pin in pins if pins is not None else read_lock(path):
        if pin.marker and not Marker(pin.marker).evaluate(dict(environment) if environment else None):
            continue
        if pin.name in out and out[pin.name] != pin.version:
            raise ValueError(f"the lock pins {pin.name} twice for this environment: {out[pin.name]} and {pin.version}")
        out[pin.name] = pin.version
    return out


def installed_versions(names: Iterable[str] = NUMERIC_PACKAGES) -> dict[str, str | None]:
    """name -> installed version (None: not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[_normalise(name)] = version(name)
        except PackageNotFoundError:
            out[_normalise(name)] = None
    return out


def differences(installed: Mapping[str, str | None], locked: Mapping[str, str]) -> list[str]:
    """``"torch 2.15.0 (lock: 2.14.1)"`` for every package whose installed version is not the
    locked one (a local build tag such as ``+cpu`` counts as different: another binary)."""
    out = []
    for name, have in installed.items():
        want = locked.get(_normalise(name))
        if want is None:
            continue
        if have is None:
            out.append(f"{name} not installed (lock: {want})")
        elif have != want:
            out.append(f"{name} {have} (lock: {want})")
    return out


def drift_warning(installed: Mapping[str, str | None], locked: Mapping[str, str]) -> str | None:
    """The one warning line, or None when the packages that change numbers match the lock."""
    diff = differences(installed, locked)
    if not diff:
        return None
    return (
        f"pain-lib: warning: installed versions differ from {LOCK_RELPATH}: {', '.join(diff)}; "
        "numbers may differ from the committed results (`make setup` installs the locked versions)"
    )


def check_environment(*, file=None, root: Path | None = None) -> str | None:
    """Print (to ``file``, default stderr) and return the drift warning, if any.

    Silent when there is no lock (an installed package outside a checkout) or it cannot be
    read; never raises: a notebook must not fail over this check.
    """
    path = lock_path(root)
    if not path.is_file():
        return None
    try:
        message = drift_warning(installed_versions(), locked_versions(path))
    except Exception as exc:  # noqa: BLE001 - a malformed lock is reported, not fatal
        message = f"pain-lib: warning: cannot compare installed versions with {LOCK_RELPATH}: {exc}"
    if message:
        print(message, file=file if file is not None else sys.stderr)
    return message

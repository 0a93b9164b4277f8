"""Every folder the library reads or writes, and the environment variables that move them.

=====================  ===========================================  ==========================
what                   default                                      moved by
=====================  ===========================================  ==========================
project root           the folder above the installed package       ``PAIN_LIB_ROOT``
synthetic datasets     ``<root>/data/synth``                        ``PAIN_LIB_DATA``
caches (all of them)   ``<root>/cache``                             ``PAIN_LIB_CACHE``
  face crops           ``<cache>/data/<dataset>``
  representations      ``<cache>/preprocess``
experiment store       ``<cache>/experiments``                      ``PAIN_LIB_EXPERIMENTS``
results                ``<root>/results``                           ``--results-dir`` /
                                                                    ``output_dir``
=====================  ===========================================  ==========================

Provenance never records a machine's absolute paths: :func:`portable` writes a path
relative to the project, to the synthetic-data folder or to the cache (``<data>/...``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import PathProblem, check_folder

__all__ = [
    "package_checkout",
    "project_root",
    "synth_data_dir",
    "cache_root",
    "face_cache_dir",
    "preprocess_cache_dir",
    "experiments_dir",
    "results_dir",
    "manifests_dir",
    "portable",
    "ENV_FOLDERS",
    "check_environment_folders",
]

_PACKAGE_PARENT = Path(__file__).resolve().parents[1]


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    if not value:
        return None
    try:
        return Path(value).expanduser().resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop before Python 3.13
        raise PathProblem(f"{name}={value}: a symbolic-link loop (a link that points back at itself): "
                          f"remove or repoint the link, or point {name} at a real folder") from None


#: the environment variables that move a folder (see the table above)
ENV_FOLDERS = ("PAIN_LIB_ROOT", "PAIN_LIB_DATA", "PAIN_LIB_CACHE", "PAIN_LIB_EXPERIMENTS")


def check_environment_folders() -> dict[str, Path]:
    """Check every folder an environment variable moves, before a kernel starts: the project
    root must hold ``notebooks/registry.yaml``; the cache and the experiment store must be
    writable folders (created when missing); the synthetic-data folder must be a folder (it
    may be read-only: it is written only when a dataset must be generated). Raises
    :class:`~pain_lib.errors.PathProblem` (one line naming the variable and the folder);
    returns ``{variable: folder}`` of those set."""
    out = {}
    for name in ENV_FOLDERS:
        value = os.environ.get(name)
        if not value:
            continue
        if name == "PAIN_LIB_ROOT":
            root = _env_path(name)
            if not (root / "notebooks" / "registry.yaml").is_file():
                raise PathProblem(f"{name}={value}: {root} holds no notebooks/registry.yaml: point {name} at "
                                  "the project folder, or unset it")
            out[name] = root
        else:
            out[name] = check_folder(value, name, write=name != "PAIN_LIB_DATA")
    return out


def package_checkout() -> Path:
    """The folder holding this ``pain_lib`` package (a source checkout in an editable install)."""
    return _PACKAGE_PARENT


def project_root() -> Path:
    """The project folder holding ``notebooks/registry.yaml``.

    ``$PAIN_LIB_ROOT`` wins; else the folder above the installed package (editable install,
    the normal case); else the current folder.
    """
    env = _env_path("PAIN_LIB_ROOT")
    if env is not None:
        return env
    if (_PACKAGE_PARENT / "notebooks" / "registry.yaml").exists():
        return _PACKAGE_PARENT
    return Path.cwd().resolve()


def synth_data_dir() -> Path:
    """Where generated synthetic datasets live: ``$PAIN_LIB_DATA`` or ``<root>/data/synth``."""
    return _env_path("PAIN_LIB_DATA") or project_root() / "data" / "synth"


def cache_root() -> Path:
    """The root of every cache: ``$PAIN_LIB_CACHE`` or ``<root>/cache`` (git-ignored)."""
    return _env_path("PAIN_LIB_CACHE") or project_root() / "cache"


def face_cache_dir(tag: str) -> Path:
    """Decoded face crops of one dataset (``tag``: e.g. ``synth-unbc-standard``)."""
    return cache_root() / "data" / tag


def preprocess_cache_dir() -> Path:
    """Cached video representations (dynamic images, AHDI, SSD, flow, heart rate)."""
    return cache_root() / "preprocess"


def experiments_dir() -> Path:
    """The content-addressed experiment store shared by every notebook:
    ``$PAIN_LIB_EXPERIMENTS`` or ``<cache>/experiments``."""
    return _env_path("PAIN_LIB_EXPERIMENTS") or cache_root() / "experiments"


def results_dir() -> Path:
    """``<root>/results``: regenerated tables and figures (committed)."""
    return project_root() / "results"


def manifests_dir() -> Path:
    """``<root>/data_manifests`` (falls back to the copy beside the package)."""
    here = project_root() / "data_manifests"
    return here if here.is_dir() else _PACKAGE_PARENT / "data_manifests"


def portable(path: str | os.PathLike | None) -> str | None:
    """``path`` as provenance records it: relative to the project (``results/scn/x.csv``), or
    under a named base (``<data>/synth-unbc-standard``, ``<cache>/...``); other paths (a
    user's real dataset) keep only their last two parts (``.../UNBC/Images``)."""
    if path is None:
        return None
    p = Path(path).expanduser()
    p = p.resolve() if p.is_absolute() or p.exists() else p
    if not p.is_absolute():
        return p.as_posix()
    for name, base in (("<data>", synth_data_dir()), ("<cache>", cache_root()), ("", project_root())):
        try:
            rel = p.relative_to(base).as_posix()
        except ValueError:
            continue
        return f"{name}/{rel}" if name else (rel or ".")
    return ".../" + "/".join(p.parts[-2:])

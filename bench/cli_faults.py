"""Bad inputs and broken machines for the ``pain-lib`` command: each a case that must end in one
line naming what is wrong (no traceback), before a kernel starts.

Shared by ``tests/test_faults_cli.py`` (in-process, one test per case) and ``bench/faults.py``
(``make faults``: each case as a subprocess, its answer in ``results/benchmarks/faults.md``).
A case's ``setup(tmp)`` builds the state in ``tmp`` and returns the command line, the
environment to add and the strings the answer must contain. Cases marked ``mount`` need a
tmpfs mount (root on Linux); elsewhere they are skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OVERVIEW = "overview/00_paper_results"

PARAMS = (
    'dataset: str = "none"  # none\ndata_root: str = ""  # none\nprofile: str = "tiny"  # profile\n'
    'device: str = "cpu"  # device\nseed: int = 0  # seed\noutput_dir: str = "results"  # out'
)


@dataclass(frozen=True)
class Case:
    name: str
    setup: Callable[[Path], tuple[list[str], dict[str, str], list[str]]]
    rc: int = 2
    stream: str = "err"  # where the answer is: the error line on stderr, or the report on stdout
    mount: bool = False  # needs a tmpfs mount


# --------------------------------------------------------------------------- helpers
def can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and Path("/proc/mounts").exists()


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "64k", *, read_only: bool = False) -> Iterator[Path]:
    """A small tmpfs at ``path`` (read-only after setup with ``read_only``); unmounted after."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True, capture_output=True)
    try:
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


_MOUNTS: list[Path] = []


def mounted(path: Path, *, read_only: bool = False) -> Path:
    """Mount a tmpfs for a case (released by :func:`release_mounts`)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)], check=True, capture_output=True)
    _MOUNTS.append(path)
    if read_only:
        subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True)
    return path


def release_mounts() -> None:
    while _MOUNTS:
        subprocess.run(["umount", "-l", str(_MOUNTS.pop())], capture_output=True)


def loop(tmp: Path, name: str = "loop") -> Path:
    link = tmp / name
    link.symlink_to(link)
    return link


def notebook(path: Path, params: str = PARAMS, *, raw: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if raw is not None:
        path.write_text(raw)
        return
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "source": params,
         "outputs": [], "execution_count": None}]}
    path.write_text(json.dumps(nb))


def project(tmp: Path, registry: str | bytes | None = None, *, nb_raw: str | None = None,
            params: str = PARAMS) -> Path:
    """A project with one notebook ``t/01`` (or the given registry text) under ``tmp/proj``."""
    proj = tmp / "proj"
    notebook(proj / "notebooks" / "t" / "01.ipynb", params, raw=nb_raw)
    reg = proj / "notebooks" / "registry.yaml"
    if registry is None:
        registry = "notebooks:\n  - {id: t/01, path: t/01.ipynb, paper: t, artifacts: [], datasets: [none]}\n"
    if isinstance(registry, bytes):
        reg.write_bytes(registry)
    else:
        reg.write_text(registry)
    return proj


def _root(proj: Path) -> dict[str, str]:
    return {"PAIN_LIB_ROOT": str(proj)}


def _run_t01(tmp: Path) -> list[str]:
    return ["run", "t/01", "--profile", "tiny", "--results-dir", str(tmp / "r")]


def _overview(tmp: Path) -> list[str]:
    return ["run", OVERVIEW, "--profile", "tiny", "--results-dir", str(tmp / "r")]


# --------------------------------------------------------------------------- the cases
def _results_loop(tmp):
    link = loop(tmp)
    return ["run", OVERVIEW, "--profile", "tiny", "--results-dir", str(link)], {}, ["symbolic-link loop", str(link)]


def _synth_loop(tmp):
    link = loop(tmp)
    return ["synth", "--flavour", "synth-unbc", "--scale", "tiny", "--out", str(link)], {}, ["symbolic-link loop", str(link)]


def _root_loop(tmp):
    link = loop(tmp)
    return ["list"], {"PAIN_LIB_ROOT": str(link)}, ["PAIN_LIB_ROOT", "symbolic-link loop", str(link)]


def _synth_read_only(tmp):
    ro = mounted(tmp / "ro", read_only=True)
    return (["synth", "--flavour", "synth-unbc", "--scale", "tiny", "--out", str(ro / "unbc")], {},
            ["read-only", str(ro / "unbc")])


def _data_is_file(tmp):
    f = tmp / "data.txt"
    f.write_text("not a folder")
    return ["data", "prepare", "--profile", "tiny"], {"PAIN_LIB_DATA": str(f)}, ["PAIN_LIB_DATA", str(f), "is a file"]


def _data_read_only(tmp):
    ro = mounted(tmp / "ro", read_only=True)
    return ["data", "prepare", "--profile", "tiny"], {"PAIN_LIB_DATA": str(ro)}, ["PAIN_LIB_DATA", str(ro), "read-only"]


def _results_is_file(tmp):
    f = tmp / "results.txt"
    f.write_text("x")
    return ["run", OVERVIEW, "--profile", "tiny", "--results-dir", str(f)], {}, [str(f), "is a file"]


def _results_under_a_file(tmp):
    f = tmp / "file"
    f.write_text("x")
    return ["run", OVERVIEW, "--profile", "tiny", "--results-dir", str(f / "r")], {}, [str(f), "not a folder"]


def _yaml_syntax(tmp):
    proj = project(tmp, "notebooks:\n  - {id: t/01, path: t/01.ipynb\n  paper: [\n")
    return ["list"], _root(proj), ["registry.yaml", "line ", "YAML syntax error"]


def _registry_list(tmp):
    proj = project(tmp, "- id: t/01\n")
    return ["list"], _root(proj), ["registry.yaml", "must be a mapping", "list"]


def _entry_string(tmp):
    proj = project(tmp, "notebooks:\n  - t/01\n")
    return ["list"], _root(proj), ["registry.yaml", "entry 0 must be a mapping"]


def _datasets_int(tmp):
    proj = project(tmp, "notebooks:\n  - {id: t/01, path: t/01.ipynb, paper: t, artifacts: [], datasets: 7}\n")
    return ["list"], _root(proj), ["registry.yaml", "t/01", "'datasets' must be a list of strings"]


def _registry_empty(tmp):
    proj = project(tmp, "notebooks: []\n")
    return ["run", "t/01"], _root(proj), ["registry.yaml", "registers no notebooks"]


def _registry_binary(tmp):
    proj = project(tmp, bytes(range(256)) * 4)
    return ["list"], _root(proj), ["registry.yaml", "not UTF-8"]


def _nb_cells_int(tmp):
    proj = project(tmp, nb_raw='{"cells": 5}')
    return _run_t01(tmp), _root(proj), ["01.ipynb", "not a Jupyter notebook"]


def _nb_list(tmp):
    proj = project(tmp, nb_raw="[]")
    return _run_t01(tmp), _root(proj), ["01.ipynb", "not a Jupyter notebook"]


def _nb_truncated(tmp):
    proj = project(tmp)
    nb = proj / "notebooks" / "t" / "01.ipynb"
    nb.write_text(nb.read_text()[:60])
    return _run_t01(tmp), _root(proj), ["01.ipynb", "not valid JSON", "line 1"]


def _nb_unclosed_paren(tmp):
    proj = project(tmp, params=PARAMS + '\nextra: tuple = (1, 2  # unclosed')
    return _run_t01(tmp), _root(proj), ["01.ipynb", "parameters cell", "line 7", "syntax error"]


def _nb_missing(tmp):
    proj = project(tmp)
    (proj / "notebooks" / "t" / "01.ipynb").unlink()
    return _run_t01(tmp), _root(proj), ["01.ipynb", "does not exist"]


def _minus_signs(tmp):
    return [*_overview(tmp), "-p", "seed=" + "-" * 100_000 + "1"], {}, ["'seed'", "too long", "100001 characters"]


def _nested_brackets(tmp):
    return [*_overview(tmp), "-p", "seed=" + "[" * 3000], {}, ["'seed'", "must be int", "(3002 characters)"]


def _seed_overflow(tmp):
    return [*_overview(tmp), "-p", "seed=18446744073709551616"], {}, ["'seed'", "out of range", "4294967295"]


def _int_overflow_in_list(tmp):
    return (["run", "scn/01_table1_depth", "--profile", "tiny", "-p", f"network_sizes=[{2**70}]",
             "--results-dir", str(tmp / "r")], {},
            ["'network_sizes'", "out of range"])


def _experiments_file(tmp):
    f = tmp / "store.txt"
    f.write_text("x")
    return _overview(tmp), {"PAIN_LIB_EXPERIMENTS": str(f)}, ["PAIN_LIB_EXPERIMENTS", str(f), "is a file"]


def _cache_read_only(tmp):
    ro = mounted(tmp / "ro", read_only=True)
    return _overview(tmp), {"PAIN_LIB_CACHE": str(ro)}, ["PAIN_LIB_CACHE", str(ro), "read-only"]


def _cache_loop(tmp):
    link = loop(tmp)
    return _overview(tmp), {"PAIN_LIB_CACHE": str(link)}, ["PAIN_LIB_CACHE", "symbolic-link loop"]


def _only_empty(tmp):
    return ["reproduce", "--only", "", "--profile", "tiny", "--results-dir", str(tmp / "r")], {}, ["--only ''", "names no notebook"]


def _only_commas(tmp):
    return ["reproduce", "--only", " , ", "--profile", "tiny", "--results-dir", str(tmp / "r")], {}, ["names no notebook"]


def _check_interrupted(tmp):
    d = tmp / "UNBC"
    d.mkdir()
    (d / ".synth_in_progress.json").write_text(json.dumps({"flavour": "synth-unbc", "scale": "tiny", "seed": 0}))
    return ["data", "check", "--dataset", "unbc", "--root", str(d)], {}, ["PROBLEMS", "interrupted generation"]


def _data_map_unknown(tmp):
    return (["reproduce", "--data", "ucf=/x", "--profile", "tiny", "--results-dir", str(tmp / "r")], {},
            ["--data expects NAME=PATH", "'ucf=/x'"])


def _data_map_real_without_path(tmp):
    return (["reproduce", "-p", "dataset='unbc'", "--profile", "tiny", "--results-dir", str(tmp / "r")], {},
            ["'unbc'", "licensed", "data_root"])


CASES: list[Case] = [
    Case("--results-dir is a symlink loop", _results_loop),
    Case("synth --out is a symlink loop", _synth_loop),
    Case("PAIN_LIB_ROOT is a symlink loop", _root_loop),
    Case("synth --out on a read-only file system", _synth_read_only, mount=True),
    Case("PAIN_LIB_DATA is a file (data prepare)", _data_is_file),
    Case("PAIN_LIB_DATA on a read-only mount (data prepare)", _data_read_only, mount=True),
    Case("--results-dir is a file", _results_is_file),
    Case("--results-dir below a file", _results_under_a_file),
    Case("registry: YAML syntax error", _yaml_syntax),
    Case("registry: a list, not a mapping", _registry_list),
    Case("registry: an entry that is a string", _entry_string),
    Case("registry: datasets: 7", _datasets_int),
    Case("registry: empty", _registry_empty),
    Case("registry: binary file", _registry_binary),
    Case('notebook: {"cells": 5}', _nb_cells_int),
    Case("notebook: []", _nb_list),
    Case("notebook: truncated JSON", _nb_truncated),
    Case("notebook: unclosed ( in the parameters cell", _nb_unclosed_paren),
    Case("notebook: registered but missing", _nb_missing),
    Case("-p seed= with 100,000 minus signs", _minus_signs),
    Case("-p seed= with 3,000 nested [", _nested_brackets),
    Case("-p seed=18446744073709551616", _seed_overflow),
    Case("-p network_sizes=[2**70]", _int_overflow_in_list),
    Case("PAIN_LIB_EXPERIMENTS is a file", _experiments_file),
    Case("PAIN_LIB_CACHE on a read-only mount", _cache_read_only, mount=True),
    Case("PAIN_LIB_CACHE is a symlink loop", _cache_loop),
    Case("reproduce --only ''", _only_empty),
    Case("reproduce --only ' , '", _only_commas),
    Case("data check --dataset unbc on an interrupted generation", _check_interrupted, rc=1, stream="out"),
    Case("reproduce --data with an unknown dataset", _data_map_unknown),
    Case("reproduce -p dataset=unbc without data_root", _data_map_real_without_path),
]


def answer_line(stream_text: str, case: Case) -> str:
    """The line a case is judged by: the ``pain-lib: error:`` line, or (a report) its verdict
    and first problem."""
    lines = [ln for ln in stream_text.splitlines() if ln.strip()]
    if case.stream == "out":
        at = next((i for i, ln in enumerate(lines) if ln.startswith(("PROBLEMS", "OK"))), None)
        return " ".join(ln.strip() for ln in lines[at:at + 2]) if at is not None else ""
    errors = [ln for ln in lines if ln.startswith("pain-lib:")]
    return errors[0] if len(errors) == 1 else "\n".join(lines)

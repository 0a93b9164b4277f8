"""What ``pain-lib reproduce`` is about to do: the notebooks, profile, device and how long.

The estimate of a notebook is the median duration of its earlier successful runs with the same
profile on the same device type (``cpu``, ``cuda``, ``mps``) in ``results/runs.jsonl``; without
any, the shipped table ``pain_lib/timings.csv`` (``notebook,profile,device,seconds``, measured
on the reference machines); else there is none.
"""

from __future__ import annotations

import csv
import functools
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .config import PROFILES

__all__ = [
    "Estimate",
    "device_type",
    "cuda_available",
    "default_profile",
    "history",
    "shipped_timings",
    "estimate",
    "format_duration",
    "format_plan",
]

#: the profile ``make reproduce`` runs on a CUDA machine, when config.py defines it
GPU_PROFILE = "full"
CPU_PROFILE = "standard"


@dataclass(frozen=True)
class Estimate:
    notebook: str
    profile: str
    device: str
    seconds: float | None
    source: str  # "3 earlier runs", "timings.csv" or "no estimate"


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def device_type(device: str | None) -> str:
    """``cpu`` / ``cuda`` / ``mps`` for a device parameter (``auto`` picks as the notebook does:
    CUDA, then MPS, then the CPU; ``cuda:1`` is ``cuda``)."""
    if device and device != "auto":
        return device.split(":", 1)[0]
    from .config import resolve_device

    return resolve_device("auto").type


def default_profile(profiles: Iterable[str] | None = None, *, cuda: bool | None = None) -> str:
    """``full`` on a machine with CUDA when that profile exists, else ``standard``."""
    names = set(profiles if profiles is not None else PROFILES)
    if GPU_PROFILE in names and (cuda if cuda is not None else cuda_available()):
        return GPU_PROFILE
    return CPU_PROFILE


def history(runs_jsonl: Path) -> dict[tuple[str, str, str], list[float]]:
    """(notebook, profile, device type) -> durations of its successful runs.

    Records without a device (written before the runner recorded it) are left out; records of
    any age are read (the executed notebook's path absolute, as older runners wrote it, or
    relative to the results folder); lines that do not parse are skipped.
    """
    from .report import run_records

    out: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for rec in run_records(runs_jsonl):
        if rec.get("status") != "ok" or not rec.get("device") or not isinstance(rec.get("duration_s"), (int, float)):
            continue
        out[rec.get("id", ""), rec.get("profile", ""), rec["device"]].append(float(rec["duration_s"]))
    return out


@functools.lru_cache(maxsize=1)
def _shipped() -> dict[tuple[str, str, str], float]:
    with (resources.files("pain_lib") / "timings.csv").open("r", encoding="utf-8") as fh:
        return _read_timings(fh)


def _read_timings(lines: Iterable[str]) -> dict[tuple[str, str, str], float]:
    out = {}
    for row in csv.DictReader(line for line in lines if not line.startswith("#")):
        out[row["notebook"], row["profile"], row["device"]] = float(row["seconds"])
    return out


def shipped_timings(path: Path | None = None) -> dict[tuple[str, str, str], float]:
    """The table of measured times shipped with the package (or the CSV at ``path``)."""
    if path is None:
        return dict(_shipped())
    with Path(path).open("r", encoding="utf-8") as fh:
        return _read_timings(fh)


def estimate(
    runs: Iterable[tuple[str, str]],
    device: str,
    *,
    past: Mapping[tuple[str, str, str], list[float]] | None = None,
    table: Mapping[tuple[str, str, str], float] | None = None,
) -> list[Estimate]:
    """One :class:`Estimate` per ``(notebook id, profile)`` on device type ``device``."""
    past = past if past is not None else {}
    table = table if table is not None else shipped_timings()
    out = []
    for nb, profile in runs:
        key = (nb, profile, device)
        if past.get(key):
            n = len(past[key])
            out.append(Estimate(nb, profile, device, statistics.median(past[key]),
                                f"{n} earlier run{'s' if n > 1 else ''}"))
        elif key in table:
            out.append(Estimate(nb, profile, device, table[key], "timings.csv"))
        else:
            out.append(Estimate(nb, profile, device, None, "no estimate"))
    return out


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def format_plan(estimates: list[Estimate], *, device_asked: str | None = None) -> str:
    """The plan printed before a run: notebooks, profile(s), device, estimates and total."""
    if not estimates:
        return "nothing to run"
    profiles = sorted({e.profile for e in estimates})
    device = estimates[0].device
    asked = f" (asked: {device_asked})" if device_asked and device_asked != device else ""
    width = max(len(e.notebook) for e in estimates)
    lines = [f"{len(estimates)} notebook{'s' if len(estimates) > 1 else ''}, profile {', '.join(profiles)}, "
             f"device {device}{asked}; estimated time:"]
    for e in estimates:
        when = f"~{format_duration(e.seconds)}" if e.seconds is not None else "?"
        lines.append(f"  {e.notebook:<{width}}  {when:>13}  ({e.source})")
    known = [e.seconds for e in estimates if e.seconds is not None]
    missing = len(estimates) - len(known)
    total = f"~{format_duration(sum(known))}" if known else "?"
    note = f"  (+ {missing} without an estimate)" if missing and known else ""
    lines.append(f"  {'total':<{width}}  {total:>13}{note}")
    return "\n".join(lines)

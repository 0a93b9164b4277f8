"""``check_dataset(name, root)``: what a dataset folder holds, against its manifest.

Backs ``pain-lib data check --dataset NAME --root PATH``.  The report lists the layout
error (if any), the counts found (subjects, samples, frames) next to the manifest's, and
for generated data the generator marker and the label checksum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..paths import manifests_dir
from .base import DataLayoutError

__all__ = ["CheckReport", "check_dataset", "load_manifest", "manifest_dir"]


def manifest_dir() -> Path:
    """``<repo>/data_manifests``."""
    return manifests_dir()


def load_manifest(name: str) -> dict | None:
    """The manifest of dataset ``name`` (``None`` when the file is absent)."""
    p = manifest_dir() / f"{name}.yaml"
    return yaml.safe_load(p.read_text()) if p.is_file() else None


@dataclass
class CheckReport:
    """``ok`` is True when the layout reads and every count / checksum matches the manifest."""

    name: str
    root: Path
    ok: bool
    text: str
    counts: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.text


def _compare(found: dict, expected: dict | None, label: str, problems: list[str], lines: list[str]) -> None:
    for key, val in found.items():
        exp = (expected or {}).get(key)
        mark = "" if exp is None else ("  ok" if exp == val else f"  MISMATCH (manifest: {exp})")
        if exp is not None and exp != val:
            problems.append(f"{label}{key}: found {val}, manifest says {exp}")
        lines.append(f"  {label}{key:<10} {val}{mark}")


def check_dataset(name: str, root: str | Path) -> CheckReport:
    """Open dataset ``name`` at ``root`` and compare what is there with ``data_manifests/<name>.yaml``."""
    from . import DATASET_READERS, open_dataset

    if name not in DATASET_READERS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASET_READERS)}")
    root = Path(root).expanduser()
    manifest = load_manifest(name)
    lines = [f"dataset {name} at {root}"]
    problems: list[str] = []
    counts: dict = {}
    if manifest is None:
        lines.append(f"  (no manifest {manifest_dir() / (name + '.yaml')})")
    parts = [None]
    if name in ("biovid", "synth-biovid"):
        parts = [p for p, spec in (manifest or {}).get("parts", {"A": {}}).items()
                 if p == "A" or (root / spec.get("folder", f"Part{p}")).is_dir()]
    synth_marker = None
    if name.startswith("synth-"):
        from ..synth import read_marker

        synth_marker = read_marker(root)
        if synth_marker is None:
            problems.append(f"no completion marker {root / '.synth_complete.json'}: generation missing or interrupted")
    for part in parts:
        label = f"Part{part}." if part else ""
        try:
            ds = open_dataset(name, root, **({"part": part} if part else {}))
        except DataLayoutError as e:
            problems.append(str(e).splitlines()[0])
            lines.append(f"  {label}layout: ERROR\n" + "\n".join("    " + ln for ln in str(e).splitlines()))
            continue
        found = ds.counts()
        counts.update({f"{label}{k}": v for k, v in found.items()})
        lines.append(f"  {label}layout: ok ({ds.root})")
        expected = None
        if manifest and not name.startswith("synth-"):
            expected = (manifest.get("parts", {}).get(part, {}).get("counts") if part else manifest.get("counts"))
        elif manifest and synth_marker:
            sc = manifest.get("scales", {}).get(synth_marker.get("scale"), {})
            if sc.get("seed") == synth_marker.get("seed"):
                expected = (sc.get("parts", {}).get(part, {}) if part else sc.get("counts"))
        _compare(found, expected, label, problems, lines)
    if synth_marker is not None:
        lines.append(f"  generator: version {synth_marker.get('generator_version')}, scale "
                     f"{synth_marker.get('scale')}, seed {synth_marker.get('seed')}")
        sc = (manifest or {}).get("scales", {}).get(synth_marker.get("scale"), {})
        from ..synth.writers import checksum

        digest = checksum(name, root)
        exp = sc.get("label_sha256") if sc.get("seed") == synth_marker.get("seed") and \
            sc.get("generator_version") == synth_marker.get("generator_version") else None
        if digest != synth_marker.get("label_sha256"):
            problems.append("label files changed since generation (checksum differs from the marker)")
        if exp is not None and exp != digest:
            problems.append(f"label checksum {digest[:12]} differs from the manifest's {exp[:12]}")
        lines.append(f"  labels sha256 {digest[:16]}" + ("" if exp is None else ("  ok" if exp == digest else "  MISMATCH")))
    ok = not problems
    lines.append("OK" if ok else "PROBLEMS:\n" + "\n".join(f"  - {p}" for p in problems))
    return CheckReport(name=name, root=root, ok=ok, text="\n".join(lines), counts=counts, problems=problems)

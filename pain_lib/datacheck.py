"""``check_dataset(name, root)``: what a dataset folder holds, against its manifest.

Backs ``pain-lib data check --dataset NAME --root PATH [--full] [--strict]``.  The report lists

* every layout and label problem (the readers run in ``collect_problems`` mode, so one bad
  label file does not hide the others; the first problem named is the first that differs);
* media that do not decode: the first and last frame of every video, and of every image
  sequence the first and last frame plus a sample of the others (``full``: every frame and
  every biosignal file, read completely);
* the counts found (subjects, samples, frames) next to the manifest's.  A correct layout
  holding fewer (or more) subjects than the full dataset is reported but passes; with
  ``strict`` a count mismatch is a problem;
* for generated data: the generator marker and the label checksum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .data.base import DataLayoutError, PainDataset, Sample
from .paths import manifests_dir

__all__ = ["CheckReport", "check_dataset", "load_manifest", "manifest_dir", "check_media",
           "IMAGE_SAMPLE_FRACTION"]

#: fraction of the inner frames of an image sequence decoded by a (not ``full``) check
IMAGE_SAMPLE_FRACTION = 0.05


def manifest_dir() -> Path:
    """``<repo>/data_manifests``."""
    return manifests_dir()


def load_manifest(name: str) -> dict | None:
    """The manifest of dataset ``name`` (``None`` when the file is absent)."""
    p = manifest_dir() / f"{name}.yaml"
    return yaml.safe_load(p.read_text()) if p.is_file() else None


@dataclass
class CheckReport:
    """``ok`` is True when the layout, labels and media read and (with ``strict``) every count
    matches the manifest.  ``problems``: one line each, the first is the first mismatch;
    ``count_mismatches``: counts that differ from the manifest (problems only when ``strict``)."""

    name: str
    root: Path
    ok: bool
    text: str
    counts: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    count_mismatches: list[str] = field(default_factory=list)
    media_checked: int = 0

    def __str__(self) -> str:
        return self.text


def _compare(found: dict, expected: dict | None, label: str, mismatches: list[str], lines: list[str]) -> None:
    for key, val in found.items():
        exp = (expected or {}).get(key)
        mark = "" if exp is None else ("  ok" if exp == val else f"  MISMATCH (manifest: {exp})")
        if exp is not None and exp != val:
            mismatches.append(f"{label}{key}: found {val}, manifest says {exp}")
        lines.append(f"  {label}{key:<10} {val}{mark}")


def _sample_indices(n: int, full: bool, rng: np.random.Generator) -> list[int]:
    """Frames of an ``n``-frame image sequence to decode: all, or first, last and a sample."""
    if full or n <= 2:
        return list(range(n))
    inner = np.arange(1, n - 1)
    k = min(len(inner), max(1, math.ceil(IMAGE_SAMPLE_FRACTION * len(inner))))
    return [0, *sorted(int(i) for i in rng.choice(inner, k, replace=False)), n - 1]


def _check_sample_media(s: Sample, full: bool, rng: np.random.Generator, problems: list[str]) -> int:
    """Decode the media of one sample (see module docstring), appending one line per file that
    fails to ``problems``; returns the frames decoded."""
    from .data.biovid import BIOSIGNAL_COLUMNS, read_biosignals
    from .data.unbc import load_landmarks
    from .data.video import verify_image, verify_video

    def attempt(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (DataLayoutError, OSError) as e:
            problems.append(str(e).splitlines()[0])
            return None

    done = 0
    if s.video is not None:
        done += attempt(verify_video, s.video, full=full) or 0
    elif not s.frames:
        problems.append(f"sample {s.sample_id!r} has no frames")
    else:
        shapes: dict[tuple[int, int], Path] = {}
        for i in _sample_indices(len(s.frames), full, rng):
            hw = attempt(verify_image, s.frames[i])
            if hw is not None:
                done += 1
                shapes.setdefault(hw, s.frames[i])
        if len(shapes) > 1:
            (a, pa), (b, pb) = list(shapes.items())[:2]
            problems.append(f"frame {str(pb)!r} has size {b}, frame {str(pa)!r} of the same sequence {a}")
    for key in ("depth_frames", "thermal_frames"):
        extra = s.meta.get(key) or []
        for i in _sample_indices(len(extra), full, rng):
            done += attempt(verify_image, extra[i]) is not None

    def biosignals(path: Path) -> None:
        if full:
            df = read_biosignals(path)
            if not np.isfinite(df.select_dtypes("number").to_numpy()).all():
                raise DataLayoutError(f"biosignal file {str(path)!r} holds non-finite values")
            return
        with open(path, errors="replace") as fh:
            header = fh.readline().strip().split("\t")
        missing = [c for c in BIOSIGNAL_COLUMNS if c not in header]
        if missing:
            raise DataLayoutError(f"biosignal file {str(path)!r} lacks column(s) {missing}; header is {header}")

    if s.physiology is not None:
        attempt(biosignals, s.physiology)
    if full and s.meta.get("landmark_files"):
        attempt(load_landmarks, s)
    return done


def check_media(ds: PainDataset, *, full: bool = False, seed: int = 0) -> tuple[dict, list[str], int]:
    """Decode the media of every sample of ``ds`` (see module docstring).

    Returns ``(counts, problems, frames decoded)``: counts of subjects, samples and frames of
    the samples whose media read, and one problem line per file that does not."""
    rng = np.random.default_rng(seed)
    problems: list[str] = []
    subjects: set[str] = set()
    samples = frames = decoded = 0
    for s in ds.samples:
        before = len(problems)
        try:
            n = s.n_frames
        except (DataLayoutError, OSError) as e:
            problems.append(str(e).splitlines()[0])
            continue
        decoded += _check_sample_media(s, full, rng, problems)
        if len(problems) > before:
            continue
        subjects.add(s.subject)
        samples += 1
        frames += n
    return {"subjects": len(subjects), "samples": samples, "frames": frames}, problems, decoded


def check_dataset(name: str, root: str | Path, *, full: bool = False, strict: bool = False) -> CheckReport:
    """Open dataset ``name`` at ``root`` and compare what is there with ``data_manifests/<name>.yaml``.

    ``full``: decode every frame (default: first and last of every video, a sample of images);
    ``strict``: counts that differ from the manifest's are problems (default: reported only).
    """
    from .data import DATASET_READERS, open_dataset

    if name not in DATASET_READERS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASET_READERS)}")
    root = Path(root).expanduser()
    manifest = load_manifest(name)
    lines = [f"dataset {name} at {root}"]
    problems: list[str] = []
    mismatches: list[str] = []
    counts: dict = {}
    media_checked = 0
    if manifest is None:
        lines.append(f"  (no manifest {manifest_dir() / (name + '.yaml')})")
    parts = [None]
    if name in ("biovid", "synth-biovid"):
        parts = [p for p, spec in (manifest or {}).get("parts", {"A": {}}).items()
                 if p == "A" or (root / spec.get("folder", f"Part{p}")).is_dir()]
    synth_marker = None
    synth_scale: dict = {}
    if name.startswith("synth-"):
        from .synth import COMPLETE_MARKER, read_marker

        synth_marker = read_marker(root)
        if synth_marker is None:
            problems.append(f"no completion marker {root / COMPLETE_MARKER}: generation missing or interrupted")
        elif manifest:
            sc = manifest.get("scales", {}).get(synth_marker.get("scale"), {})
            same = all(sc.get(k) == synth_marker.get(k) for k in ("seed", "generator_version", "params"))
            synth_scale = sc if same else {}
            if not same:
                lines.append("  (generated with another seed, generator version or parameters than the "
                             "manifest's: counts and label checksum not compared with it)")
    else:
        from .synth import COMPLETE_MARKER, PROGRESS_MARKER

        if (root / PROGRESS_MARKER).exists():
            problems.append(f"{root / PROGRESS_MARKER} is present: the folder holds an interrupted generation "
                            f"of a synthetic dataset (no {COMPLETE_MARKER}), not a copy of {name}; regenerate it "
                            "(pain-lib synth ... --out) or point --root at your copy of the real dataset")
    for part in parts:
        label = f"Part{part}." if part else ""
        try:
            ds = open_dataset(name, root, collect_problems=True, **({"part": part} if part else {}))
        except DataLayoutError as e:
            found_problems = e.problems + [e.mismatch] if e.problems else [e.mismatch]
            problems.extend(f"{label}{p}" if label else p for p in found_problems)
            lines.append(f"  {label}layout: ERROR\n" + "\n".join("    " + ln for ln in str(e).splitlines()))
            continue
        layout_problems = [f"{label}{p}" for p in ds.problems]
        problems.extend(layout_problems)
        found, media_problems, decoded = check_media(ds, full=full)
        media_checked += decoded
        problems.extend(f"{label}{p}" for p in media_problems)
        counts.update({f"{label}{k}": v for k, v in found.items()})
        lines.append(f"  {label}layout: " + ("ok" if not layout_problems else f"{len(layout_problems)} problem(s)")
                     + f" ({ds.root})")
        lines.append(f"  {label}media: decoded {decoded} frames ("
                     + ("every frame" if full else "first and last of every video / sequence, a sample of "
                        "the other images; --full decodes every frame") + ")"
                     + (f", {len(media_problems)} problem(s)" if media_problems else ", ok"))
        if layout_problems or media_problems:
            lines.append(f"  {label}(the counts below leave out the samples with problems)")
        expected = None
        if manifest and not name.startswith("synth-"):
            expected = (manifest.get("parts", {}).get(part, {}).get("counts") if part else manifest.get("counts"))
        elif synth_scale:
            expected = (synth_scale.get("parts", {}).get(part, {}) if part else synth_scale.get("counts"))
        _compare(found, expected, label, mismatches, lines)
    if synth_marker is not None:
        lines.append(f"  generator: version {synth_marker.get('generator_version')}, scale "
                     f"{synth_marker.get('scale')}, seed {synth_marker.get('seed')}")
        from .synth.writers import checksum

        digest = checksum(name, root)
        exp = synth_scale.get("label_sha256")
        if digest != synth_marker.get("label_sha256"):
            problems.append("label files changed since generation (checksum differs from the marker)")
        if exp is not None and exp != digest:
            problems.append(f"label checksum {digest[:12]} differs from the manifest's {exp[:12]}")
        lines.append(f"  labels sha256 {digest[:16]}" + ("" if exp is None else ("  ok" if exp == digest else "  MISMATCH")))
    if strict:
        problems.extend(mismatches)
    ok = not problems
    if ok:
        lines.append("OK" + (f" (counts differ from the manifest's -- a partial copy? --strict makes that "
                             f"an error: {'; '.join(mismatches)})" if mismatches else ""))
    else:
        lines.append(f"PROBLEMS ({len(problems)}):\n" + "\n".join(f"  - {p}" for p in problems))
    return CheckReport(name=name, root=root, ok=ok, text="\n".join(lines), counts=counts, problems=problems,
                       count_mismatches=mismatches, media_checked=media_checked)

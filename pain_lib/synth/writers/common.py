"""Shared pieces of the flavour writers: seeds, parallel subjects, truth sidecar, label checksums.

Seeds: every subject and every recording gets its own ``numpy.random.SeedSequence`` keyed by
``(seed, flavour key, subject index[, item index])`` -- never by a running counter -- so a
dataset with fewer subjects is exactly the first subjects of a larger one.

Truth sidecar (what the real layouts have no place for)::

    <dataset root>/synth_truth/index.json        {"fps", "au_names", "samples": {sample_id: {...}}}
    <dataset root>/synth_truth/<sample_id>.npz   per-frame arrays, see TRUTH_ARRAYS
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...io import atomic_write_text
from ..facs import AU_ORDER
from ..scales import FLAVOUR_KEYS, ScaleParams
from ..sequence import SequencePlan

__all__ = ["SubjectJob", "rng_for", "run_subjects", "write_truth", "write_truth_index",
           "label_checksum", "TRUTH_DIR", "TRUTH_ARRAYS", "fmt_float", "atomic_write_text"]

TRUTH_DIR = "synth_truth"
#: arrays of a truth ``.npz``: name -> layout
TRUTH_ARRAYS = {
    "au": "(T, 10) float32 continuous AU intensity 0-5 (AU43/AU45: eye closure 0-1), order au_names",
    "au_coded": "(T, 10) int8 FACS codes written to the labels (AU43/AU45 0/1)",
    "au_names": "(10,) str",
    "pspi": "(T,) float32 PSPI from the coded AUs",
    "envelope": "(T,) float32 pain envelope 0-1",
    "hr": "(T,) float32 heart rate at each frame, bpm",
    "pulse": "(T,) float32 blood-volume pulse rendered into the skin (about -1..1)",
    "landmarks": "(T, 68, 2) float32 iBUG-68 landmarks, frame pixels (x, y)",
    "pose": "(T, 5) float32 tx, ty (px), roll (deg), scale, yaw",
    "light": "(T, 2) float32 global gain, side-light gradient",
}


@dataclass(frozen=True)
class SubjectJob:
    """Everything a worker process needs to write one subject."""

    root: str
    flavour: str
    params: ScaleParams
    seed: int
    index: int


def rng_for(seed: int, flavour: str, *key: int) -> np.random.Generator:
    """Generator for ``(seed, flavour, *key)``: independent of how many subjects/items exist."""
    ss = np.random.SeedSequence(seed, spawn_key=(FLAVOUR_KEYS[flavour], *key))
    return np.random.default_rng(ss)


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def run_subjects(fn: Callable[[SubjectJob], Any], jobs: Sequence[SubjectJob], *, workers: int,
                 progress: bool, desc: str) -> list[Any]:
    """Run ``fn`` over ``jobs`` (in worker processes when ``workers > 1``), results in job order."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc=desc, unit="subject", disable=not progress)
    results: list[Any] = [None] * len(jobs)
    try:
        if workers <= 1:
            for i, job in enumerate(jobs):
                results[i] = fn(job)
                bar.update()
        else:
            ctx = mp.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker) as ex:
                futures = {ex.submit(fn, job): i for i, job in enumerate(jobs)}
                from concurrent.futures import as_completed

                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.update()
    finally:
        bar.close()
    return results


def write_truth(root: Path, sample_id: str, plan: SequencePlan, **scalars: Any) -> dict:
    """Write ``synth_truth/<sample_id>.npz`` for a rendered plan; return its index entry."""
    d = root / TRUTH_DIR
    d.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        d / f"{sample_id}.npz",
        au=plan.au_matrix().astype(np.float32),
        au_coded=plan.coded_matrix().astype(np.int8),
        au_names=np.array(AU_ORDER),
        pspi=plan.pspi.astype(np.float32),
        envelope=plan.envelope.astype(np.float32),
        hr=plan.physiology.frame_hr.astype(np.float32),
        pulse=plan.physiology.frame_pulse.astype(np.float32),
        landmarks=plan.landmarks.astype(np.float32),
        pose=plan.pose_array().astype(np.float32),
        light=plan.light.astype(np.float32),
    )
    spec = plan.spec
    entry = {
        "n_frames": spec.n_frames,
        "fps": spec.fps,
        "speed": spec.speed,
        "posed": bool(spec.posed),
        "level": float(spec.level),
        "face_response": bool(len(spec.episodes) > 0),
        "episodes": [[e.start, e.rise, e.hold, e.fall, e.peak] for e in spec.episodes],
        "hr_mean": float(plan.physiology.frame_hr.mean()),
        "max_pspi": float(plan.pspi.max()) if len(plan.pspi) else 0.0,
    }
    entry.update(scalars)
    return entry


def write_truth_index(root: Path, entries: dict[str, dict], **header: Any) -> None:
    """Write ``synth_truth/index.json`` (sample_id -> scalars) for a dataset root."""
    d = root / TRUTH_DIR
    d.mkdir(parents=True, exist_ok=True)
    doc = {"au_names": list(AU_ORDER), "arrays": TRUTH_ARRAYS, **header, "samples": entries}
    atomic_write_text(d / "index.json", json.dumps(doc, indent=1, sort_keys=False))


def label_checksum(root: Path, patterns: Iterable[str]) -> str:
    """SHA-256 over the sorted relative paths and bytes of the files matching ``patterns``."""
    h = hashlib.sha256()
    files = sorted({p for pat in patterns for p in root.glob(pat) if p.is_file()})
    for p in files:
        h.update(p.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()


def fmt_float(x: float) -> str:
    """Number format of the UNBC text label files (``%15.7e``)."""
    return f"{x:15.7e}"



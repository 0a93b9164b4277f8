"""Flavour writers: each writes one subject at a time (in worker processes) and then the
dataset-level files (index tables, truth index).  ``WRITERS[flavour]`` is a :class:`Writer`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..scales import ScaleParams
from . import biovid, mint, unbc
from .common import SubjectJob, atomic_write_text, label_checksum, write_truth_index

__all__ = ["Writer", "WRITERS"]


@dataclass(frozen=True)
class Writer:
    """How to write a flavour: per-subject function, finaliser, label files, frame estimate."""

    subject: Callable[[SubjectJob], dict]
    finalize: Callable[[Path, ScaleParams, list[dict]], dict[str, int]]
    label_patterns: tuple[str, ...]
    frames: Callable[[ScaleParams], float]


def _finalize_unbc(root: Path, p: ScaleParams, results: list[dict]) -> dict[str, int]:
    truth = {k: v for r in results for k, v in r["truth"].items()}
    write_truth_index(root, truth, flavour="synth-unbc", fps=p.fps)
    return {"subjects": len(results), "sequences": len(truth),
            "frames": sum(v["n_frames"] for v in truth.values())}


def _finalize_biovid(root: Path, p: ScaleParams, results: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {"subjects": len(results)}
    for part, folder in biovid.PARTS.items():
        rows = [row for r in results for row in r["rows"][part]]
        sp = root / folder / "starting_point"
        sp.mkdir(parents=True, exist_ok=True)
        lines = ["\t".join(biovid.SAMPLES_HEADER)] + ["\t".join(str(c) for c in row) for row in rows]
        atomic_write_text(sp / "samples.csv", "\n".join(lines) + "\n")
        truth = {k: v for r in results for k, v in r["truth"][part].items()}
        write_truth_index(root / folder, truth, flavour="synth-biovid", part=folder, fps=p.fps)
        counts[f"{part}_samples"] = len(rows)
        counts[f"{part}_frames"] = sum(v["n_frames"] for v in truth.values())
    return counts


def _finalize_mint(root: Path, p: ScaleParams, results: list[dict]) -> dict[str, int]:
    truth = {k: v for r in results for k, v in r["truth"].items()}
    write_truth_index(root, truth, flavour="synth-mint", fps=p.fps)
    # labels live in folder names: record the sweep listing as the label file
    listing = sorted(
        f"{v['subject']}/{k}\t{v['n_frames']}" for k, v in truth.items()
    )
    atomic_write_text(root / "synth_truth" / "sweeps.tsv", "\n".join(listing) + "\n")
    return {"subjects": len(results), "sweeps": len(truth),
            "frames": sum(v["n_frames"] for v in truth.values())}


WRITERS: dict[str, Writer] = {
    "synth-unbc": Writer(unbc.write_subject, _finalize_unbc, unbc.LABEL_PATTERNS,
                         lambda p: p.n_subjects * p.seqs_per_subject * sum(p.seq_frames) / 2),
    "synth-biovid": Writer(biovid.write_subject, _finalize_biovid, biovid.LABEL_PATTERNS,
                           lambda p: p.n_subjects * (len(p.genuine_levels) * p.windows_per_class + p.posed_per_subject)
                           * p.window_s * p.fps),
    "synth-mint": Writer(mint.write_subject, _finalize_mint, ("synth_truth/sweeps.tsv",),
                         lambda p: p.n_subjects * p.trials * 5 * p.sweeps_per_level
                         * sum(p.sweep_frames) / 2 * (2 if p.depth_thermal else 1)),
}


def checksum(flavour: str, root: Path) -> str:
    """SHA-256 of a generated dataset's label files."""
    return label_checksum(root, WRITERS[flavour].label_patterns)

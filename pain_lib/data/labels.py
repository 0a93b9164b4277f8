"""Label views over :class:`~pain_lib.data.base.Sample` lists.

* frame level: :func:`frame_pspi` ``(T,)``; :func:`pspi_levels` (PSPI -> ordinal levels);
* sequence level: :func:`sequence_label` (``max_pspi``, ``mean_pspi``, ``opr``, ``vas``,
  ``aff``, ``sen``, ``class``, ``level``, ``posed``);
* tasks: :func:`select_task` -- BioVid / MIntPAIN class pairs ``"4-0"`` (binary, the
  higher class = 1), ``"all-all"`` (5 classes), and ``"genuine-posed"``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .base import Sample

__all__ = ["frame_pspi", "sequence_label", "select_task", "pspi_levels", "TASK_PAIRS", "PSPI_LEVEL_EDGES"]

#: the ten pairwise tasks of the papers' tables, [4-0] ... [1-0]
TASK_PAIRS = ("4-0", "4-1", "4-2", "4-3", "3-0", "3-1", "3-2", "2-0", "2-1", "1-0")
#: PSPI -> 4 levels: 0 (no pain), 1 (PSPI 1), 2 (PSPI 2), 3 (PSPI >= 3)
PSPI_LEVEL_EDGES = (1.0, 2.0, 3.0)


def frame_pspi(sample: Sample) -> np.ndarray:
    """Per-frame PSPI ``(T,)`` float: the dataset's frame labels (UNBC ``Frame_Labels/PSPI``).
    A dataset without them (BioVid, MIntPAIN) raises ``KeyError`` -- never the simulator's truth,
    which a real copy does not have."""
    if "pspi" in sample.labels:
        return np.asarray(sample.labels["pspi"], float)
    raise KeyError(f"sample {sample.sample_id!r} has no frame PSPI labels (its labels: {sorted(sample.labels)}); "
                   "frame PSPI exists on UNBC-McMaster only")


def pspi_levels(pspi: np.ndarray, edges: Sequence[float] = PSPI_LEVEL_EDGES) -> np.ndarray:
    """Ordinal levels ``(T,)`` int: ``level = #edges <= pspi`` (default 0, 1, 2, >=3)."""
    return np.searchsorted(np.asarray(edges, float), np.asarray(pspi, float), side="right")


def sequence_label(sample: Sample, kind: str = "max_pspi") -> float:
    """One number per sample: ``max_pspi``, ``mean_pspi``, ``opr``, ``vas``, ``aff``, ``sen``,
    ``class``, ``level`` or ``posed``."""
    if kind == "max_pspi":
        return float(frame_pspi(sample).max())
    if kind == "mean_pspi":
        return float(frame_pspi(sample).mean())
    if kind == "level":
        kind = "level" if "level" in sample.labels else "class"
    if kind not in sample.labels:
        raise KeyError(f"sample {sample.sample_id!r} has no {kind!r} label; it has {sorted(sample.labels)}")
    return float(sample.labels[kind])


def select_task(samples: Sequence[Sample], task: str) -> tuple[list[Sample], np.ndarray]:
    """Samples and labels of a classification task.

    ``"i-j"`` (e.g. ``"4-0"``): samples of class i or j, label 1 for class i and 0 for j.
    ``"all-all"``: every sample, label = class 0-4.  ``"genuine-posed"``: label = posed flag.
    """
    if task == "all-all":
        return list(samples), np.array([int(s.labels["class"]) for s in samples], dtype=np.int64)
    if task == "genuine-posed":
        return list(samples), np.array([int(s.labels.get("posed", 0)) for s in samples], dtype=np.int64)
    m = re.fullmatch(r"(\d)-(\d)", task)
    if not m or m.group(1) == m.group(2):
        raise ValueError(f"unknown task {task!r}: use 'i-j' with two different classes 0-4 "
                         f"(e.g. '4-0'), 'all-all' or 'genuine-posed'")
    hi, lo = int(m.group(1)), int(m.group(2))
    chosen = [s for s in samples if int(s.labels["class"]) in (hi, lo)]
    return chosen, np.array([int(s.labels["class"] == hi) for s in chosen], dtype=np.int64)

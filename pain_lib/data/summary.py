"""Dataset summaries: the characteristics table (ssd Table 1) and representative samples.

:func:`dataset_characteristics` computes, from the readers, what the SSD paper's Table 1
prints per dataset -- Subjects, Videos, Stimuli, Classes -- in the long format
``row, column, metric, value, dataset`` that :meth:`pain_lib.notebook.Run.save_table` joins
with the paper's cells.  *Classes* is the number of distinct label values present: frame
PSPI values for UNBC-McMaster (the archive's frames reach PSPI 15, hence the paper's 16),
stimulus classes for BioVid, levels for MIntPAIN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..config import PAPER_DATASET_OF
from .base import PainDataset, Sample
from .labels import frame_pspi

__all__ = ["STIMULI", "dataset_characteristics", "pain_level", "apex_frame", "representative_samples",
           "representative_frames", "PSPI_BINS"]

#: frame PSPI -> 5 display levels: 0 / 1-2 / 3-5 / 6-8 / 9+
PSPI_BINS = (1, 3, 6, 9)

#: the stimulus of each reader, as the SSD paper's Table 1 words it
STIMULI = {"unbc": "Shoulder Pain", "biovid": "Induced Heat", "mint": "Electrical Stimulation"}


def _classes(ds: PainDataset) -> int:
    if ds.name == "unbc":
        return len(np.unique(np.concatenate([frame_pspi(s) for s in ds.samples])))
    return len({int(s.labels["class"]) for s in ds.samples})


def dataset_characteristics(datasets: Mapping[str, PainDataset], *, dataset_names: Mapping[str, str] | None = None
                            ) -> pd.DataFrame:
    """Long table ``row, column, metric, value, dataset, paper_dataset`` for ``{row label: dataset}``
    (``paper_dataset``: the papers' name of the dataset, so each row meets its paper value).

    ``dataset_names`` maps a row label to the ``dataset`` column value (e.g. ``synth-unbc``).
    """
    rows = []
    for label, ds in datasets.items():
        name = (dataset_names or {}).get(label, ds.name)
        cells = [("Subjects", "count", len(ds.subjects)), ("Videos", "count", len(ds.samples)),
                 ("Stimuli", "description", STIMULI.get(ds.name, "")), ("Classes", "count", _classes(ds))]
        paper_name = PAPER_DATASET_OF.get(ds.name, "")
        rows += [{"row": label, "column": c, "metric": m, "value": v, "dataset": name, "paper_dataset": paper_name}
                 for c, m, v in cells]
    return pd.DataFrame(rows)


def pain_level(sample: Sample) -> int:
    """A sample's pain level 0-4: its class (BioVid, MIntPAIN) or, for UNBC, its maximum
    PSPI binned 0 / 1-2 / 3-5 / 6-8 / 9+."""
    if "class" in sample.labels:
        return int(sample.labels["class"])
    return int(np.searchsorted(PSPI_BINS, frame_pspi(sample).max(), side="right"))


def apex_frame(sample: Sample) -> int:
    """Index of the most expressive frame: PSPI maximum (ties: the middle one), else the
    simulator's pain-envelope maximum, else the middle frame."""
    try:
        p = frame_pspi(sample)
        if p.max() > 0:
            top = np.flatnonzero(p == p.max())
            return int(top[len(top) // 2])
    except KeyError:
        pass
    truth = sample.meta.get("truth")
    if truth is not None and float(np.max(truth["envelope"])) > 0:
        return int(np.argmax(truth["envelope"]))
    return sample.n_frames // 2


def representative_samples(samples: Sequence[Sample], levels: Sequence[int] = (0, 1, 2, 3, 4), *,
                           seed: int = 0) -> dict[int, Sample | None]:
    """One sample per pain level (the most expressive of that level, ties broken by ``seed``)."""
    rng = np.random.default_rng(seed)
    out: dict[int, Sample | None] = {}
    for lv in levels:
        cands = [s for s in samples if pain_level(s) == lv]
        if not cands:
            out[lv] = None
            continue
        score = []
        for s in cands:
            try:
                score.append(float(frame_pspi(s).max()))
            except KeyError:
                score.append(0.0)
        best = np.flatnonzero(np.array(score) == max(score))
        out[lv] = cands[int(rng.choice(best))]
    return out


def representative_frames(samples: Sequence[Sample], levels: Sequence[int] = (0, 1, 2, 3, 4), *,
                          seed: int = 0) -> dict[int, tuple[Sample, int] | None]:
    """One ``(sample, frame index)`` per level.

    With frame labels (UNBC ``pspi``) the level is the *frame's* PSPI bin (``PSPI_BINS``) and
    a frame of that bin is drawn (seeded); otherwise the level is the sample's class and the
    frame its :func:`apex_frame`.
    """
    if samples and all("pspi" in s.labels for s in samples):
        rng = np.random.default_rng(seed)
        out: dict[int, tuple[Sample, int] | None] = {}
        bins = [np.searchsorted(PSPI_BINS, s.labels["pspi"], side="right") for s in samples]
        for lv in levels:
            cands = [(k, i) for k, b in enumerate(bins) for i in np.flatnonzero(b == lv)]
            if not cands:
                out[lv] = None
                continue
            k, i = cands[int(rng.integers(len(cands)))]
            out[lv] = (samples[k], int(i))
        return out
    reps = representative_samples(samples, levels, seed=seed)
    return {lv: (s, apex_frame(s)) if s is not None else None for lv, s in reps.items()}

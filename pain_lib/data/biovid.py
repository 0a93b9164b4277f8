"""BioVid Heat Pain database reader (parts A, B and the posed part; also reads ``synth-biovid``)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from .base import DataLayoutError, PainDataset, Sample

__all__ = ["BioVidDataset", "read_biosignals", "CLASS_IDS", "SAMPLES_COLUMNS", "BIOSIGNAL_COLUMNS"]

SAMPLES_COLUMNS = ("subject_id", "subject_name", "class_id", "class_name", "sample_id", "sample_name")
BIOSIGNAL_COLUMNS = ("time", "gsr", "ecg", "emg_trapezius")
#: stimulus class name -> level 0-4 (PP1-PP4: posed displays of intended intensity 1-4)
CLASS_IDS = {"BL1": 0, "PA1": 1, "PA2": 2, "PA3": 3, "PA4": 4,
             "PP1": 1, "PP2": 2, "PP3": 3, "PP4": 4}
#: default folder letter of the posed part (the AHDI paper calls it Part D; configurable)
POSED_PART = "D"


def read_biosignals(path: Path, columns: tuple[str, ...] = BIOSIGNAL_COLUMNS) -> pd.DataFrame:
    """A ``*_bio.csv`` file (TAB-separated, header row) as a DataFrame; ``time`` converted to
    seconds in a ``t`` column.  Columns are found by header name; a missing one raises
    :class:`DataLayoutError` naming the file."""
    try:
        df = pd.read_csv(path, sep="\t")
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise DataLayoutError(f"cannot read biosignal file {str(path)!r}: {e}") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataLayoutError(f"biosignal file {str(path)!r} lacks column(s) {missing}; header is "
                              f"{list(df.columns)} (expected TAB-separated {' '.join(columns)})")
    out = df[list(columns)].copy()
    if "time" in out:
        out["t"] = (out["time"] - out["time"].iloc[0]) / 1e6
    return out


class BioVidDataset(PainDataset):
    """BioVid Heat Pain Database, one part (A: 87 subjects x 5 classes x 20 windows = 8,700).

    ::

        <root>/Part<X>/starting_point/samples.csv      TAB: subject_id subject_name class_id class_name sample_id sample_name
        <root>/Part<X>/video/<subject_name>/<sample_name>.mp4                 e.g. video/071309_w_21/071309_w_21-BL1-081.mp4
        <root>/Part<X>/biosignals_raw/<subject_name>/<sample_name>_bio.csv    TAB: time gsr ecg emg_trapezius  (optional)
        <root>/Part<X>/biosignals_filtered/<subject_name>/<sample_name>_bio.csv                              (optional)

    ``root`` may be the folder holding ``PartA/``, ``PartD/``... or one part folder itself
    (the one holding ``starting_point/``).  One :class:`Sample` per 5.5 s window (25 fps).
    Labels: ``class`` (0-4: BL1, PA1-PA4), ``class_name``, ``posed`` (1 for the posed part).
    ``class_id`` must be an integer 0-4 that agrees with a known ``class_name`` (else a
    :class:`DataLayoutError` naming the line of ``samples.csv``).
    ``physiology`` is the filtered (or, with ``signals="raw"``, raw) biosignal file.
    Options: ``part`` (``"A"`` default, ``"B"``, ..., or ``"posed"``), ``posed_part`` (letter
    of the posed part, default ``"D"``), ``signals`` (``filtered`` / ``raw``), ``fps`` (25).
    """

    name = "biovid"
    paper_name = "BioVid"
    synthetic = "synth-biovid"
    LAYOUT = __doc__.split("::")[1].split("``root`` may")[0].rstrip() if __doc__ else ""

    def _part_letter(self) -> str:
        part = str(self.options.get("part", "A"))
        if part.lower() == "posed":
            return str(self.options.get("posed_part", POSED_PART)).upper()
        if part.lower().startswith("part"):
            part = part[4:]
        if len(part) != 1 or not part.isalpha():
            raise ValueError(f"BioVid part must be a letter (A, B, C, D, ...) or 'posed', got {part!r}")
        return part.upper()

    @property
    def part(self) -> str:
        return self._part_letter()

    @property
    def posed(self) -> bool:
        return str(self.options.get("part", "A")).lower() == "posed" or \
            self._part_letter() == str(self.options.get("posed_part", POSED_PART)).upper()

    def _locate(self, root: Path) -> Path:
        if (root / "starting_point").is_dir():
            return root
        letter = self._part_letter()
        for name in (f"Part{letter}", f"part{letter}", f"Part_{letter}", f"Part {letter}"):
            if (root / name).is_dir():
                return root / name
        found = sorted(p.name for p in root.iterdir())[:12]
        raise self.layout_error(
            f"no part folder Part{letter}/ (and no starting_point/ directly under the root); "
            f"found: {found}", root)

    def _validate(self) -> None:
        self.require(self.root / "starting_point" / "samples.csv", "index file starting_point/samples.csv")
        self.require(self.root / "video", "folder video/ (one folder per subject_name)")

    def _read_index(self) -> list[dict]:
        path = self.root / "starting_point" / "samples.csv"
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in SAMPLES_COLUMNS if c not in header]
            if missing:
                raise self.layout_error(
                    f"{path} lacks column(s) {missing}; its header is {header} (expected TAB-separated "
                    f"{' '.join(SAMPLES_COLUMNS)})")
            rows = [{k.strip(): (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
        if not rows:
            raise self.layout_error(f"{path} has a header but no rows")
        return rows

    def _read_samples(self) -> list[Sample]:
        signals = self.options.get("signals", "filtered")
        if signals not in ("filtered", "raw"):
            raise ValueError(f"signals must be 'filtered' or 'raw', got {signals!r}")
        samples = []
        for line, r in enumerate(self._read_index(), start=2):
            with self.problem_scope():
                samples.append(self._read_row(line, r, signals))
        return samples

    def _class_of(self, line: int, r: dict) -> int:
        """The class 0-4 of index row ``r`` (line ``line`` of samples.csv), checked."""
        where = f"starting_point/samples.csv line {line}"
        text, cname = r["class_id"], r["class_name"]
        try:
            cid = int(text)
        except ValueError:
            raise self.layout_error(f"{where}: class_id {text!r} is not an integer class 0-4"
                                    + (f" (class_name {cname!r})" if cname else "")) from None
        if not 0 <= cid <= 4:
            raise self.layout_error(f"{where}: class_id {cid} is outside 0-4 (BL1=0, PA1-PA4=1-4; "
                                    f"class_name {cname!r})")
        if cname in CLASS_IDS and CLASS_IDS[cname] != cid:
            raise self.layout_error(f"{where}: class_id {cid} contradicts class_name {cname!r} "
                                    f"(class {CLASS_IDS[cname]})")
        return cid

    def _read_row(self, line: int, r: dict, signals: str) -> Sample:
        fps = float(self.options.get("fps", 25.0))
        subj, name, cname = r["subject_name"], r["sample_name"], r["class_name"]
        cls = self._class_of(line, r)
        video = self.require(self.root / "video" / subj / f"{name}.mp4",
                             f"video of samples.csv line {line}")
        bio = {k: self.root / f"biosignals_{k}" / subj / f"{name}_bio.csv" for k in ("filtered", "raw")}
        return Sample(
            subject=subj, sample_id=name, frames=None, video=video, fps=fps,
            labels={"class": cls, "class_name": cname, "posed": int(self.posed)},
            physiology=bio[signals] if bio[signals].is_file() else None,
            meta={"part": self.part, "subject_id": r["subject_id"], "index_sample_id": r["sample_id"],
                  "biosignals_raw": bio["raw"] if bio["raw"].is_file() else None,
                  "biosignals_filtered": bio["filtered"] if bio["filtered"].is_file() else None},
        )

    def class_counts(self) -> dict[int, int]:
        """Number of samples per class 0-4."""
        c = np.bincount([s.labels["class"] for s in self.samples], minlength=5)
        return {i: int(n) for i, n in enumerate(c)}

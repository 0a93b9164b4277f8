"""UNBC-McMaster Shoulder Pain Expression Archive reader (also reads ``synth-unbc``)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from .base import DataLayoutError, PainDataset, Sample

__all__ = ["UNBCDataset", "read_facs_file", "read_number_file", "load_landmarks", "SEQUENCE_LABELS",
           "LABEL_RANGES"]

SEQUENCE_LABELS = ("AFF", "OPR", "SEN", "VAS")
#: valid ranges of the numeric labels (data_manifests/unbc.yaml, ``labels``)
LABEL_RANGES = {"PSPI": (0.0, 16.0), "OPR": (0.0, 5.0), "VAS": (0.0, 10.0), "AFF": (0.0, 15.0),
                "SEN": (0.0, 15.0)}
#: FACS intensity codes: 0 (absent), A-E coded 1-5 (AU43 / AU45 by presence)
FACS_INTENSITY = (0.0, 5.0)
_FRAME_EXT = (".png", ".jpg", ".jpeg", ".bmp")
_SUBJECT_RE = re.compile(r"^\d{3}-[a-z]{2}\d{3}$")


def read_number_file(path: Path, *, valid: tuple[float, float] | None = None, what: str = "label") -> float:
    """First number of a one-number text file (PSPI frame label, sequence label).

    Raises :class:`DataLayoutError` naming the file when it is empty, unreadable, does not
    start with a number, holds ``nan`` / ``inf``, or -- with ``valid=(lo, hi)`` -- a value
    outside ``lo..hi``."""
    try:
        text = Path(path).read_text(errors="replace").split()
    except OSError as e:
        raise DataLayoutError(f"{what} file {str(path)!r} cannot be read: {e}") from None
    if not text:
        raise DataLayoutError(f"{what} file {str(path)!r} is empty")
    try:
        value = float(text[0])
    except ValueError:
        raise DataLayoutError(f"{what} file {str(path)!r} does not start with a number: {text[0][:40]!r}") from None
    if not math.isfinite(value):
        raise DataLayoutError(f"{what} file {str(path)!r} holds {text[0]!r}, not a finite number")
    if valid is not None and not valid[0] <= value <= valid[1]:
        raise DataLayoutError(f"{what} file {str(path)!r} holds {value:g}, outside the valid range "
                              f"{valid[0]:g}-{valid[1]:g}")
    return value


def read_facs_file(path: Path) -> dict[int, float]:
    """FACS codes of one frame: ``{au: intensity}``; AU43 (eyes closed) present counts as 1.

    Raises :class:`DataLayoutError` naming the file for a line that does not parse, a
    non-finite value, an AU number that is not a positive integer, or an intensity outside 0-5."""
    out: dict[int, float] = {}
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError as e:
        raise DataLayoutError(f"FACS file {str(path)!r} cannot be read: {e}") from None
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        try:
            au_f, inten = float(parts[0]), float(parts[1]) if len(parts) > 1 else 1.0
        except ValueError:
            raise DataLayoutError(f"FACS file {str(path)!r}: cannot parse line {line[:60]!r}") from None
        if not (math.isfinite(au_f) and math.isfinite(inten)):
            raise DataLayoutError(f"FACS file {str(path)!r}: non-finite value in line {line[:60]!r}")
        au = int(round(au_f))
        if au < 1 or abs(au - au_f) > 1e-6:
            raise DataLayoutError(f"FACS file {str(path)!r}: AU number {parts[0]!r} is not a positive integer")
        if au not in (43, 45) and not FACS_INTENSITY[0] <= inten <= FACS_INTENSITY[1]:
            raise DataLayoutError(f"FACS file {str(path)!r}: AU{au} intensity {inten:g} is outside "
                                  f"{FACS_INTENSITY[0]}-{FACS_INTENSITY[1]}")
        out[au] = 1.0 if au in (43, 45) else inten
    return out


def load_landmarks(sample: Sample) -> np.ndarray:
    """AAM landmarks of a UNBC sample as ``(T, 66, 2)`` float (x, y) in frame pixels."""
    files = sample.meta.get("landmark_files")
    if not files:
        raise FileNotFoundError(f"sample {sample.sample_id!r} has no AAM_landmarks files")
    out = []
    for f in files:
        try:
            v = np.array(Path(f).read_text(errors="replace").split(), dtype=float)
        except (OSError, ValueError) as e:
            raise DataLayoutError(f"landmark file {str(f)!r} cannot be read as numbers: {e}") from None
        if v.size % 2 or v.size == 0:
            raise DataLayoutError(f"landmark file {str(f)!r} holds {v.size} values (expected x y pairs)")
        if not np.isfinite(v).all():
            raise DataLayoutError(f"landmark file {str(f)!r} holds non-finite values")
        out.append(v.reshape(-1, 2))
    if len({a.shape for a in out}) > 1:
        raise DataLayoutError(f"landmark files of sample {sample.sample_id!r} hold different numbers of points")
    return np.stack(out)


class UNBCDataset(PainDataset):
    """UNBC-McMaster Shoulder Pain Expression Archive (25 subjects, 200 sequences, 48,398 frames).

    ::

        <root>/Images/<subj>/<seq>/<seq><NNN>.png                  Images/042-ll042/ll042t1aaaff/ll042t1aaaff001.png
        <root>/Frame_Labels/PSPI/<subj>/<seq>/<seq><NNN>_facs.txt   one float: PSPI of the frame
        <root>/Frame_Labels/FACS/<subj>/<seq>/<seq><NNN>_facs.txt   "<au> <intensity> ..." per line
        <root>/AAM_landmarks/<subj>/<seq>/<seq><NNN>_aam.txt        66 points "x y"          (optional)
        <root>/Sequence_Labels/{AFF,OPR,SEN,VAS}/<subj>/<seq>.txt   one number each          (optional)

    One :class:`Sample` per sequence.  Labels: ``pspi`` ``(T,)``, ``max_pspi``, ``facs``
    ``{au: (T,)}`` (when FACS files exist), ``opr`` (0-5), ``vas`` (0-10), ``aff``, ``sen``
    (0-15).  ``meta["landmark_files"]`` lists the AAM files (:func:`load_landmarks`).
    Options: ``fps`` (default 30.0, the archive does not store it).
    """

    name = "unbc"
    paper_name = "UNBC-McMaster"
    synthetic = "synth-unbc"
    LAYOUT = __doc__.split("::")[1].split("One :class:")[0].rstrip() if __doc__ else ""

    def _validate(self) -> None:
        self.require(self.root / "Images", "folder Images/ (one folder per subject, e.g. Images/042-ll042)")
        self.require(self.root / "Frame_Labels", "folder Frame_Labels/ (with PSPI/ and FACS/)")
        self.require(self.root / "Frame_Labels" / "PSPI", "folder Frame_Labels/PSPI/")
        subjects = [d for d in sorted((self.root / "Images").iterdir()) if d.is_dir()]
        if not subjects:
            raise self.layout_error("Images/ holds no subject folders (expected e.g. Images/042-ll042/)")

    def _read_samples(self) -> list[Sample]:
        samples = []
        for subj_dir in sorted(d for d in (self.root / "Images").iterdir() if d.is_dir()):
            for seq_dir in sorted(d for d in subj_dir.iterdir() if d.is_dir()):
                with self.problem_scope():
                    samples.append(self._read_sequence(subj_dir.name, seq_dir))
        return samples

    def _read_sequence(self, subj: str, seq_dir: Path) -> Sample:
        fps = float(self.options.get("fps", 30.0))
        root = self.root
        seq = seq_dir.name
        frames = sorted(p for p in seq_dir.iterdir() if p.suffix.lower() in _FRAME_EXT)
        if not frames:
            raise self.layout_error(f"empty sequence folder Images/{subj}/{seq}/: no "
                                    f"{seq}NNN.png frames")
        stems = [p.stem for p in frames]
        pspi_dir = root / "Frame_Labels" / "PSPI" / subj / seq
        self.require(pspi_dir, f"PSPI label folder for sequence {seq}")
        pspi = np.array([read_number_file(self.require(pspi_dir / f"{s}_facs.txt", "PSPI label file"),
                                          valid=LABEL_RANGES["PSPI"], what="PSPI label")
                         for s in stems])
        labels: dict = {"pspi": pspi, "max_pspi": float(pspi.max())}
        facs_dir = root / "Frame_Labels" / "FACS" / subj / seq
        if facs_dir.is_dir():
            codes = [read_facs_file(self.require(facs_dir / f"{s}_facs.txt", "FACS label file"))
                     for s in stems]
            aus = sorted({au for c in codes for au in c})
            labels["facs"] = {au: np.array([c.get(au, 0.0) for c in codes]) for au in aus}
        for kind in SEQUENCE_LABELS:
            f = root / "Sequence_Labels" / kind / subj / f"{seq}.txt"
            if f.is_file():
                labels[kind.lower()] = read_number_file(f, valid=LABEL_RANGES[kind], what=f"{kind} label")
        meta: dict = {"n_frames": len(frames), "sequence": seq}
        lm_dir = root / "AAM_landmarks" / subj / seq
        if lm_dir.is_dir():
            meta["landmark_files"] = [lm_dir / f"{s}_aam.txt" for s in stems]
        return Sample(subject=subj, sample_id=seq, frames=frames, video=None, fps=fps,
                      labels=labels, physiology=None, meta=meta)

    @staticmethod
    def subject_name_ok(name: str) -> bool:
        """True for the archive's subject folder pattern ``NNN-xxNNN`` (e.g. ``042-ll042``)."""
        return bool(_SUBJECT_RE.match(name))

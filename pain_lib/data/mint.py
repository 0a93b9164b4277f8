"""MIntPAIN reader (RGB, depth and thermal sweeps; also reads ``synth-mint``)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .base import TRUTH_DIR, PainDataset, Sample

__all__ = ["MIntPAINDataset", "frame_time"]

_SUBJ_RE = re.compile(r"^Sub(\d+)\s+\S")
_TRIAL_RE = re.compile(r"^Annotated_data_Sub(\d+)_Trial(\d+)$")
_SWEEP_RE = re.compile(r"^Sub(\d+)_Trial(\d+)_Sweep(\d+)_Label(\d+)$")
_TIME_RE = re.compile(r"(\d{1,2})-(\d{2})-(\d{2})-(\d{1,3})\.\w+$")


def frame_time(path: Path) -> float | None:
    """Seconds since midnight from a ``<MOD>-HH-MM-SS-ms.jpg`` name (``None`` if no stamp)."""
    m = _TIME_RE.search(Path(path).name)
    if not m:
        return None
    h, mi, s, ms = (int(g) for g in m.groups())
    return h * 3600 + mi * 60 + s + ms / 1000


class MIntPAINDataset(PainDataset):
    """MIntPAIN: 20 subjects, 2 trials, sweeps labelled 0-4 (RGB 1920x1080, depth, thermal).

    ::

        <root>/Sub1 Daniel Simonsen/Annotated_data_Sub01_Trial01/Sub01_Trial01_Sweep01_Label0/RGB/RGB-HH-MM-SS-ms.jpg
                                                                                            /D/...   (optional)
                                                                                            /T/...   (optional)

    One :class:`Sample` per sweep (8-28 frames).  Labels: ``level`` and ``class`` (0-4,
    from the ``Label<N>`` token).  ``meta``: ``trial``, ``sweep``, ``depth_frames``,
    ``thermal_frames``.  ``fps`` is estimated from the frame time stamps (option ``fps``
    overrides; fallback 15).

    Every folder must parse: a folder under the root that is not ``Sub<k> <name>`` (other
    than ``synth_truth/`` and hidden ones), under a subject one that is not
    ``Annotated_data_Sub<k>_TrialNN``, under a trial one that is not a sweep, or a label
    outside 0-4 is a :class:`DataLayoutError` naming the folder and the expected pattern.
    """

    name = "mint"
    paper_name = "MIntPAIN"
    synthetic = "synth-mint"
    LAYOUT = __doc__.split("::")[1].split("One :class:")[0].rstrip() if __doc__ else ""

    def _subject_dirs(self) -> list[Path]:
        return sorted((d for d in self.root.iterdir() if d.is_dir() and _SUBJ_RE.match(d.name)),
                      key=lambda d: int(_SUBJ_RE.match(d.name).group(1)))

    def _validate(self) -> None:
        if not self._subject_dirs():
            found = sorted(p.name for p in self.root.iterdir())[:12]
            raise self.layout_error(f"no subject folders named like 'Sub1 Daniel Simonsen' under the root; "
                                    f"found: {found}")

    def _read_samples(self) -> list[Sample]:
        samples: list[Sample] = []
        # folders under the root that are not subjects are reported, not skipped
        for d in sorted(self.root.iterdir()):
            if d.is_dir() and not _SUBJ_RE.match(d.name) and d.name != TRUTH_DIR and not d.name.startswith("."):
                with self.problem_scope():
                    raise self.layout_error(
                        f"folder {d.name!r} under the root is not a subject folder: expected "
                        f"'Sub<k> <first name> <last name>' (e.g. 'Sub1 Daniel Simonsen')")
        for sdir in self._subject_dirs():
            with self.problem_scope():
                samples.extend(self._read_subject(sdir))
        return samples

    def _read_subject(self, sdir: Path) -> list[Sample]:
        k = int(_SUBJ_RE.match(sdir.name).group(1))
        trials = []
        for d in sorted(d for d in sdir.iterdir() if d.is_dir() and not d.name.startswith(".")):
            m = _TRIAL_RE.match(d.name)
            with self.problem_scope():
                if not m:
                    raise self.layout_error(f"folder '{sdir.name}/{d.name}' is not a trial folder: expected "
                                            f"'Annotated_data_Sub{k:02d}_TrialNN'")
                if int(m.group(1)) != k:
                    raise self.layout_error(f"trial folder '{sdir.name}/{d.name}' names subject "
                                            f"{int(m.group(1))}, but its subject folder is Sub{k}")
                trials.append(d)
        if not trials:
            raise self.layout_error(f"subject folder {sdir.name!r} holds no Annotated_data_SubNN_TrialNN/ folders")
        samples = []
        for tdir in trials:
            for wdir in sorted(d for d in tdir.iterdir() if d.is_dir() and not d.name.startswith(".")):
                with self.problem_scope():
                    samples.append(self._read_sweep(sdir, tdir, wdir))
        return samples

    def _read_sweep(self, sdir: Path, tdir: Path, wdir: Path) -> Sample:
        where = f"{sdir.name}/{tdir.name}/{wdir.name}"
        m = _SWEEP_RE.match(wdir.name)
        if not m:
            raise self.layout_error(f"unexpected folder {where!r} (expected SubNN_TrialNN_SweepNN_LabelN)")
        tm = _TRIAL_RE.match(tdir.name)
        if (int(m.group(1)), int(m.group(2))) != (int(tm.group(1)), int(tm.group(2))):
            raise self.layout_error(f"sweep folder {where!r} names subject {int(m.group(1))} trial "
                                    f"{int(m.group(2))}, but it lies in {tdir.name}")
        level = int(m.group(4))
        if not 0 <= level <= 4:
            raise self.layout_error(f"sweep folder {where!r}: label {level} is outside 0-4 "
                                    f"(expected SubNN_TrialNN_SweepNN_LabelN, N = pain level 0-4)")
        rgb_dir = self.require(wdir / "RGB", f"RGB/ folder of sweep {wdir.name}")
        frames = sorted(p for p in rgb_dir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if not frames:
            raise self.layout_error(f"empty sequence: {where}/RGB/ has no frames")
        times = [frame_time(p) for p in frames]
        if all(t is not None for t in times):
            order = np.argsort(times, kind="stable")
            frames = [frames[i] for i in order]
            times = [times[i] for i in order]
        fps_opt = self.options.get("fps")
        fps = float(fps_opt) if fps_opt else _fps_from_times(times)
        meta = {"trial": int(m.group(2)), "sweep": int(m.group(3)), "n_frames": len(frames),
                "frame_times": times}
        for key, mod in (("depth_frames", "D"), ("thermal_frames", "T")):
            md = wdir / mod
            if md.is_dir():
                meta[key] = sorted(md.iterdir(), key=lambda p: (frame_time(p) or 0, p.name))
        return Sample(subject=sdir.name, sample_id=wdir.name, frames=frames, video=None,
                      fps=fps, labels={"level": level, "class": level}, physiology=None, meta=meta)


def _fps_from_times(times: list[float | None], default: float = 15.0) -> float:
    if len(times) < 2 or any(t is None for t in times):
        return default
    span = float(times[-1]) - float(times[0])  # ms-rounded stamps: use the whole span
    return round((len(times) - 1) / span, 3) if span > 0 else default

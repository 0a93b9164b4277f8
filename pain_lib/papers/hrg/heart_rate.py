"""Heart rate and heart-rate-gain labels of the hrg paper (Fig. 4), from what a real copy of each
dataset has: the ECG of BioVid's biosignal files (R-peaks), else rPPG (POS) of the face video.

A heart rate needs seconds of signal. A BioVid window is 5.5 s (the whole window is used); a
MIntPAIN sweep is 8-28 frames at 15 fps (0.5-1.9 s), too short for any rPPG estimate, so a
sweep's rPPG heart rate is estimated over a window of ``context_s`` seconds of its trial's
frames centred on the sweep: one sinusoid fitted to the POS signals of all the sweeps in the
window, each with its own phase (:func:`segments_heart_rate`; the sweeps are filmed
separately, so their traces cannot be joined into one signal). The window spans neighbouring sweeps -- other pain levels -- so the
HRG of a sweep is smeared towards its neighbours'; the notebooks say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...data.base import Sample
from ...experiments.targets import HeartRateGain, sample_class

__all__ = ["TrialHeartRateGain", "trial_sweeps", "context_segments", "context_trace", "segments_heart_rate",
           "heart_rate_error"]


def trial_sweeps(sample: Sample) -> list[list[Path]] | None:
    """The RGB frame files of every sweep of ``sample``'s trial, in time order (MIntPAIN layout:
    ``<trial>/<sweep>/RGB/*.jpg``), or ``None`` for a sample that is not a sweep of a trial."""
    if not sample.frames or "trial" not in sample.meta:
        return None
    trial_dir = Path(sample.frames[0]).parent.parent.parent
    sweeps = []
    for d in sorted(p for p in trial_dir.iterdir() if p.is_dir()):
        rgb = d / "RGB"
        files = sorted(rgb.glob("*.jpg")) if rgb.is_dir() else []
        if files:
            sweeps.append(files)
    sweeps.sort(key=lambda fs: fs[0].name)  # timestamps run through the trial
    return sweeps


def _trace(files: Sequence[Path]) -> np.ndarray:
    import cv2

    from ...preprocess.rppg import rgb_trace

    return rgb_trace(np.stack([cv2.imread(str(f))[..., ::-1] for f in files]))


def context_segments(sample: Sample, context_s: float) -> list[np.ndarray]:
    """The skin-colour traces ``[(T_i, 3), ...]`` the rPPG heart rate of ``sample`` is estimated
    on: its own frames when they span ``context_s`` seconds (or it is not a sweep of a trial),
    else the sweeps of its trial within ``context_s`` seconds of frames centred on it (each
    sweep its own segment: sweeps are filmed separately, so the pulse's phase does not run on
    from one to the next)."""
    from ...data.video import read_clip
    from ...preprocess.rppg import rgb_trace

    sweeps = trial_sweeps(sample)
    need = int(round(context_s * sample.fps))
    own = [Path(f) for f in sample.frames] if sample.frames else None
    if sweeps is None or (own is not None and len(own) >= need):
        return [rgb_trace(read_clip(sample))]
    starts = np.cumsum([0] + [len(f) for f in sweeps])
    at = next((i for i, f in enumerate(sweeps) if own is not None and f[0] == own[0]), None)
    if at is None:
        raise ValueError(f"sample {sample.sample_id!r}: its frames are not among its trial's sweeps")
    centre = starts[at] + len(sweeps[at]) // 2
    lo = int(np.clip(centre - need // 2, 0, max(0, starts[-1] - need)))
    hi = lo + need
    return [_trace(f) for i, f in enumerate(sweeps) if starts[i] < hi and starts[i + 1] > lo]


def context_trace(sample: Sample, context_s: float) -> np.ndarray:
    """:func:`context_segments` concatenated ``(T, 3)`` (for plots)."""
    return np.concatenate(context_segments(sample, context_s))


def segments_heart_rate(segments: Sequence[np.ndarray], fps: float, method: str = "pos", *,
                        band: tuple[float, float] = (0.75, 3.0), step_bpm: float = 0.25) -> float:
    """Heart rate (bpm) of several short traces of one recording, each with its own pulse phase:
    the frequency ``f`` in ``band`` whose sinusoid, fitted to every segment's POS (or CHROM)
    signal with the segment's own amplitude and phase (least squares, a mean per segment),
    explains the most variance summed over the segments (a Lomb-Scargle periodogram summed over
    segments: each sub-second sweep holds about one beat, too little for a spectrum of its own).
    One segment long enough for a band-pass is :func:`pain_lib.preprocess.rppg.estimate_heart_rate`."""
    from ...preprocess.rppg import chrom_signal, estimate_heart_rate, pos_signal

    if len(segments) == 1 and len(segments[0]) >= 3 * fps:
        return float(estimate_heart_rate(segments[0], fps, method))
    bpm = np.arange(60 * band[0], 60 * band[1] + step_bpm / 2, step_bpm)
    w = 2 * np.pi * bpm / 60.0
    explained = np.zeros(len(bpm))
    used = 0
    for seg in segments:
        if len(seg) < 4:
            continue
        x = pos_signal(seg, fps, window_s=len(seg) / fps) if method == "pos" else chrom_signal(seg, fps)
        x = x - x.mean()
        if not np.any(x):
            continue
        t = np.arange(len(x)) / fps
        for j, wj in enumerate(w):
            basis = np.stack([np.cos(wj * t), np.sin(wj * t), np.ones_like(t)], 1)
            coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
            explained[j] += float(((basis @ coef) ** 2).sum()) / float((x**2).sum())
        used += 1
    if not used:
        raise ValueError("rPPG: no usable trace (segments shorter than 4 frames)")
    return float(bpm[np.argmax(explained)])


@dataclass(frozen=True)
class TrialHeartRateGain(HeartRateGain):
    """:class:`~pain_lib.experiments.HeartRateGain` whose rPPG heart rate is estimated over
    ``context_s`` seconds of the trial's recording around a sample that is shorter (see the
    module docstring); the ECG path is unchanged, except that with ``source="auto"`` a sample whose
    ECG has fewer than two R-peaks falls back to rPPG (its source says so)."""

    context_s: float = 6.0

    def heart_rates(self, samples: Sequence[Sample]) -> tuple[np.ndarray, list[str]]:
        from ...preprocess.cache import FeatureCache

        cache = FeatureCache()
        out, where = [], []
        for s in samples:
            use_ecg = self.source == "ecg" or (self.source == "auto" and s.physiology is not None)
            if use_ecg:
                try:
                    hr, w = super().heart_rates([s])
                except ValueError:  # an ECG without two R-peaks (a short or noisy window)
                    if self.source == "ecg":
                        raise
                else:
                    out.append(float(hr[0]))
                    where.append(w[0])
                    continue
            kind = f"rppg-{self.method}"
            value = cache.get_or_compute(
                "heart_rate_context", s, {"version": 3, "source": kind, "context_s": float(self.context_s)},
                lambda s=s: np.float64(segments_heart_rate(context_segments(s, self.context_s), s.fps, self.method)))
            out.append(float(value))
            where.append(kind)
        return np.asarray(out), where


def heart_rate_error(samples: Sequence[Sample], *, method: str = "pos") -> dict[str, float]:
    """rPPG against ECG heart rate on samples that have both (BioVid): ``mae`` (bpm), ``rmse``,
    ``pcc``, the PCC of the two HRGs and ``n``."""
    from ...preprocess.hrg import heart_rate_gain

    both = []
    for s in samples:  # the videos whose ECG gives a heart rate (two R-peaks at least)
        if s.physiology is not None:
            try:
                TrialHeartRateGain(source="ecg").heart_rates([s])
            except ValueError:
                continue
            both.append(s)
    if not both:
        return {"mae": np.nan, "rmse": np.nan, "pcc": np.nan, "hrg_pcc": np.nan, "n": 0}
    ecg, _ = TrialHeartRateGain(source="ecg").heart_rates(both)
    rppg, _ = TrialHeartRateGain(source="rppg", method=method).heart_rates(both)
    subj, lv = [s.subject for s in both], [sample_class(s) for s in both]
    err = rppg - ecg
    out = {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err**2).mean())),
           "pcc": float(np.corrcoef(ecg, rppg)[0, 1]) if len(both) > 2 else np.nan, "n": len(both)}
    try:
        g1, g2 = heart_rate_gain(ecg, subj, lv), heart_rate_gain(rppg, subj, lv)
        out["hrg_pcc"] = float(np.corrcoef(g1, g2)[0, 1])
    except ValueError:
        out["hrg_pcc"] = np.nan
    return out

"""Heart-rate gain (HRG; hrg Sec. III-B-3).

``HRG = HR / mean(HR of the same subject's no-pain videos)``, then normalised to [0, 1].
The heart rate comes from the ECG when the dataset has one (BioVid) and from rPPG of the
face video otherwise (MIntPAIN, UNBC): :func:`sample_heart_rate`.

Interpretation choices: the [0, 1] normalisation is min-max, fitted on the training set only
and applied unchanged to the test set (:class:`HRGNormalizer`; test values outside the
training range are clipped by default); "no-pain" means pain level 0 (BioVid BL1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["heart_rate_gain", "HRGNormalizer", "sample_heart_rate"]


def heart_rate_gain(hr: Sequence[float], subjects: Sequence, pain: Sequence, *, no_pain=0) -> np.ndarray:
    """HRG of every sample: its heart rate over the mean heart rate of its subject's samples
    with ``pain == no_pain``.  Raises ``ValueError`` naming the subjects without any no-pain
    sample."""
    hr = np.asarray(hr, np.float64)
    subjects = np.asarray(subjects)
    pain = np.asarray(pain)
    if not (hr.ndim == 1 and hr.shape == subjects.shape == pain.shape):
        raise ValueError(
            f"hr, subjects, pain: expected three 1-D arrays of one length; got shapes "
            f"{hr.shape}, {subjects.shape}, {pain.shape}"
        )
    if not np.isfinite(hr).all() or (hr <= 0).any():
        raise ValueError("hr: expected finite positive heart rates (bpm)")
    out = np.empty_like(hr)
    missing = []
    for s in np.unique(subjects):
        sel = subjects == s
        base = sel & (pain == no_pain)
        if not base.any():
            missing.append(str(s))
            continue
        out[sel] = hr[sel] / hr[base].mean()
    if missing:
        raise ValueError(f"no no-pain (pain == {no_pain!r}) sample for subject(s): {', '.join(missing)}")
    return out


class HRGNormalizer:
    """Min-max scaling of HRG values to [0, 1], fitted on the training set.

    >>> norm = HRGNormalizer().fit(train_hrg)
    >>> test01 = norm.transform(test_hrg)      # same min/max as training; clipped to [0, 1]
    """

    def __init__(self, clip: bool = True):
        self.clip = clip
        self.min_: float | None = None
        self.max_: float | None = None

    def fit(self, values) -> HRGNormalizer:
        v = np.asarray(values, np.float64).ravel()
        if v.size == 0 or not np.isfinite(v).all():
            raise ValueError("HRGNormalizer.fit: expected a non-empty array of finite HRG values")
        self.min_, self.max_ = float(v.min()), float(v.max())
        return self

    def _check_fitted(self):
        if self.min_ is None:
            raise ValueError("HRGNormalizer: call fit() on the training HRG values first")

    def transform(self, values) -> np.ndarray:
        self._check_fitted()
        v = np.asarray(values, np.float64)
        span = self.max_ - self.min_
        out = (v - self.min_) / span if span > 0 else np.zeros_like(v)
        return np.clip(out, 0.0, 1.0) if self.clip else out

    def fit_transform(self, values) -> np.ndarray:
        return self.fit(values).transform(values)

    def inverse_transform(self, values) -> np.ndarray:
        self._check_fitted()
        return np.asarray(values, np.float64) * (self.max_ - self.min_) + self.min_

    def state_dict(self) -> dict:
        return {"min": self.min_, "max": self.max_, "clip": self.clip}

    @classmethod
    def from_state_dict(cls, d: dict) -> HRGNormalizer:
        n = cls(clip=d.get("clip", True))
        n.min_, n.max_ = d["min"], d["max"]
        return n

    def __repr__(self) -> str:
        return f"HRGNormalizer(min={self.min_}, max={self.max_}, clip={self.clip})"


def sample_heart_rate(
    *,
    ecg=None,
    fs: float = 512,
    frames=None,
    fps: float | None = None,
    method: str = "pos",
    mask=None,
) -> tuple[float, str]:
    """Heart rate (bpm) of one sample and where it came from: ``(hr, "ecg")`` when an ECG is
    given, else ``(hr, "rppg-<method>")`` from ``frames`` ``(T,H,W,3)`` uint8 RGB at ``fps``."""
    from .ecg import ecg_heart_rate
    from .rppg import estimate_heart_rate, rgb_trace

    if ecg is not None:
        return ecg_heart_rate(ecg, fs), "ecg"
    if frames is None or fps is None:
        raise ValueError("sample_heart_rate: give an ECG, or frames and their fps")
    return estimate_heart_rate(rgb_trace(frames, mask), fps, method), f"rppg-{method}"

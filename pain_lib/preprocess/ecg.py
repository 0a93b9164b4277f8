"""Heart rate from ECG (BioVid's biosignals are sampled at 512 Hz).

R-peaks by neurokit2 (``ecg_clean`` then ``ecg_peaks``, its default method); the heart rate of
a window is ``60 / median(RR)``: the median RR interval is robust to one missed or spurious
peak in a 5.5 s window, where a mean would be pulled by ~20 %.
"""

from __future__ import annotations

import numpy as np

from ._validate import _check_signal

__all__ = ["r_peaks", "ecg_heart_rate"]


def r_peaks(ecg, fs: float = 512) -> np.ndarray:
    """Sample indices of the R-peaks of a 1-D ECG ``(N,)``."""
    import neurokit2 as nk

    if not fs > 0:
        raise ValueError(f"fs must be a positive sampling rate, got {fs!r}")
    x = _check_signal(ecg, name="ecg", ndim=1, min_len=int(fs))
    if np.ptp(x) == 0:
        raise ValueError("ecg: the signal is constant (no R-peaks)")
    cleaned = nk.ecg_clean(x, sampling_rate=fs)
    _, info = nk.ecg_peaks(cleaned, sampling_rate=fs)
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)


def ecg_heart_rate(ecg, fs: float = 512) -> float:
    """Heart rate (bpm) of an ECG window ``(N,)`` sampled at ``fs`` Hz (``N >= fs``).

    Raises ``ValueError`` when fewer than two R-peaks are found.
    """
    peaks = r_peaks(ecg, fs)
    if peaks.size < 2:
        raise ValueError(f"ecg: found {peaks.size} R-peak(s); need at least 2 for a heart rate")
    rr = np.diff(peaks) / float(fs)
    return float(60.0 / np.median(rr))

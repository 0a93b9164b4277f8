"""Shared helpers for the data-layer tests: tiny generated datasets, reused across test modules.

``tiny_root(tmp_path_factory, flavour)`` generates the flavour once per test session (the
completion marker makes ``synth.ensure`` reuse it from any module).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pain_lib import synth


def tiny_root(tmp_path_factory, flavour: str) -> Path:
    base = tmp_path_factory.getbasetemp() / "synth-tiny"
    return synth.ensure(flavour, "tiny", base / flavour, progress=False)


def pos_heart_rate(rgb: np.ndarray, fps: float) -> float:
    """Minimal POS (Wang et al. 2017) + zero-padded FFT peak; used when
    ``pain_lib.preprocess.rppg`` is not available.  ``rgb`` ``(T, 3)`` RGB means."""
    rgb = np.asarray(rgb, float)
    t = len(rgb)
    w = int(1.6 * fps)
    h = np.zeros(t)
    proj = np.array([[0, 1, -1], [-2, 1, 1]], float)
    for n in range(t - w + 1):
        c = rgb[n:n + w] / rgb[n:n + w].mean(axis=0)
        s = c @ proj.T
        p = s[:, 0] + s[:, 0].std() / (s[:, 1].std() + 1e-12) * s[:, 1]
        h[n:n + w] += p - p.mean()
    freqs = np.fft.rfftfreq(8 * t, 1 / fps)
    spec = np.abs(np.fft.rfft(h * np.hanning(t), 8 * t))
    band = (freqs > 0.7) & (freqs < 3.5)
    return float(60 * freqs[band][np.argmax(spec[band])])


def estimate_hr(rgb: np.ndarray, fps: float) -> float:
    try:
        from pain_lib.preprocess.rppg import estimate_heart_rate
    except ImportError:
        return pos_heart_rate(rgb, fps)
    return float(estimate_heart_rate(rgb, fps, method="pos"))


def real_layout_root(tmp_path_factory, flavour: str) -> Path:
    """A copy of the tiny ``flavour`` tree as a user's real copy would be: its ``synth_truth/``
    folders and generator markers removed (open it as ``unbc`` / ``biovid`` / ``mint``)."""
    import shutil

    out = tmp_path_factory.getbasetemp() / "real-layout" / flavour
    if not out.exists():
        src = tiny_root(tmp_path_factory, flavour)
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("synth_truth", ".synth_*"))
        tmp.rename(out)
    return out

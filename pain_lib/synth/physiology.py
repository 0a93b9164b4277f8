"""Heart rate, pulse, ECG, respiration, skin conductance and trapezius EMG.

One cardiac *phase* (cycles, integrated from the instantaneous heart rate) drives both the
ECG (R peak at phase 0) and the optical pulse in the video (delayed by the pulse transit
time), so rPPG estimates from the rendered skin and HR from the ECG agree.

* heart rate (bpm): subject baseline + stress *drive* (0-1) x ``4 * hr_gain`` + respiratory
  sinus arrhythmia + slow variability.  Genuine pain drives it; posed pain does not.
* ECG: ECGSYN morphology (McSharry et al. 2003: P, Q, R, S, T Gaussians in cardiac phase
  with amplitudes ``a_i b_i^2``) evaluated directly on the phase -- a few vectorised
  lines instead of integrating the ODE, with the same per-beat shape and beat times that
  follow the simulated heart-rate curve (neurokit2's simulator only takes a constant rate).
* pulse (PPG): systolic + diastolic Gaussians in phase, about -1..1.
* GSR (microsiemens): tonic level + a phasic response to the stimulus; EMG trapezius
  (microvolts): band-limited noise with bursts at high stimulus levels.
* raw vs filtered channels as in BioVid's ``biosignals_raw`` / ``biosignals_filtered``:
  raw adds baseline wander, 50 Hz mains and sensor noise; filtered removes them with
  zero-phase Butterworth filters.

Time series on the biosignal grid are ``(N,)`` arrays at ``fs`` (512 Hz); per-frame series
``(T,)`` arrays at the video frame times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import signal

from .face import Identity

__all__ = [
    "ECG_FS",
    "Physiology",
    "simulate_physiology",
    "stimulus_drive",
    "pain_drive",
    "ecg_wave",
    "ppg_wave",
    "BIOSIGNAL_COLUMNS",
]

ECG_FS = 512.0
BIOSIGNAL_COLUMNS = ("time", "gsr", "ecg", "emg_trapezius")

# ECGSYN: (phase angle, a, b) of the P, Q, R, S, T waves
_ECGSYN = np.array([
    (-np.pi / 3, 1.2, 0.25),
    (-np.pi / 12, -5.0, 0.1),
    (0.0, 30.0, 0.1),
    (np.pi / 12, -7.5, 0.1),
    (np.pi / 2, 0.75, 0.4),
])


def ecg_wave(phase: np.ndarray) -> np.ndarray:
    """ECG in mV (R peak about 1 mV) at cardiac ``phase`` (cycles; R peak at integer phase)."""
    theta = 2 * np.pi * (np.asarray(phase) % 1.0)
    z = np.zeros_like(theta)
    for th_i, a_i, b_i in _ECGSYN:
        d = (theta - th_i + np.pi) % (2 * np.pi) - np.pi
        z += a_i * b_i**2 * np.exp(-0.5 * (d / b_i) ** 2)
    return 3.3 * z


def _ppg_raw(ph: np.ndarray) -> np.ndarray:
    d1 = (ph - 0.18 + 0.5) % 1.0 - 0.5
    d2 = (ph - 0.52 + 0.5) % 1.0 - 0.5
    return np.exp(-0.5 * (d1 / 0.11) ** 2) + 0.4 * np.exp(-0.5 * (d2 / 0.1) ** 2)


_PPG_GRID = _ppg_raw(np.linspace(0, 1, 1000, endpoint=False))
_PPG_MEAN, _PPG_HALF = _PPG_GRID.mean(), (_PPG_GRID.max() - _PPG_GRID.min()) / 2


def ppg_wave(phase: np.ndarray) -> np.ndarray:
    """Blood-volume pulse (about -1..1, zero mean over a beat) at cardiac ``phase`` (cycles)."""
    return (_ppg_raw(np.asarray(phase) % 1.0) - _PPG_MEAN) / _PPG_HALF


def stimulus_drive(level: float, *, latency: float = 0.8, ramp: float = 2.5,
                   preload: float = 0.4) -> Callable[[np.ndarray], np.ndarray]:
    """Stress drive 0-1 during a heat/electrical stimulus of ``level`` 0-4.

    The recording window starts after stimulus onset, so part (``preload``) of the
    response is already present at t = 0; the rest builds up after ``latency`` s.
    """
    def drive(t: np.ndarray) -> np.ndarray:
        x = np.clip((np.asarray(t) - latency) / ramp, 0, 1)
        return (level / 4.0) * (preload + (1 - preload) * (0.5 - 0.5 * np.cos(np.pi * x)))
    return drive


def pain_drive(env_t: np.ndarray, env: np.ndarray, *, tau: float = 2.0,
               delay: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    """Stress drive that follows a pain envelope ``env`` (sampled at ``env_t``) with a delay
    and first-order smoothing of time constant ``tau`` s."""
    dt = float(np.median(np.diff(env_t))) if len(env_t) > 1 else 1.0
    alpha = dt / (tau + dt)
    sm = signal.lfilter([alpha], [1, alpha - 1], env, zi=[env[0] * (1 - alpha)])[0] if len(env) else env

    def drive(t: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(t) - delay, env_t, sm, left=sm[0] if len(sm) else 0.0)
    return drive


def _smooth(rng: np.random.Generator, t: np.ndarray, hz: float) -> np.ndarray:
    """Unit-std smooth random function of time (cubic-ish interpolation of knots at ``hz``)."""
    dur = float(t[-1] - t[0]) if len(t) > 1 else 1.0
    knots = int(np.ceil(dur * hz)) + 4
    kt = t[0] + (np.arange(knots) - 1) / hz
    return np.interp(t, kt, rng.standard_normal(knots))


@dataclass
class Physiology:
    """Simulated physiology of one recording.

    ``frame_*`` arrays are ``(T,)`` at the video frame times; the other arrays ``(N,)`` on
    the ``fs`` grid starting at 0.
    """

    fs: float
    time: np.ndarray  # s
    hr: np.ndarray  # bpm
    phase: np.ndarray  # cardiac cycles
    ecg: np.ndarray  # mV
    resp: np.ndarray  # respiration, arbitrary units (-1..1)
    gsr: np.ndarray  # microsiemens
    emg: np.ndarray  # microvolts
    frame_hr: np.ndarray
    frame_pulse: np.ndarray

    def biosignals(self, *, raw: bool, rng: np.random.Generator) -> np.ndarray:
        """BioVid-style table ``(N, 4)``: time (microseconds), gsr, ecg, emg_trapezius.

        ``raw=True`` adds baseline wander, mains hum and sensor noise; ``raw=False`` returns
        the Butterworth-filtered channels (ECG 0.5-40 Hz, GSR < 1.5 Hz, EMG 20-200 Hz).
        """
        t = self.time
        if raw:
            mains = np.sin(2 * np.pi * 50 * t + rng.uniform(0, 6.3))
            ecg = self.ecg + 0.12 * self.resp + 0.05 * _smooth(rng, t, 0.3) + 0.03 * mains \
                + 0.01 * rng.standard_normal(len(t))
            gsr = self.gsr + 0.02 * rng.standard_normal(len(t))
            emg = self.emg + 4.0 * mains + 8.0 * _smooth(rng, t, 0.5)
        else:
            ecg = _filt(self.ecg + 0.12 * self.resp, "bandpass", (0.5, 40.0), self.fs)
            gsr = _filt(self.gsr, "lowpass", 1.5, self.fs)
            emg = _filt(self.emg, "bandpass", (20.0, 200.0), self.fs)
        time_us = np.round(t * 1e6)
        return np.stack([time_us, gsr, ecg, emg], axis=1)


def _filt(x: np.ndarray, kind: str, cutoff, fs: float) -> np.ndarray:
    sos = signal.butter(4, cutoff, btype=kind, fs=fs, output="sos")
    return signal.sosfiltfilt(sos, x, padlen=min(len(x) - 1, 3 * 50))


def simulate_physiology(
    duration: float,
    identity: Identity,
    rng: np.random.Generator,
    *,
    drive: Callable[[np.ndarray], np.ndarray],
    frame_times: np.ndarray,
    level: float = 0.0,
    fs: float = ECG_FS,
    with_biosignals: bool = True,
) -> Physiology:
    """Simulate one recording of ``duration`` s.

    ``drive(t)`` is the stress drive 0-1 (0 for baseline and posed displays); ``level`` the
    stimulus level 0-4 that scales GSR/EMG responses.  ``frame_times`` ``(T,)`` seconds.
    """
    n = int(round(duration * fs))
    t = np.arange(n) / fs
    resp_phase = rng.uniform(0, 2 * np.pi)
    resp = np.sin(2 * np.pi * identity.resp_hz * t + resp_phase + 0.3 * _smooth(rng, t, 0.1))
    hr = (identity.hr_base + rng.normal(0, 1.5)
          + 4.0 * identity.hr_gain * drive(t)
          + identity.rsa_bpm * resp
          + 0.8 * _smooth(rng, t, 0.08))
    phase = rng.uniform(0, 1) + np.concatenate([[0.0], np.cumsum(hr[:-1] / 60.0 / fs)])
    ecg = ecg_wave(phase) * (1 + 0.05 * resp)
    ptt = rng.uniform(0.18, 0.3)  # pulse transit time, s
    frame_phase = np.interp(frame_times - ptt, t, phase, left=np.nan)
    if np.isnan(frame_phase).any():  # extrapolate before t = 0 with the first heart rate
        early = np.isnan(frame_phase)
        frame_phase[early] = phase[0] + (frame_times[early] - ptt) * hr[0] / 60.0
    frame_pulse = ppg_wave(frame_phase)
    frame_hr = np.interp(frame_times, t, hr)
    if with_biosignals:
        lat = rng.uniform(1.5, 3.0)
        k = np.clip(t - lat, 0, None)
        scr = (level / 4.0) * rng.uniform(0.3, 1.2) * (1 - np.exp(-k / 0.8)) * np.exp(-k / 6.0)
        gsr = rng.uniform(2, 12) + 0.05 * _smooth(rng, t, 0.05) + scr + 0.4 * (level / 4) * drive(t)
        burst = 1 + (level / 4.0) ** 2 * 2.5 * np.clip(_smooth(rng, t, 1.0), 0, None)
        emg = rng.uniform(3, 6) * burst * rng.standard_normal(n)
    else:
        gsr = emg = np.zeros(0)
    return Physiology(fs=fs, time=t, hr=hr, phase=phase, ecg=ecg, resp=resp, gsr=gsr, emg=emg,
                      frame_hr=frame_hr, frame_pulse=frame_pulse)

"""FACS action-unit time courses, pain episodes and the PSPI score.

Pain displays are built from *episodes*: an onset (rise), an apex (hold) and an offset
(fall) of a 0-1 envelope, with raised-cosine ramps.  The rise/fall durations come from the
subject's *speed class*::

    slow    rise 1.5-3.0 s     medium  rise 0.5-1.2 s     sudden  rise 0.08-0.25 s

Each pain AU follows the envelope with a subject-specific gain (expressiveness), a short
lag and slow jitter.  *Posed* displays (actors asked to show pain) differ from *genuine*
ones: sudden onsets and offsets, flat apex, weak orbital tightening (AU6/AU7 x 0.35),
exaggerated brow lowering and levator (AU4, AU9, AU10), rarely closed eyes.

Distractors: AU12 (smile), AU25/AU26 (lips part / jaw drop while talking) and AU45 blinks.

Curves are float arrays ``(T,)`` of intensity 0-5 for graded AUs and eye closure 0-1 for
AU43 (eyes closed) and AU45 (blink).  :func:`code_aus` turns them into the integer codes a
FACS coder writes (A-E = 1-5, AU43/AU45 present = 1), and :func:`pspi` applies
PSPI = AU4 + max(AU6, AU7) + max(AU9, AU10) + AU43 (0-16) to coded AUs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .face import Identity

__all__ = [
    "PAIN_AUS",
    "DISTRACTOR_AUS",
    "AU_ORDER",
    "BINARY_AUS",
    "SPEED_CLASSES",
    "RISE_SECONDS",
    "Episode",
    "episode_envelope",
    "sample_episode",
    "pain_au_curves",
    "distractor_curves",
    "code_aus",
    "pspi",
]

PAIN_AUS = ("AU4", "AU6", "AU7", "AU9", "AU10", "AU43")
DISTRACTOR_AUS = ("AU12", "AU25", "AU26", "AU45")
AU_ORDER = PAIN_AUS + DISTRACTOR_AUS
BINARY_AUS = ("AU43", "AU45")
SPEED_CLASSES = ("slow", "medium", "sudden")
#: onset (and offset) duration range per speed class, seconds
RISE_SECONDS = {"slow": (1.5, 3.0), "medium": (0.5, 1.2), "sudden": (0.08, 0.25)}


@dataclass(frozen=True)
class Episode:
    """One pain display: envelope rises from ``start`` for ``rise`` s, holds, falls."""

    start: float
    rise: float
    hold: float
    fall: float
    peak: float  # envelope amplitude 0-1
    speed: str
    posed: bool = False


def _ramp(x: np.ndarray) -> np.ndarray:
    """Raised-cosine step: 0 for x <= 0, 1 for x >= 1."""
    x = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def episode_envelope(t: np.ndarray, episodes: list[Episode]) -> np.ndarray:
    """Pain envelope ``(T,)`` in 0-1 at times ``t`` (s): the max over episodes."""
    env = np.zeros_like(t, dtype=np.float64)
    for e in episodes:
        up = _ramp((t - e.start) / max(e.rise, 1e-3))
        down = 1 - _ramp((t - e.start - e.rise - e.hold) / max(e.fall, 1e-3))
        env = np.maximum(env, e.peak * up * down)
    return env


def sample_episode(rng: np.random.Generator, start: float, peak: float, speed: str,
                   *, posed: bool = False, hold: tuple[float, float] = (0.6, 2.0)) -> Episode:
    """Draw rise/hold/fall durations for an episode of a speed class."""
    if speed not in RISE_SECONDS:
        raise ValueError(f"unknown speed class {speed!r}; valid: {', '.join(SPEED_CLASSES)}")
    if posed:  # actors snap into and out of the expression and hold it flat
        rise, fall = rng.uniform(0.1, 0.3), rng.uniform(0.15, 0.35)
        h = rng.uniform(hold[0] + 0.5, hold[1] + 0.8)
    else:
        lo, hi = RISE_SECONDS[speed]
        rise = rng.uniform(lo, hi)
        fall = rng.uniform(lo, hi) * rng.uniform(1.0, 1.6)  # offsets are a little slower
        h = rng.uniform(*hold)
    return Episode(float(start), float(rise), float(h), float(fall), float(peak), speed, posed)


def _lagged(x: np.ndarray, lag_frames: int) -> np.ndarray:
    if lag_frames <= 0:
        return x
    return np.concatenate([np.full(lag_frames, x[0]), x[:-lag_frames]])


def _slow_jitter(rng: np.random.Generator, n: int, fps: float, amount: float) -> np.ndarray:
    """Multiplicative slow variation around 1 (about 1 Hz), std ``amount``."""
    knots = max(2, int(n / fps * 1.5) + 2)
    k = rng.standard_normal(knots)
    return 1 + amount * np.interp(np.linspace(0, knots - 1, n), np.arange(knots), k)


def pain_au_curves(env: np.ndarray, identity: Identity, fps: float, rng: np.random.Generator,
                   *, posed: bool = False) -> dict[str, np.ndarray]:
    """Pain AU intensities (0-5) and AU43 closure (0-1) ``(T,)`` driven by envelope ``env``."""
    n = len(env)
    g = dict(identity.au_gain)
    e = identity.expressiveness
    if posed:
        g["AU6"] *= 0.35
        g["AU7"] *= 0.35
        g["AU4"] = min(1.2, g["AU4"] * 1.15 + 0.1)
        g["AU9"] = min(1.1, g["AU9"] * 1.3 + 0.15)
        g["AU10"] = min(1.1, g["AU10"] * 1.3 + 0.15)
        e = max(e, 0.9)
    jitter = 0.04 if posed else 0.12
    lags = {"AU4": 0.0, "AU6": 0.12, "AU7": 0.06, "AU9": 0.08, "AU10": 0.1}
    out: dict[str, np.ndarray] = {}
    for au, lag in lags.items():
        drive = _lagged(env, int(round(lag * fps)))
        curve = 5.0 * e * g[au] * drive * _slow_jitter(rng, n, fps, jitter)
        out[au] = np.clip(curve, 0.0, 5.0)
    # AU43: sustained eye closure near the apex of strong genuine episodes
    thr = 0.62 if not posed else 0.95
    want = (env * (0.6 + 0.6 * g["AU43"])) > thr if not posed else env > 2.0
    k = max(1, int(0.08 * fps))
    closure = np.convolve(want.astype(float), np.ones(k) / k, mode="same")
    out["AU43"] = np.clip(closure, 0.0, 1.0)
    return out


def distractor_curves(n: int, fps: float, identity: Identity, rng: np.random.Generator,
                      *, smile_prob: float = 0.2, talk_prob: float = 0.15) -> dict[str, np.ndarray]:
    """AU12 / AU25 / AU26 intensities (0-5) and AU45 blink closure (0-1), ``(T,)`` each."""
    t = np.arange(n) / fps
    dur = n / fps
    out = {au: np.zeros(n) for au in ("AU12", "AU25", "AU26", "AU45")}
    if rng.random() < smile_prob:  # a smile episode (any speed)
        e = sample_episode(rng, rng.uniform(0, max(dur - 1.0, 0.1)), rng.uniform(0.3, 0.9), "medium")
        out["AU12"] = 5 * episode_envelope(t, [e])
        out["AU25"] = np.maximum(out["AU25"], 0.4 * out["AU12"])
    if rng.random() < talk_prob:  # talking: quick irregular mouth opening
        start = rng.uniform(0, max(dur - 1.5, 0.1))
        seg = (t >= start) & (t < start + rng.uniform(0.8, 2.5))
        syll = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t + rng.uniform(0, 6)), 0, 1)
        out["AU25"] = np.maximum(out["AU25"], seg * 2.5 * syll)
        out["AU26"] = np.maximum(out["AU26"], seg * 1.8 * syll)
    # blinks: Poisson process, 100-250 ms each (closing fast, opening slower)
    n_blinks = rng.poisson(identity.blink_per_min / 60 * dur)
    for b0 in np.sort(rng.uniform(0, dur, size=n_blinks)):
        length = rng.uniform(0.1, 0.25)
        phase = (t - b0) / length
        shape = np.where(phase < 0.35, phase / 0.35, (1 - phase) / 0.65)
        out["AU45"] = np.maximum(out["AU45"], np.clip(shape * 1.4, 0, 1) * ((phase >= 0) & (phase <= 1)))
    return out


def code_aus(curves: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Integer FACS codes ``(T,)`` per AU: graded AUs rounded to 0-5, AU43/AU45 closure > 0.5 -> 1."""
    coded = {}
    for au, c in curves.items():
        c = np.asarray(c, float)
        if au in BINARY_AUS:
            coded[au] = (c > 0.5).astype(np.int64)
        else:
            coded[au] = np.clip(np.floor(c + 0.5), 0, 5).astype(np.int64)
    return coded


def pspi(au: dict[str, np.ndarray]) -> np.ndarray:
    """Prkachin-Solomon Pain Intensity ``(T,)``: AU4 + max(AU6, AU7) + max(AU9, AU10) + AU43.

    ``au`` maps AU names (``"AU4"`` ...) to coded intensities; a missing AU counts as 0 and
    AU43 counts as present (1) whenever its code is non-zero.
    """
    n = len(next(iter(au.values()))) if au else 0
    z = np.zeros(n)
    get = lambda k: np.asarray(au.get(k, z), float)  # noqa: E731
    return get("AU4") + np.maximum(get("AU6"), get("AU7")) + np.maximum(get("AU9"), get("AU10")) \
        + (get("AU43") > 0).astype(float)

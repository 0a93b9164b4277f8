"""Sizes and imaging domains of the synthetic flavours at each scale.

==========  ===========================================  =====================================
flavour     tiny (tests, seconds)                        standard (``make reproduce``, < 3 min)
==========  ===========================================  =====================================
synth-unbc  4 subjects x 2 sequences x 40-60 frames      16 subjects x 5 sequences x 100-160
synth-biovid 4 subjects x 5 classes x 1 window (2 s)     14 subjects x 5 classes x 4 windows (5.5 s)
            + 1 posed video per subject                  + 4 posed videos per subject
synth-mint  4 subjects x 2 trials x 5 sweeps (8-14 fr.)  14 subjects x 2 trials x 10 sweeps (8-28)
==========  ===========================================  =====================================

``large`` approaches the real datasets' subject counts (25 / 87 / 20) at larger frames.

The flavours differ in *domain*, so cross-dataset experiments mean something: UNBC-like
clinical close-ups at 30 fps (light, plain wall, patients move their heads), BioVid-like
lab recordings at 25 fps (plain grey backdrop, steady head, stable light, lighter-skinned
population), MIntPAIN-like less constrained recordings (16:9, smaller face off-centre,
cluttered room, drifting warm light, more head motion, weaker pulse).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .render import Domain

__all__ = ["ScaleParams", "SCALES", "STUDY_KNOBS", "FLAVOUR_KEYS", "get_scale", "interpolate_domain", "resolve_domain"]

#: stable integer per flavour, part of every seed key (different people per flavour)
FLAVOUR_KEYS = {"synth-unbc": 1, "synth-biovid": 2, "synth-mint": 3}


@dataclass(frozen=True)
class ScaleParams:
    """Size of one flavour at one scale (fields unused by a flavour stay at their default)."""

    n_subjects: int
    domain: Domain
    fps: float
    # synth-unbc
    seqs_per_subject: int = 0
    seq_frames: tuple[int, int] = (0, 0)
    # synth-biovid
    windows_per_class: int = 0
    posed_per_subject: int = 0
    window_s: float = 5.5
    # synth-mint
    trials: int = 0
    sweeps_per_level: int = 0
    sweep_frames: tuple[int, int] = (8, 28)
    depth_thermal: bool = True
    # population
    speed_probs: tuple[tuple[str, float], ...] = (("slow", 1 / 3), ("medium", 1 / 3), ("sudden", 1 / 3))
    # study knobs (:data:`STUDY_KNOBS`; synth-biovid): left out of :meth:`as_dict` -- and so of a
    # dataset's marker -- while at their defaults, so sets generated before a knob existed stay valid
    #: the genuine stimulus levels written (0 = BL1 ... 4 = PA4)
    genuine_levels: tuple[int, ...] = (0, 1, 2, 3, 4)
    #: 0: the flavour's posed display (actors' AU mix, snap onsets, flat apex). ``s > 0``: every
    #: posed window is drawn exactly like a genuine PA4 window of the same subject (response
    #: probability, peak, start, hold, AU mix) with its onset and offset ``s`` times faster -- the
    #: only visible difference (``s = 1``: none); the heart rate does not respond either way
    posed_onset_speedup: float = 0.0
    #: the imaging domain as a step between another flavour's (``domain_source``, at the same
    #: scale; gap 0) and this flavour's own (gap 1); beyond 1 the difference is extrapolated
    #: (:func:`interpolate_domain`; any flavour). The people and the pain displays stay the flavour's.
    domain_gap: float = 1.0
    domain_source: str = ""

    def __post_init__(self) -> None:
        levels = tuple(self.genuine_levels) if isinstance(self.genuine_levels, (list, tuple)) else ()
        if levels != tuple(sorted(set(levels))):
            raise ValueError(f"genuine_levels must be distinct levels in increasing order, got {self.genuine_levels!r}")
        object.__setattr__(self, "genuine_levels", levels)
        object.__setattr__(self, "posed_onset_speedup", float(self.posed_onset_speedup))
        if not self.genuine_levels or any(int(v) != v or not 0 <= v <= 4 for v in self.genuine_levels):
            raise ValueError(f"genuine_levels must be stimulus levels 0-4, got {self.genuine_levels!r}")
        if not self.posed_onset_speedup >= 0:
            raise ValueError(f"posed_onset_speedup must be >= 0 (0: the default posed display), "
                             f"got {self.posed_onset_speedup!r}")
        object.__setattr__(self, "domain_gap", float(self.domain_gap))
        if not (self.domain_gap >= 0 and np.isfinite(self.domain_gap)):
            raise ValueError(f"domain_gap must be a finite number >= 0 (0: the source's imaging domain, "
                             f"1: the flavour's own), got {self.domain_gap!r}")
        if self.domain_gap != 1.0 and not self.domain_source:
            raise ValueError("domain_gap needs domain_source: the flavour whose imaging domain is gap 0 "
                             "(e.g. domain_source='synth-unbc')")

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k, default in STUDY_KNOBS.items():
            if d[k] == default:
                del d[k]
        return d

    def fields(self) -> set[str]:
        """Every parameter name a generator override may set (study knobs included)."""
        return {f.name for f in dataclasses.fields(self)}

    def replace(self, **changes) -> ScaleParams:
        return dataclasses.replace(self, **changes)


_UNBC_DOMAIN = dict(
    face_center=(0.5, 0.46), bg_rgb=(140.0, 150.0, 165.0), bg_clutter=0.15,
    shirt_rgb=(90.0, 110.0, 150.0), light_gain_drift=0.03, light_side_drift=0.06,
    noise_sigma=1.5, blur_sigma=0.4, pose_jitter=1.0, pulse_amp=0.008,
    skin_tones=((226, 186, 160), (200, 152, 120), (236, 200, 176), (176, 128, 96)),
)
_BIOVID_DOMAIN = dict(
    face_center=(0.5, 0.44), bg_rgb=(120.0, 128.0, 135.0), bg_clutter=0.0,
    shirt_rgb=(40.0, 45.0, 55.0), light_gain_drift=0.015, light_side_drift=0.03,
    light_side_bias=0.05, noise_sigma=2.0, blur_sigma=0.6, pose_jitter=0.7, pulse_amp=0.01,
    skin_tones=((232, 192, 168), (222, 180, 150), (240, 206, 184)),
)
_MINT_DOMAIN = dict(
    face_center=(0.56, 0.43), bg_rgb=(110.0, 120.0, 135.0), bg_clutter=0.7,
    shirt_rgb=(120.0, 60.0, 50.0), light_gain_drift=0.07, light_side_drift=0.12,
    light_side_bias=-0.08, noise_sigma=2.5, blur_sigma=0.7, pose_jitter=1.6, pulse_amp=0.007,
    skin_tones=((238, 200, 174), (214, 170, 140), (190, 140, 108)),
)

#: study knobs of :class:`ScaleParams` and their defaults (absent from a marker while at them)
STUDY_KNOBS: dict[str, object] = {"genuine_levels": (0, 1, 2, 3, 4), "posed_onset_speedup": 0.0,
                                   "domain_gap": 1.0, "domain_source": ""}

SCALES: dict[str, dict[str, ScaleParams]] = {
    "synth-unbc": {
        "tiny": ScaleParams(4, Domain(128, 96, 58, **_UNBC_DOMAIN), 30.0,
                            seqs_per_subject=2, seq_frames=(40, 60)),
        "standard": ScaleParams(16, Domain(160, 120, 72, **_UNBC_DOMAIN), 30.0,
                                seqs_per_subject=5, seq_frames=(100, 160)),
        "large": ScaleParams(25, Domain(320, 240, 140, **_UNBC_DOMAIN), 30.0,
                             seqs_per_subject=8, seq_frames=(150, 350)),
    },
    "synth-biovid": {
        "tiny": ScaleParams(4, Domain(128, 96, 50, **_BIOVID_DOMAIN), 25.0,
                            windows_per_class=1, posed_per_subject=1, window_s=2.0),
        "standard": ScaleParams(14, Domain(160, 120, 60, **_BIOVID_DOMAIN), 25.0,
                                windows_per_class=4, posed_per_subject=4, window_s=5.5),
        "large": ScaleParams(40, Domain(320, 240, 120, **_BIOVID_DOMAIN), 25.0,
                             windows_per_class=10, posed_per_subject=7, window_s=5.5),
    },
    "synth-mint": {
        "tiny": ScaleParams(4, Domain(176, 99, 48, **_MINT_DOMAIN), 15.0,
                            trials=2, sweeps_per_level=1, sweep_frames=(8, 14),
                            speed_probs=(("medium", 0.4), ("sudden", 0.6))),
        "standard": ScaleParams(14, Domain(224, 126, 56, **_MINT_DOMAIN), 15.0,
                                trials=2, sweeps_per_level=2, sweep_frames=(8, 28),
                                speed_probs=(("medium", 0.4), ("sudden", 0.6))),
        "large": ScaleParams(20, Domain(448, 252, 110, **_MINT_DOMAIN), 15.0,
                             trials=2, sweeps_per_level=6, sweep_frames=(8, 28),
                             speed_probs=(("medium", 0.4), ("sudden", 0.6))),
    },
}


def get_scale(flavour: str, scale: str) -> ScaleParams:
    """Parameters of ``flavour`` at ``scale``; clear ``ValueError`` for unknown names."""
    if flavour not in SCALES:
        raise ValueError(f"unknown synthetic flavour {flavour!r}; valid: {', '.join(SCALES)}")
    if scale not in SCALES[flavour]:
        raise ValueError(f"unknown scale {scale!r} for {flavour}; valid: {', '.join(SCALES[flavour])}")
    return SCALES[flavour][scale]


def interpolate_domain(source: Domain, own: Domain, gap: float) -> Domain:
    """The imaging domain ``gap`` of the way from ``source`` (0) to ``own`` (1), extrapolated
    beyond 1: every numeric condition (face size and position, background, clutter, clothing,
    lighting drifts, noise, blur, head motion, pulse) is ``source + gap (own - source)``, clipped
    to its valid range; the population's skin tones are ``own``'s tones shifted by
    ``(1 - gap)`` times the difference of the two mean tones (the identity mix moves, the number
    of tones stays); the frame size stays ``own``'s."""
    g = float(gap)

    def mix(a, b, lo=0.0, hi=np.inf):
        v = np.clip(np.asarray(a, float) + g * (np.asarray(b, float) - np.asarray(a, float)), lo, hi)
        return tuple(float(x) for x in v) if v.ndim else float(v)

    tones = np.asarray(own.skin_tones, float)
    shift = (1.0 - g) * (np.asarray(source.skin_tones, float).mean(0) - tones.mean(0))
    return dataclasses.replace(
        own,
        face_px=mix(source.face_px, own.face_px, 8.0),
        face_center=mix(source.face_center, own.face_center, 0.2, 0.8),
        bg_rgb=mix(source.bg_rgb, own.bg_rgb, 0.0, 255.0),
        bg_clutter=mix(source.bg_clutter, own.bg_clutter, 0.0, 1.0),
        shirt_rgb=mix(source.shirt_rgb, own.shirt_rgb, 0.0, 255.0),
        light_gain_drift=mix(source.light_gain_drift, own.light_gain_drift, 0.0, 0.5),
        light_side_drift=mix(source.light_side_drift, own.light_side_drift, 0.0, 0.5),
        light_side_bias=mix(source.light_side_bias, own.light_side_bias, -0.5, 0.5),
        noise_sigma=mix(source.noise_sigma, own.noise_sigma, 0.0),
        blur_sigma=mix(source.blur_sigma, own.blur_sigma, 0.0),
        pose_jitter=mix(source.pose_jitter, own.pose_jitter, 0.0),
        pulse_amp=mix(source.pulse_amp, own.pulse_amp, 0.0),
        skin_tones=tuple(tuple(float(c) for c in np.clip(t + shift, 0.0, 255.0)) for t in tones),
    )


def resolve_domain(flavour: str, scale: str, params: ScaleParams) -> ScaleParams:
    """``params`` with the imaging domain its ``domain_gap`` / ``domain_source`` knobs ask for
    (unchanged without a source)."""
    if not params.domain_source:
        return params
    if params.domain_source == flavour:
        raise ValueError(f"domain_source must be another flavour than {flavour!r} (a gap to itself is no gap)")
    source = get_scale(params.domain_source, scale).domain
    return params.replace(domain=interpolate_domain(source, params.domain, params.domain_gap))

"""One simulated recording: AU curves + physiology + head motion + lighting -> frames.

:func:`plan_sequence` draws everything that is not pixels (the *ground truth*), and
:meth:`SequencePlan.frames` renders the frames lazily, one at a time, so writers can stream
them to disk.  All per-frame arrays are ``(T, ...)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .face import Identity
from .facs import (
    AU_ORDER,
    Episode,
    code_aus,
    distractor_curves,
    episode_envelope,
    pain_au_curves,
    pspi,
)
from .physiology import Physiology, pain_drive, simulate_physiology, stimulus_drive
from .render import Domain, FaceRenderer, light_track, make_background, pose_track

__all__ = ["SequenceSpec", "SequencePlan", "plan_sequence"]


@dataclass(frozen=True)
class SequenceSpec:
    """What to simulate.

    ``drive``: ``"stimulus"`` (heart rate follows the stimulus ``level`` 0-4, as in BioVid
    and MIntPAIN) or ``"pain"`` (heart rate follows the pain envelope, as in UNBC).
    """

    n_frames: int
    fps: float
    episodes: tuple[Episode, ...] = ()
    posed: bool = False
    #: whose action-unit mix drives the face: ``"posed"`` (actors: weak orbital tightening,
    #: exaggerated brow and levator, flat apex; the default of a posed display) or ``"genuine"``
    au_mix: str = ""
    speed: str = "medium"
    level: float = 0.0
    drive: str = "pain"
    smile_prob: float = 0.2
    talk_prob: float = 0.15
    biosignals: bool = False
    #: seconds of signal to simulate before the first frame (biosignal-only padding)
    duration: float | None = None


@dataclass
class SequencePlan:
    """Ground truth of one recording plus what is needed to render its frames."""

    spec: SequenceSpec
    renderer: FaceRenderer
    au: dict[str, np.ndarray]  # continuous, (T,) each, AU_ORDER
    coded: dict[str, np.ndarray]  # integer FACS codes, (T,) each
    pspi: np.ndarray  # (T,)
    envelope: np.ndarray  # (T,) pain envelope 0-1
    physiology: Physiology
    poses: list
    light: np.ndarray  # (T, 2)
    background: np.ndarray  # (H, W, 3) float32
    noise_seed: int
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros((0, 68, 2)))

    @property
    def n_frames(self) -> int:
        return self.spec.n_frames

    def au_matrix(self) -> np.ndarray:
        """Continuous AU intensities ``(T, len(AU_ORDER))``."""
        return np.stack([self.au[a] for a in AU_ORDER], axis=1)

    def coded_matrix(self) -> np.ndarray:
        """Coded AU intensities ``(T, len(AU_ORDER))`` int."""
        return np.stack([self.coded[a] for a in AU_ORDER], axis=1)

    def frames(self) -> Iterator[np.ndarray]:
        """Yield ``(H, W, 3)`` uint8 RGB frames; fills :attr:`landmarks` ``(T, 68, 2)``."""
        d = self.renderer.domain
        rng = np.random.default_rng(self.noise_seed)
        self.landmarks = np.zeros((self.n_frames, 68, 2))
        # camera noise: random crops of a small bank of Gaussian fields (cheaper than fresh
        # normals per frame; consecutive frames still get independent-looking noise)
        pad, n_bank = 24, 6
        bank = None
        if d.noise_sigma > 0:
            bank = rng.standard_normal((n_bank, d.height + pad, d.width + pad, 3), dtype=np.float32)
            bank *= d.noise_sigma
        for i in range(self.n_frames):
            aus = {a: float(self.au[a][i]) for a in AU_ORDER}
            noise = None
            if bank is not None:
                k, dy, dx = rng.integers(n_bank), rng.integers(pad), rng.integers(pad)
                noise = bank[k, dy:dy + d.height, dx:dx + d.width]
            frame, lm = self.renderer.render(
                aus, self.poses[i], float(self.physiology.frame_pulse[i]),
                (float(self.light[i, 0]), float(self.light[i, 1])), self.background, noise)
            self.landmarks[i] = lm
            yield frame

    def pose_array(self) -> np.ndarray:
        """Head pose ``(T, 5)``: tx, ty (px), roll (deg), scale, yaw."""
        return np.array([[p.tx, p.ty, p.roll, p.scale, p.yaw] for p in self.poses])


def plan_sequence(identity: Identity, domain: Domain, spec: SequenceSpec, rng: np.random.Generator,
                  *, renderer: FaceRenderer | None = None,
                  background: np.ndarray | None = None) -> SequencePlan:
    """Draw the ground truth of one recording (no pixels yet)."""
    n, fps = spec.n_frames, spec.fps
    t = np.arange(n) / fps
    env = episode_envelope(t, list(spec.episodes))
    mix = spec.au_mix or ("posed" if spec.posed else "genuine")
    if mix not in ("posed", "genuine"):
        raise ValueError(f"unknown au_mix {spec.au_mix!r}: 'posed' or 'genuine'")
    au = pain_au_curves(env, identity, fps, rng, posed=mix == "posed")
    au.update(distractor_curves(n, fps, identity, rng, smile_prob=spec.smile_prob,
                                talk_prob=spec.talk_prob))
    au = {a: au[a] for a in AU_ORDER}
    coded = code_aus(au)
    if spec.posed:
        drive = stimulus_drive(0.0)
    elif spec.drive == "stimulus":
        drive = stimulus_drive(spec.level, latency=float(rng.uniform(0.3, 1.5)))
    elif spec.drive == "pain":
        drive = pain_drive(t, env)
    else:
        raise ValueError(f"unknown drive {spec.drive!r}: 'stimulus' or 'pain'")
    duration = spec.duration if spec.duration is not None else n / fps
    phys = simulate_physiology(duration, identity, rng, drive=drive, frame_times=t,
                               level=0.0 if spec.posed else spec.level,
                               with_biosignals=spec.biosignals)
    renderer = renderer or FaceRenderer(identity, domain)
    poses = pose_track(n, fps, rng, domain.pose_jitter)
    light = light_track(n, fps, rng, domain)
    if background is None:
        background = make_background(domain, rng)
    return SequencePlan(spec=spec, renderer=renderer, au=au, coded=coded, pspi=pspi(coded),
                        envelope=env, physiology=phys, poses=poses, light=light,
                        background=background, noise_seed=int(rng.integers(2**63)))

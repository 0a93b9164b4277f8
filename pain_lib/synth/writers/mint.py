"""``synth-mint``: MIntPAIN layout (RGB, depth and thermal frames per sweep).

::

    <root>/Sub1 Daniel Simonsen/Annotated_data_Sub01_Trial01/Sub01_Trial01_Sweep01_Label0/RGB/RGB-HH-MM-SS-ms.jpg
                                                                                        /D/D-HH-MM-SS-ms.jpg
                                                                                        /T/T-HH-MM-SS-ms.jpg
    <root>/synth_truth/<sweep folder name>.npz

20 subjects in the real set (folder names ``Sub<k> <first> <last>``), 2 trials each, sweeps of
8-28 frames labelled 0-4 by the ``Label<N>`` token.  Timestamps run continuously through a
trial at 15 fps.  The depth (D) and thermal (T) frames are plausible stand-ins drawn from
the same landmarks: an ellipsoid head in front of a far wall (nose nearest), and a warm
face with hot inner eye corners, a cooler nose tip and cold hair.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..face import sample_identity
from ..facs import sample_episode
from ..render import FaceRenderer
from ..sequence import SequenceSpec, plan_sequence
from .common import SubjectJob, rng_for, write_truth

__all__ = ["write_subject", "subject_folder", "depth_thermal", "LABEL_PATTERNS", "FACE_RESPONSE_PROB"]

LABEL_PATTERNS = ()  # labels live in folder names; the checksum covers the folder listing
FACE_RESPONSE_PROB = (0.0, 0.2, 0.4, 0.65, 0.85)
_FIRST = ("Daniel", "Mads", "Frederik", "Emil", "Jonas", "Mikkel", "Anders", "Rasmus", "Sofie",
          "Ida", "Emma", "Freja", "Laura", "Mathilde", "Cecilie", "Louise", "Kasper", "Nanna")
_LAST = ("Simonsen", "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen",
         "Larsen", "Sørensen", "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen")


def subject_folder(index: int, rng: np.random.Generator) -> str:
    """``Sub<k> <First> <Last>`` (k = index + 1)."""
    return f"Sub{index + 1} {rng.choice(_FIRST)} {rng.choice(_LAST)}"


def depth_thermal(lm: np.ndarray, height: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Depth and thermal ``(H, W)`` uint8 images for a face with landmarks ``lm`` ``(68, 2)`` px."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx = float(lm[[0, 16], 0].mean())
    rx = float(lm[16, 0] - lm[0, 0]) / 2 * 1.05
    brow, chin = float(lm[17:27, 1].mean()), float(lm[8, 1])
    top = brow - 0.42 * (chin - brow)
    cy, ry = (top + chin) / 2, (chin - top) / 2
    u, v = (xx - cx) / rx, (yy - cy) / ry
    head = np.clip(1 - u**2 - v**2, 0, None)
    nz = np.sqrt(head)
    inside = head > 0
    torso = (((xx - cx) / (2.4 * rx)) ** 2 + ((yy - (chin + 1.1 * ry)) / (0.9 * ry)) ** 2 < 1) \
        | ((np.abs(xx - cx) < 0.45 * rx) & (yy > chin - 0.2 * ry))
    g = lambda p, s: np.exp(-0.5 * ((xx - p[0]) ** 2 + (yy - p[1]) ** 2) / (s * rx) ** 2)  # noqa: E731
    depth = 25 + 15 * (yy / height)
    depth = np.where(torso, 95.0, depth)
    depth = np.where(inside, 120 + 100 * nz + 30 * g(lm[30], 0.12), depth)
    hair = inside & (yy < float(lm[19:25, 1].min()) - 0.15 * ry)
    thermal = np.full_like(xx, 45.0) + 10 * (xx / width)
    thermal = np.where(torso, 115.0, thermal)
    face_t = 165 + 45 * nz + 40 * (g(lm[39], 0.08) + g(lm[42], 0.08)) - 35 * g(lm[30], 0.1)
    thermal = np.where(inside, face_t, thermal)
    thermal = np.where(hair, 95.0, thermal)
    out = []
    for img in (depth, thermal):
        img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 1.0)
        img += rng.normal(0, 1.5, img.shape).astype(np.float32)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out[0], out[1]


def _stamp(t: float) -> str:
    ms = int(round(t * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h % 24:02d}-{m:02d}-{s:02d}-{ms:03d}"


def write_subject(job: SubjectJob) -> dict:
    """Write one subject's trials; return ``{"subject", "truth": {sweep: entry}}``."""
    root, p = Path(job.root), job.params
    rng = rng_for(job.seed, job.flavour, job.index)
    identity = sample_identity(rng, skin_tones=np.array(p.domain.skin_tones, float),
                               speed_probs=dict(p.speed_probs))
    folder = subject_folder(job.index, rng)
    renderer = FaceRenderer(identity, p.domain)
    sub = f"Sub{job.index + 1:02d}"
    truth = {}
    n_sweeps = 5 * p.sweeps_per_level
    for trial in range(1, p.trials + 1):
        trng = rng_for(job.seed, job.flavour, job.index, 1000 + trial)
        levels = trng.permutation(np.repeat(np.arange(5), p.sweeps_per_level))
        clock = float(trng.uniform(9, 16)) * 3600  # trial start, seconds since midnight
        tdir = root / folder / f"Annotated_data_{sub}_Trial{trial:02d}"
        for s, level in enumerate(levels, start=1):
            srng = rng_for(job.seed, job.flavour, job.index, trial * n_sweeps + s)
            n = int(srng.integers(p.sweep_frames[0], p.sweep_frames[1] + 1))
            dur = n / p.fps
            episodes = ()
            if srng.random() < FACE_RESPONSE_PROB[level] * min(1.0, 1.1 * identity.expressiveness):
                peak = float(np.clip(0.25 + 0.17 * level + srng.normal(0, 0.1), 0.15, 1.0))
                episodes = (sample_episode(srng, float(srng.uniform(0.0, 0.3)) * dur, peak,
                                           identity.speed, hold=(0.5 * dur, dur)),)
            spec = SequenceSpec(n_frames=n, fps=p.fps, episodes=episodes, speed=identity.speed,
                                level=float(level), drive="stimulus", smile_prob=0.05, talk_prob=0.1)
            plan = plan_sequence(identity, p.domain, spec, srng, renderer=renderer)
            sweep = f"{sub}_Trial{trial:02d}_Sweep{s:02d}_Label{level}"
            mods = ("RGB", "D", "T") if p.depth_thermal else ("RGB",)
            for m in mods:
                (tdir / sweep / m).mkdir(parents=True, exist_ok=True)
            for i, frame in enumerate(plan.frames()):
                stamp = _stamp(clock + i / p.fps)
                cv2.imwrite(str(tdir / sweep / "RGB" / f"RGB-{stamp}.jpg"), frame[..., ::-1],
                            [cv2.IMWRITE_JPEG_QUALITY, 92])
                if p.depth_thermal:
                    d, t = depth_thermal(plan.landmarks[i], p.domain.height, p.domain.width, srng)
                    cv2.imwrite(str(tdir / sweep / "D" / f"D-{stamp}.jpg"), d, [cv2.IMWRITE_JPEG_QUALITY, 92])
                    cv2.imwrite(str(tdir / sweep / "T" / f"T-{stamp}.jpg"), t, [cv2.IMWRITE_JPEG_QUALITY, 92])
            clock += dur + float(srng.uniform(4, 12))  # pause between sweeps
            truth[sweep] = write_truth(root, sweep, plan, subject=folder, trial=trial,
                                       expressiveness=identity.expressiveness)
    return {"subject": folder, "truth": truth}

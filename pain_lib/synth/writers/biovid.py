"""``synth-biovid``: BioVid Heat Pain layout, a genuine part (A) and a posed part (D).

::

    <root>/PartA/starting_point/samples.csv            TAB: subject_id subject_name class_id class_name sample_id sample_name
    <root>/PartA/video/<subject_name>/<sample_name>.mp4          mp4v, 25 fps, 5.5 s (138 frames)
    <root>/PartA/biosignals_raw/<subject_name>/<sample_name>_bio.csv       TAB: time gsr ecg emg_trapezius
    <root>/PartA/biosignals_filtered/<subject_name>/<sample_name>_bio.csv
    <root>/PartA/synth_truth/...
    <root>/PartD/...                                   same tree; posed displays, classes PP1-PP4

Subject names ``MMDDYY_{m|w}_AGE`` (the public example ``071309_w_21`` reads as a date with
the month first), classes BL1 (0) and PA1-PA4 (1-4).  Low stimulus levels rarely show a
face response (PA1 12 %, PA2 30 %, PA3 60 %, PA4 85 % of windows, scaled by the subject's
expressiveness) while the heart rate rises with the level in every window.  The posed part
has the same subjects acting pain of intended intensity 1-4 (PP1-PP4): fast onsets, weak
orbital tightening and no heart-rate response. Two study knobs of
:class:`~pain_lib.synth.scales.ScaleParams` change this: ``genuine_levels`` (which genuine classes
are written) and ``posed_onset_speedup`` (posed windows drawn like genuine PA4 windows, only faster).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np

from ..face import sample_identity
from ..facs import sample_episode
from ..render import FaceRenderer
from ..sequence import SequenceSpec, plan_sequence
from .common import SubjectJob, rng_for, write_truth

__all__ = ["write_subject", "subject_name", "write_mp4", "CLASS_NAMES", "POSED_CLASS_NAMES",
           "SAMPLES_HEADER", "PARTS", "LABEL_PATTERNS", "FACE_RESPONSE_PROB"]

CLASS_NAMES = ("BL1", "PA1", "PA2", "PA3", "PA4")
POSED_CLASS_NAMES = ("PP1", "PP2", "PP3", "PP4")
SAMPLES_HEADER = ("subject_id", "subject_name", "class_id", "class_name", "sample_id", "sample_name")
BIO_HEADER = "time\tgsr\tecg\temg_trapezius"
PARTS = {"genuine": "PartA", "posed": "PartD"}
LABEL_PATTERNS = ("PartA/starting_point/samples.csv", "PartD/starting_point/samples.csv")
#: probability that a window of stimulus level 0-4 shows a facial response
FACE_RESPONSE_PROB = (0.0, 0.12, 0.3, 0.6, 0.85)


def subject_name(index: int, rng: np.random.Generator, sex: str, age: int) -> str:
    """``MMDDYY_{m|w}_AGE``; the recording date is unique per subject index."""
    month, day = 1 + index % 12, 1 + (index // 12) % 28
    year = 9 + (index // (12 * 28)) % 3
    return f"{month:02d}{day:02d}{year:02d}_{sex}_{age}"


def write_mp4(path: Path, frames, fps: float, size: tuple[int, int]) -> int:
    """Encode RGB frames with OpenCV's ``mp4v``; returns the frame count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not vw.isOpened():
        raise OSError(f"OpenCV cannot open an mp4v writer for {path}")
    n = 0
    try:
        for f in frames:
            vw.write(np.ascontiguousarray(f[..., ::-1]))
            n += 1
    finally:
        vw.release()
    return n


def _write_bio(root: Path, subject: str, sample: str, plan, rng: np.random.Generator) -> None:
    for kind, raw in (("biosignals_raw", True), ("biosignals_filtered", False)):
        d = root / kind / subject
        d.mkdir(parents=True, exist_ok=True)
        table = plan.physiology.biosignals(raw=raw, rng=rng)
        np.savetxt(d / f"{sample}_bio.csv", table, delimiter="\t", header=BIO_HEADER, comments="",
                   fmt=("%d", "%.5f", "%.5f", "%.4f"))


def genuine_episodes(rng: np.random.Generator, identity, level: int, window_s: float) -> tuple:
    """The face response of a genuine window at stimulus ``level`` (none, or one episode)."""
    prob = FACE_RESPONSE_PROB[level] * min(1.0, 1.1 * identity.expressiveness)
    if rng.random() >= prob:
        return ()
    peak = float(np.clip(0.2 + 0.18 * level + rng.normal(0, 0.1), 0.15, 1.0))
    return (sample_episode(rng, float(rng.uniform(0.05, 0.45)) * window_s, peak,
                           identity.speed, hold=(0.2 * window_s, 0.5 * window_s)),)


def write_subject(job: SubjectJob) -> dict:
    """Write one subject's windows in both parts; return samples.csv rows and truth entries."""
    root, p = Path(job.root), job.params
    rng = rng_for(job.seed, job.flavour, job.index)
    identity = sample_identity(rng, skin_tones=np.array(p.domain.skin_tones, float),
                               speed_probs=dict(p.speed_probs))
    name = subject_name(job.index, rng, identity.sex, identity.age)
    renderer = FaceRenderer(identity, p.domain)
    n_frames = int(round(p.window_s * p.fps))
    levels = tuple(p.genuine_levels)
    n_gen = len(levels) * p.windows_per_class
    trial_numbers = rng.permutation(n_gen + p.posed_per_subject) + 1  # session order
    out = {"subject": name, "rows": {"genuine": [], "posed": []}, "truth": {"genuine": {}, "posed": {}}}
    for k in range(n_gen + p.posed_per_subject):
        posed = k >= n_gen
        part = "posed" if posed else "genuine"
        srng = rng_for(job.seed, job.flavour, job.index, k + 1)
        au_mix = "posed" if posed else "genuine"
        if posed:
            j = k - n_gen
            level = 1 + j % 4
            cls_name, cls_id = POSED_CLASS_NAMES[level - 1], level
            if p.posed_onset_speedup > 0:  # a genuine PA4 display, only faster (a study knob)
                s = p.posed_onset_speedup
                episodes = tuple(dataclasses.replace(e, rise=e.rise / s, fall=e.fall / s, posed=True)
                                 for e in genuine_episodes(srng, identity, 4, p.window_s))
                au_mix = "genuine"
            else:
                episodes = (sample_episode(srng, float(srng.uniform(0.15, 0.35)) * p.window_s,
                                           float(np.clip(0.35 + 0.15 * level + srng.normal(0, 0.08), 0.2, 1)),
                                           identity.speed, posed=True,
                                           hold=(0.25 * p.window_s, 0.4 * p.window_s)),)
        else:
            level = levels[k // p.windows_per_class]
            cls_name, cls_id = CLASS_NAMES[level], level
            episodes = genuine_episodes(srng, identity, level, p.window_s)
        sample = f"{name}-{cls_name}-{trial_numbers[k]:03d}"
        spec = SequenceSpec(n_frames=n_frames, fps=p.fps, episodes=episodes, posed=posed, au_mix=au_mix,
                            speed=identity.speed, level=float(level), drive="stimulus",
                            smile_prob=0.05, talk_prob=0.03, biosignals=True, duration=p.window_s)
        plan = plan_sequence(identity, p.domain, spec, srng, renderer=renderer)
        proot = root / PARTS[part]
        write_mp4(proot / "video" / name / f"{sample}.mp4", plan.frames(), p.fps,
                  (p.domain.width, p.domain.height))
        _write_bio(proot, name, sample, plan, srng)
        sample_id = job.index * (n_gen + p.posed_per_subject) + k
        out["rows"][part].append((job.index + 1, name, cls_id, cls_name, sample_id, sample))
        out["truth"][part][sample] = write_truth(proot, sample, plan, subject=name,
                                                 expressiveness=identity.expressiveness,
                                                 class_name=cls_name)
    return out

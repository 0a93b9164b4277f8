"""``synth-unbc``: UNBC-McMaster Shoulder Pain layout.

::

    <root>/Images/<subj>/<seq>/<seq><NNN>.png                    e.g. Images/042-ll042/ll042t1aaaff/ll042t1aaaff001.png
    <root>/Frame_Labels/PSPI/<subj>/<seq>/<seq><NNN>_facs.txt     one float
    <root>/Frame_Labels/FACS/<subj>/<seq>/<seq><NNN>_facs.txt     "<au> <intensity> 0 0" per coded AU
    <root>/AAM_landmarks/<subj>/<seq>/<seq><NNN>_aam.txt          66 lines "x y"
    <root>/Sequence_Labels/{AFF,OPR,SEN,VAS}/<subj>/<seq>.txt     one number
    <root>/synth_truth/...                                        ground truth sidecar

Sequence labels are derived from the simulated episode: VAS (0-10), AFF and SEN (0-15) from
the *felt* pain (episode peak with self-report noise), OPR (0-5) from the observed face
(maximum PSPI with observer noise).
"""

from __future__ import annotations

import string
from pathlib import Path

import cv2
import numpy as np

from ..face import AAM66_INDEX, sample_identity
from ..facs import SPEED_CLASSES, sample_episode
from ..render import FaceRenderer
from ..sequence import SequenceSpec, plan_sequence
from .common import SubjectJob, fmt_float, rng_for, write_truth

__all__ = ["write_subject", "subject_folder", "LABEL_PATTERNS"]

LABEL_PATTERNS = ("Frame_Labels/**/*.txt", "Sequence_Labels/**/*.txt")


def subject_folder(index: int, rng: np.random.Generator) -> tuple[str, str]:
    """(folder name like ``042-ll042``, code like ``ll042``); numbers increase with ``index``."""
    number = 42 + 5 * index + int(rng.integers(0, 5))
    initials = "".join(rng.choice(list(string.ascii_lowercase), size=2))
    code = f"{initials}{number:03d}"
    return f"{number:03d}-{code}", code


def _episodes(rng: np.random.Generator, duration: float, speed: str, p_pain: float = 0.72):
    if rng.random() > p_pain:
        return ()
    eps = []
    t = float(rng.uniform(0.2, 1.2))
    for _ in range(int(rng.choice([1, 1, 2, 2, 3]))):
        e = sample_episode(rng, t, float(rng.uniform(0.25, 1.0)), speed)
        if e.start + e.rise + 0.5 * e.hold > duration:
            break
        eps.append(e)
        t = e.start + e.rise + e.hold + e.fall + float(rng.uniform(0.3, 1.5))
    return tuple(eps)


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines))


def write_subject(job: SubjectJob) -> dict:
    """Write one subject's sequences; return ``{"subject", "truth": {seq: entry}}``."""
    root, p = Path(job.root), job.params
    rng = rng_for(job.seed, job.flavour, job.index)
    identity = sample_identity(rng, skin_tones=np.array(p.domain.skin_tones, float),
                               speed_probs=dict(p.speed_probs))
    folder, code = subject_folder(job.index, rng)
    renderer = FaceRenderer(identity, p.domain)
    letters = "aeiouybcdfg"
    truth = {}
    for q in range(p.seqs_per_subject):
        srng = rng_for(job.seed, job.flavour, job.index, q + 1)
        seq = f"{code}t{1 + q // 3}a{letters[q % len(letters)]}aff"
        n = int(srng.integers(p.seq_frames[0], p.seq_frames[1] + 1))
        speed = identity.speed if srng.random() < 0.75 else str(srng.choice(SPEED_CLASSES))
        episodes = _episodes(srng, n / p.fps, speed)
        spec = SequenceSpec(n_frames=n, fps=p.fps, episodes=episodes, speed=speed, drive="pain",
                            smile_prob=0.25, talk_prob=0.15)
        plan = plan_sequence(identity, p.domain, spec, srng, renderer=renderer)
        dirs = {k: root / k / folder / seq for k in
                ("Images", "Frame_Labels/PSPI", "Frame_Labels/FACS", "AAM_landmarks")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(plan.frames()):
            stem = f"{seq}{i + 1:03d}"
            if not cv2.imwrite(str(dirs["Images"] / f"{stem}.png"), frame[..., ::-1]):
                raise OSError(f"could not write {dirs['Images'] / stem}.png")
            facs = [f"{fmt_float(float(au[2:]))}{fmt_float(float(v if au not in ('AU43', 'AU45') else 0))}"
                    f"{fmt_float(0)}{fmt_float(0)}" for au, c in plan.coded.items() if (v := c[i]) > 0]
            _write_lines(dirs["Frame_Labels/FACS"] / f"{stem}_facs.txt", facs)
            _write_lines(dirs["Frame_Labels/PSPI"] / f"{stem}_facs.txt", [fmt_float(plan.pspi[i])])
            lm = plan.landmarks[i][AAM66_INDEX]
            _write_lines(dirs["AAM_landmarks"] / f"{stem}_aam.txt",
                         [f"{fmt_float(x)}{fmt_float(y)}" for x, y in lm])
        felt = max((e.peak for e in episodes), default=0.0) * float(srng.uniform(0.7, 1.3))
        max_pspi = float(plan.pspi.max())
        seq_labels = {
            "VAS": np.clip(np.round(10 * felt + srng.normal(0, 1.0)), 0, 10),
            "OPR": np.clip(np.round(max_pspi / 16 * 5 * 1.6 + srng.normal(0, 0.5)), 0, 5),
            "AFF": np.clip(np.round(15 * felt * srng.uniform(0.6, 1.1) + srng.normal(0, 1.5)), 0, 15),
            "SEN": np.clip(np.round(15 * felt * srng.uniform(0.7, 1.2) + srng.normal(0, 1.5)), 0, 15),
        }
        for name, value in seq_labels.items():
            d = root / "Sequence_Labels" / name / folder
            d.mkdir(parents=True, exist_ok=True)
            _write_lines(d / f"{seq}.txt", [fmt_float(float(value) + 0.0)])
        truth[seq] = write_truth(root, seq, plan, subject=folder, felt_pain=felt,
                                 expressiveness=identity.expressiveness)
    return {"subject": folder, "truth": truth}

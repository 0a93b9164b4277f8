"""Measure what the simulator promises, on generated data: face detectability and pulse.

``python -m pain_lib.synth.validate --flavour synth-unbc --root DIR [--every 5]`` prints

* the Haar frontal-face detection rate (a detection counts when its centre lies inside the
  true landmark box) over every ``every``-th frame of every sample;
* the heart-rate error of POS rPPG on the cheek colour of ``--hr-clips`` freshly rendered
  20 s clips of the flavour's domain (through mp4v for ``synth-biovid``), against the
  simulated heart rate.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from ..data import open_dataset, read_clip
from ..data.base import PainDataset
from ..data.crop import boxes_from_landmarks, detect_faces_haar
from .face import sample_identity
from .scales import get_scale
from .sequence import SequenceSpec, plan_sequence
from .truth import cheek_trace

__all__ = ["haar_detection_rate", "heart_rate_errors"]


def haar_detection_rate(ds: PainDataset, every: int = 5, max_samples: int | None = None) -> tuple[int, int]:
    """``(frames with a detection on the face, frames tried)`` over a generated dataset."""
    found = total = 0
    for s in ds.samples[:max_samples]:
        idx = np.arange(0, s.n_frames, every)
        frames = read_clip(s, idx)
        det = detect_faces_haar(frames)
        truth = boxes_from_landmarks(np.asarray(s.meta["truth"]["landmarks"])[idx], 0.0)
        cx, cy = (det[:, 0] + det[:, 2]) / 2, (det[:, 1] + det[:, 3]) / 2
        ok = (cx > truth[:, 0]) & (cx < truth[:, 2]) & (cy > truth[:, 1]) & (cy < truth[:, 3])
        found += int(ok.sum())
        total += len(idx)
    return found, total


def heart_rate_errors(flavour: str, scale: str = "standard", *, n_clips: int = 6, seconds: float = 20.0,
                      fps: float = 25.0, encode: bool | None = None, seed: int = 0) -> np.ndarray:
    """Estimated minus simulated mean heart rate (bpm) of ``n_clips`` rendered clips."""
    from ..preprocess.rppg import estimate_heart_rate

    p = get_scale(flavour, scale)
    encode = (flavour == "synth-biovid") if encode is None else encode
    errors = []
    for k in range(n_clips):
        rng = np.random.default_rng([seed, k])
        identity = sample_identity(rng, skin_tones=np.array(p.domain.skin_tones, float))
        spec = SequenceSpec(n_frames=int(seconds * fps), fps=fps, drive="stimulus", level=float(k % 5),
                            smile_prob=0, talk_prob=0)
        plan = plan_sequence(identity, p.domain, spec, rng)
        frames = np.stack(list(plan.frames()))
        if encode:
            from ..data.video import read_video
            from .writers.biovid import write_mp4

            with tempfile.TemporaryDirectory() as d:
                path = Path(d) / "clip.mp4"
                write_mp4(path, frames, fps, (p.domain.width, p.domain.height))
                frames = read_video(path)
        est = estimate_heart_rate(cheek_trace(frames, plan.landmarks), fps, method="pos")
        errors.append(float(est) - float(plan.physiology.frame_hr.mean()))
    return np.array(errors)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flavour", required=True)
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--scale", default="standard")
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--hr-clips", type=int, default=6)
    args = ap.parse_args(argv)
    parts = [{"part": "A"}, {"part": "posed"}] if args.flavour == "synth-biovid" else [{}]
    f = t = 0
    for opts in parts:
        a, b = haar_detection_rate(open_dataset(args.flavour, args.root, **opts), args.every)
        f, t = f + a, t + b
    print(f"{args.flavour}: Haar detection on the face {f}/{t} = {100 * f / t:.2f} % of frames")
    if args.hr_clips:
        e = heart_rate_errors(args.flavour, args.scale, n_clips=args.hr_clips)
        print(f"{args.flavour}: rPPG (POS) heart-rate error on {len(e)} x 20 s clips: "
              f"mean |error| {np.abs(e).mean():.2f} bpm, max {np.abs(e).max():.2f} bpm ({np.round(e, 2).tolist()})")


if __name__ == "__main__":
    main()

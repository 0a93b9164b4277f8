"""Timings of the ssd paper's pieces on this machine (rerun on a quiet machine for the budgets):
the SSD map of one clip, the Siamese pretext's Eq. 21 solve and its backward pass, and Table 3's
test time per frame of each 2D backbone (SSD map + network) and its inflated 3D counterpart.

    PYTHONPATH=. python bench/ssd.py [--device cpu] [--size 32] [--frames 140] [--width 8]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pain_lib.experiments import Representation
from pain_lib.papers import ssd
from pain_lib.papers.ssd import hull, runtime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--frames", type=int, default=140)
    ap.add_argument("--width", type=int, default=8)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (args.frames, args.size, args.size, 3)).astype(np.uint8)
    rep = Representation("ssd", {"segment_length": 20, "patch": 5}, size=args.size)
    t0 = time.perf_counter()
    rep.compute(faces)
    print(f"SSD map, {args.frames} x {args.size} x {args.size} clip: {time.perf_counter() - t0:.3f} s")
    h = torch.nn.functional.normalize(torch.randn(24, 32, dtype=torch.float64), dim=1).requires_grad_(True)
    t0 = time.perf_counter()
    d = hull.dissimilarity(h[:8], h[8:16], steps=30) + hull.dissimilarity(h[:8], h[16:], steps=30)
    d.backward()
    print(f"Eq. 21, two solves of halves of 8 x 32 (30 FISTA steps) + backward: {time.perf_counter() - t0:.4f} s")
    for label, model2d in ssd.BACKBONES.items():
        cfg2d = {} if model2d == "googlenet" else {"width": args.width}
        net2d, net3d = ssd.inflated_pair(model2d, cfg2d, head="regression", num_outputs=1)
        clip_len = max(8, ssd.counterpart_3d(model2d, cfg2d)[2])
        t2 = runtime.seconds_per_frame_2d(net2d, [faces], rep, device=args.device)
        t3 = runtime.seconds_per_frame_3d(net3d, [faces], clip_len, device=args.device)
        print(f"{label:13s} s/frame 2D (SSD + net) {t2:.5f}  3D ({clip_len}-frame clips) {t3:.5f}  ratio {t3 / t2:.2f}")


if __name__ == "__main__":
    main()

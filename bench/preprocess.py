"""Throughput of every preprocessing representation, next to a straightforward reference.

Run:  python bench/preprocess.py [--frames 140] [--size 112] [--repeats 5] [--out PATH]

For each representation it times the library function on a ``(T, size, size, 3)`` uint8 RGB
clip (a BioVid-like 5.5 s window at 25 fps by default) on the CPU, and on CUDA when present,
and a loop implementation of the same function (``pain_lib.preprocess.reference``; the
per-pixel SSD and AHDI loops run on a small input), after checking on a small input that
both give the same output.  Prints a markdown report and writes it to
``results/benchmarks/preprocess.md`` (atomically).

Throughput is frames of input video per second (median of ``--repeats`` runs after one
warm-up).  "Speedup" compares pixel throughput (frames/s x pixels per frame), so a reference
timed on a smaller input is compared fairly.  Numbers depend on the machine's load: the load
average at start and end is in the report.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pain_lib.preprocess import ahdi as A  # noqa: E402
from pain_lib.preprocess import flow, keyframes, rppg, ssd  # noqa: E402
from pain_lib.preprocess import rank_pooling as rp  # noqa: E402
from pain_lib.preprocess import reference as ref  # noqa: E402

TARGETS = {  # frames/s on 2 CPU cores at 112x112 (issue 4)
    "dynamic image": 5000,
    "SSD (l=20, 5x5)": 1000,
    "AHDI (Farneback + pooling, 9x9)": 300,
    "POS (trace -> bpm)": 5000,
    "POS (crop -> skin trace -> bpm)": 5000,
}


def make_clip(T: int, size: int, seed: int = 0) -> np.ndarray:
    """Smooth moving blobs on a skin-coloured background with a faint pulse, uint8 RGB."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    base = np.array([190, 140, 110], np.float32)
    clip = np.empty((T, size, size, 3), np.uint8)
    centres = rng.uniform(0.2, 0.8, (4, 2)) * size
    vel = rng.normal(0, 0.6, (4, 2))
    for t in range(T):
        img = np.broadcast_to(base, (size, size, 3)).copy()
        for k in range(4):
            cy, cx = centres[k] + vel[k] * t
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 10) ** 2))
            img += 40 * blob[..., None] * np.array([0.6, -0.3, -0.5], np.float32)
        img[..., 1] += 0.8 * np.sin(2 * np.pi * 1.3 * t / 25.0)
        img += rng.normal(0, 1.5, img.shape).astype(np.float32)
        clip[t] = np.clip(img, 0, 255).astype(np.uint8)
    return clip


def timeit(fn, repeats: int, sync=None) -> tuple[float, float]:
    """Median wall-clock seconds and median process CPU seconds (all threads) of ``fn()``."""
    fn()
    if sync:
        sync()
    wall, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        if sync:
            sync()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def machine_info() -> list[str]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import cv2

    lines = [
        f"- date: {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {platform.platform()}; CPU: {cpu}; logical CPUs: {os.cpu_count()}",
        f"- torch {torch.__version__} (intra-op threads: {torch.get_num_threads()}), "
        f"numpy {np.__version__}, OpenCV {cv2.__version__}, Python {platform.python_version()}",
        f"- CUDA: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'not available'}",
        f"- TV-L1 (cv2.optflow): {'available' if flow.tvl1_available() else 'not available (falls back to DIS)'}",
    ]
    return lines


def loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def check(name: str, a, b, rtol=1e-5, atol_rel=1e-5) -> str:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.abs(b).max(), 1e-30)
    err = np.abs(a - b).max() / scale
    ok = np.allclose(a, b, rtol=rtol, atol=atol_rel * scale)
    if not ok:
        raise SystemExit(f"{name}: fast and reference outputs differ (max rel. error {err:.2e})")
    return f"{err:.1e}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=140)
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(REPO / "results" / "benchmarks" / "preprocess.md"))
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch's default)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    T, S, R = args.frames, args.size, args.repeats
    load0 = loadavg()
    clip = make_clip(T, S)
    small = make_clip(12, 16, seed=1)  # for per-pixel references
    fps = 25.0
    rows = []  # (representation, impl, device, input, frames/s, ref frames/s, ref input, speedup, max err)

    def add(name, fast, n_frames, shape, device="cpu", ref=None, ref_frames=None, ref_shape=None,
            err="", note=""):
        f_fps, f_cpu = n_frames / fast[0], n_frames / max(fast[1], 1e-9)
        r_fps = (ref_frames / ref[0]) if ref else None
        px = shape[1] * shape[2]
        speed = (f_fps * px) / (r_fps * ref_shape[1] * ref_shape[2]) if r_fps else None
        rows.append((name, device, "x".join(map(str, shape[:3])), f_fps, f_cpu,
                     r_fps, "x".join(map(str, ref_shape[:3])) if ref_shape else "",
                     speed, err, note))
        print(f"{name:38s} {device:5s} {f_fps:12,.0f} fps  {f_cpu:12,.0f} per CPU-s"
              + (f"  (reference {r_fps:,.1f} fps, x{speed:,.0f})" if r_fps else ""), flush=True)

    # --- dynamic image / mean / MDV -------------------------------------------------------
    err = check("dynamic image", rp.dynamic_image(clip[:30]), ref.dynamic_image_reference(clip[:30]))
    t = timeit(lambda: rp.dynamic_image(clip), R)
    tr = timeit(lambda: ref.dynamic_image_reference(clip), max(1, R // 2))
    add("dynamic image", t, T, clip.shape, ref=tr, ref_frames=T, ref_shape=clip.shape, err=err)
    t = timeit(lambda: rp.mean_image(clip), R)
    add("mean image", t, T, clip.shape)
    t = timeit(lambda: rp.multiple_dynamic_images(clip, 20, 10), R)
    add("MDV (M=20, s=10)", t, T, clip.shape, note="13 overlapping windows")
    t = timeit(lambda: rp.to_uint8_image(rp.dynamic_image(clip)), R)
    add("dynamic image -> uint8 RGB", t, T, clip.shape)

    # --- optical flow -----------------------------------------------------------------------
    for m in ("farneback", "dis"):
        t = timeit(lambda m=m: flow.optical_flow(clip, m), max(1, R // 2))
        add(f"optical flow ({m})", t, T, clip.shape, note="OpenCV, CPU")

    # --- AHDI ---------------------------------------------------------------------------------
    res = A.ahdi_details(small, n_segments=3, patch_size=5)
    err = check("AHDI", res.image, ref.ahdi_reference(small, res.windows, 5))
    motion = A.motion_activity(clip)
    t = timeit(lambda: A.ahdi(clip, patch_size=9), max(1, R // 2))
    res = A.ahdi_details(clip, motion=motion, patch_size=9)
    tr = timeit(lambda: (A.motion_activity(clip), ref.ahdi_reference(clip, res.windows, 9)), 1)
    add("AHDI (Farneback + pooling, 9x9)", t, T, clip.shape, ref=tr, ref_frames=T,
        ref_shape=clip.shape, err=err, note="same Farneback in both")
    t = timeit(lambda: A.ahdi(clip, patch_size=9, motion=motion), R)
    add("AHDI pooling only (motion given)", t, T, clip.shape)

    # --- SSD ----------------------------------------------------------------------------------
    err = check("SSD", ssd.ssd_map(small, 4, 5, dtype=torch.float64), ref.ssd_map_reference(small, 4, 5))
    t = timeit(lambda: ssd.ssd_map(clip, 20, 5), R)
    tr = timeit(lambda: ref.ssd_map_reference(small, 4, 5), 1)
    add("SSD (l=20, 5x5)", t, T, clip.shape, ref=tr, ref_frames=small.shape[0], ref_shape=small.shape,
        err=err, note="reference: per-pixel loops, 12x16x16, l=4")
    t = timeit(lambda: ssd.ssd_map(clip, 20, 3), R)
    add("SSD (l=20, 3x3)", t, T, clip.shape)
    t = timeit(lambda: ssd.ssd_map(clip, 20, 9), max(1, R // 2))
    add("SSD (l=20, 9x9)", t, T, clip.shape)
    t = timeit(lambda: ssd.ssd_flow_map(clip, 20, 5, method="dis"), max(1, R // 2))
    add("SSD on optical flow (DIS, l=20, 5x5)", t, T, clip.shape, note="flow + encoding + SSD")

    # --- key frames ---------------------------------------------------------------------------
    t = timeit(lambda: keyframes.select_key_frames(clip), R)
    add("key frames (chi2, window 6)", t, T, clip.shape)

    # --- rPPG ---------------------------------------------------------------------------------
    long = np.concatenate([clip] * 4)  # 22 s
    trace = rppg.rgb_trace(long)
    err = check("POS", rppg.pos_signal(trace, fps), ref.pos_signal_reference(trace, fps), rtol=1e-9)
    t = timeit(lambda: rppg.estimate_heart_rate(trace, fps, "pos"), R)
    tr = timeit(lambda: rppg.spectral_peak_bpm(rppg.bandpass(ref.pos_signal_reference(trace, fps), fps), fps),
                max(1, R // 2))
    add("POS (trace -> bpm)", t, len(long), long.shape, ref=tr, ref_frames=len(long),
        ref_shape=long.shape, err=err, note="reference: loop over windows + the same band-pass and FFT peak")
    t = timeit(lambda: rppg.estimate_heart_rate(trace, fps, "chrom"), R)
    add("CHROM (trace -> bpm)", t, len(long), long.shape)
    t = timeit(lambda: rppg.estimate_heart_rate(rppg.rgb_trace(long), fps, "pos"), R)
    add("POS (crop -> skin trace -> bpm)", t, len(long), long.shape, note="YCrCb skin mask per frame")
    t = timeit(lambda: rppg.estimate_heart_rate(rppg.rgb_trace(long, "all"), fps, "pos"), R)
    add("POS (crop -> box trace -> bpm)", t, len(long), long.shape, note="face box, no skin mask")

    # --- CUDA ---------------------------------------------------------------------------------
    if torch.cuda.is_available():
        dev = torch.device("cuda")
        sync = torch.cuda.synchronize
        ct = torch.from_numpy(clip).permute(3, 0, 1, 2).contiguous().to(dev)
        t = timeit(lambda: rp.dynamic_image(ct), R, sync)
        add("dynamic image", t, T, clip.shape, device="cuda")
        t = timeit(lambda: rp.multiple_dynamic_images(ct, 20, 10), R, sync)
        add("MDV (M=20, s=10)", t, T, clip.shape, device="cuda")
        t = timeit(lambda: ssd.ssd_map(ct, 20, 5), R, sync)
        add("SSD (l=20, 5x5)", t, T, clip.shape, device="cuda")
        t = timeit(lambda: A.ahdi(ct, patch_size=9, motion=motion), R, sync)
        add("AHDI pooling only (motion given)", t, T, clip.shape, device="cuda")

    load1 = loadavg()
    # --- report -------------------------------------------------------------------------------
    lines = ["# Preprocessing throughput", "",
             "Generated by `python bench/preprocess.py` (do not edit by hand).", ""]
    lines += machine_info()
    lines += [f"- load average (1/5/15 min) at start: {load0}; at end: {load1} "
              "(other jobs on the machine slow every number down)",
              f"- input: {T} frames of {S}x{S} uint8 RGB (a 5.5 s window at 25 fps); "
              f"median of {R} runs after a warm-up",
              "- frames/s (wall) is what a user sees on this machine now; frames per CPU-second divides by "
              "the CPU time of all the process's threads, so it depends much less on other jobs (busy-waiting "
              "OpenMP threads inflate it under heavy load). On an idle machine the wall rate is at least the "
              "per-CPU-second rate, and at most the number of threads in use times it (torch threads above; "
              "optical flow runs one OpenCV thread per CPU)", ""]
    lines += ["| representation | device | input | frames/s (wall) | frames per CPU-second | reference frames/s | "
              "reference input | speedup (pixel rate) | max rel. diff vs reference | target (frames/s) | note |",
              "|---|---|---|---:|---:|---:|---|---:|---:|---|---|"]

    def verdict(target, f_fps, f_cpu):
        if f_fps >= target:
            return f"{target:,}: met"
        if f_cpu >= target:
            return f"{target:,}: met per CPU-second, not in wall time under this load"
        return f"{target:,}: **missed**"

    for name, dev, shp, f_fps, f_cpu, r_fps, rshp, speed, err, note in rows:
        target = TARGETS.get(name) if dev == "cpu" else None
        tcell = "" if target is None else verdict(target, f_fps, f_cpu)
        lines.append(
            f"| {name} | {dev} | {shp} | {f_fps:,.0f} | {f_cpu:,.0f} | {'' if r_fps is None else f'{r_fps:,.1f}'} | "
            f"{rshp} | {'' if speed is None else f'{speed:,.0f}x'} | {err} | {tcell} | {note} |"
        )
    missed = [n for n, d, _, f, c, *_ in rows if d == "cpu" and n in TARGETS and max(f, c) < TARGETS[n]]
    lines += ["", "Targets missed: " + (", ".join(missed) if missed else "none") + "."]
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

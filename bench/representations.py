"""Build and read times of the representation cache on a whole dataset.

Run:  python bench/representations.py [--dataset synth-biovid] [--scale standard]
      [--representation ssd] [--param segment_length=20] [--size 32] [--out PATH]

Times :func:`pain_lib.experiments.representation_tensor` three times on every sample of the
dataset, with a fresh cache folder: the first call computes every value (face crops are decoded
and cropped first, and timed on their own), the second reads them from the on-disk cache in a
new process-free state (the in-memory copy dropped), the third from memory. Prints a Markdown
report (sizes in MB, seconds, values per second) and writes it to ``--out`` when given.
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="synth-biovid")
    ap.add_argument("--scale", default="standard")
    ap.add_argument("--representation", default="ssd")
    ap.add_argument("--param", action="append", default=[], help="NAME=VALUE (a Python literal), repeatable")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)

    import torch

    from pain_lib import synth
    from pain_lib.data import open_dataset
    from pain_lib.data.bank import FrameBank
    from pain_lib.experiments import representations as reps

    params = {k: ast.literal_eval(v) for k, v in (p.split("=", 1) for p in args.param)}
    root = synth.ensure(args.dataset, args.scale, progress=False)
    samples = open_dataset(args.dataset, root).samples
    rep = reps.Representation(args.representation, params, size=args.size)
    with tempfile.TemporaryDirectory(prefix="pain-lib-bench-") as tmp:
        cache = Path(tmp)
        t0 = time.perf_counter()
        FrameBank(size=args.size, cache_dir=cache).fill_cache(samples)
        crops_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        x, _ = reps.representation_tensor(samples, rep, cache_dir=cache)
        build_s = time.perf_counter() - t0
        reps._MEMO.clear()
        FrameBank._shared.clear()
        t0 = time.perf_counter()
        reps.representation_tensor(samples, rep, cache_dir=cache)
        read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        reps.representation_tensor(samples, rep, cache_dir=cache)
        memory_s = time.perf_counter() - t0
        size = _size_mb(cache / "representations")
    n = len(samples)
    lines = [
        f"### Representation cache: `{rep.name}` {params or ''} on `{args.dataset}` ({args.scale}), {args.size} px",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; {n} samples, values {tuple(x.shape[1:])}",
        "",
        "| step | seconds | per sample (ms) |",
        "|---|---|---|",
        f"| face crops (decode + crop, parallel) | {crops_s:.1f} | {1e3 * crops_s / n:.0f} |",
        f"| build (compute + write) | {build_s:.1f} | {1e3 * build_s / n:.0f} |",
        f"| read from the disk cache (checksums verified) | {read_s:.2f} | {1e3 * read_s / n:.1f} |",
        f"| read from memory | {memory_s:.4f} | {1e3 * memory_s / n:.3f} |",
        "",
        f"Cache size: {size:.1f} MB ({1e3 * size / n:.0f} kB per sample).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        from pain_lib.io import atomic_write_text

        atomic_write_text(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What a cluster run of scn Table 2 at the ``paper`` profile costs: jobs x seconds per fold.

    python bench/cluster_cost.py                                  # counts; seconds from results/benchmarks/
    python bench/cluster_cost.py --store cache/experiments        # seconds from measured folds in a store
    python bench/cluster_cost.py --step-ms 180 --parallel 32      # seconds from a measured training step

The counts come from the library: the Table 2 grid the notebook runs at ``paper``
(``scn.kernel_grid()`` cut by the profile's ``sweep_keep``), leave-one-subject-out over the
subjects of ``data_manifests/unbc.yaml``, the profile's epochs, batch, clips per sample.
The seconds per fold come, in order of preference, from

1. ``--store``: the ``train_s + test_s`` of finished folds of an SCN configuration at the
   sweep's depth in an experiment store (the first jobs of the cluster run itself, or a pilot);
2. ``--step-ms`` or a ``paper`` SCN row at the sweep's depth in ``results/benchmarks/training-*.md``
   (``bench/training.py --device cuda --paper`` prints ``paper SCN-101``): epochs x steps per epoch x step time, an upper
   bound (early stopping ends most folds sooner) that leaves out evaluation and the per-fold
   face-identity / transfer pre-training stages;

and when none is there the script says what is missing instead of guessing.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import yaml

from pain_lib.config import get_profile
from pain_lib.papers import scn
from pain_lib.registry import repo_root
from pain_lib.report import reduce_sweep

ROOT = repo_root()


def counts() -> dict:
    p = get_profile("paper")
    grid = reduce_sweep(scn.kernel_grid(), p)
    manifest = yaml.safe_load((ROOT / "data_manifests" / "unbc.yaml").read_text())
    subjects, sequences = manifest["counts"]["subjects"], manifest["counts"]["samples"]
    train_sequences = sequences * (subjects - 1 - p.val_subjects) / subjects  # LOSO, minus the validation subjects
    steps = math.ceil(train_sequences * p.clips_per_sample / p.batch_size)
    return {"configurations": len(grid), "folds": subjects, "jobs": len(grid) * subjects,
            "epochs_max": p.epochs, "steps_per_epoch": steps, "depth": scn.profile_sweep_depth(p),
            "batch": p.batch_size, "clip": f"{p.clip_len}x{p.image_size}x{p.image_size}"}


def seconds_from_store(store: Path, depth: int) -> list[float]:
    out = []
    for ident in store.glob("*/identity.json"):
        try:
            info = json.loads(ident.read_text())
        except ValueError:
            continue
        recipe = json.dumps(info.get("recipe", {}))
        if '"scn"' not in recipe or f'"depth": {depth}' not in recipe:
            continue
        for rec in ident.parent.glob("*.json"):
            if rec.name == "identity.json":
                continue
            row = json.loads(rec.read_text()).get("row", {})
            if "train_s" in row:
                out.append(float(row["train_s"]) + float(row.get("test_s", 0.0)))
    return out


def step_ms_from_benchmarks(depth: int) -> tuple[float, str] | None:
    for md in sorted((ROOT / "results" / "benchmarks").glob("training-*.md")):
        lines = [ln for ln in md.read_text().splitlines() if ln.startswith("|")]
        if len(lines) < 3:
            continue
        head = [c.strip() for c in lines[0].strip("|").split("|")]
        for ln in lines[2:]:
            row = dict(zip(head, [c.strip() for c in ln.strip("|").split("|")]))
            if row.get("profile") == "paper" and row.get("model") == "scn" and row.get("cfg_depth") == str(depth):
                return float(row["step_ms"]), md.name
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, default=None, help="an experiment store with finished paper folds")
    ap.add_argument("--step-ms", type=float, default=None, help="a measured paper-size training step (ms)")
    ap.add_argument("--parallel", type=int, default=32, help="jobs at once (the array's parallelism cap)")
    args = ap.parse_args()
    c = counts()
    print(f"scn Table 2 at paper: {c['configurations']} configurations x {c['folds']} LOSO folds (UNBC-McMaster "
          f"subjects) = {c['jobs']} jobs; SCN-{c['depth']}, batch {c['batch']}, clips {c['clip']}, "
          f"{c['steps_per_epoch']} training steps per epoch, at most {c['epochs_max']} epochs")
    per_fold, source = None, None
    if args.store is not None:
        measured = seconds_from_store(args.store, c["depth"])
        if measured:
            per_fold, source = sum(measured) / len(measured), f"mean of {len(measured)} measured folds in {args.store}"
    if per_fold is None:
        step = (args.step_ms, "--step-ms") if args.step_ms else step_ms_from_benchmarks(c["depth"])
        if step is not None:
            per_fold = c["epochs_max"] * c["steps_per_epoch"] * step[0] / 1000
            source = (f"{c['epochs_max']} epochs x {c['steps_per_epoch']} steps x {step[0]} ms ({step[1]}): an upper "
                      "bound on training, without evaluation and the per-fold pre-training stages")
    if per_fold is None:
        print(f"MISSING: no measured seconds per fold. results/benchmarks/ has no paper-size SCN-{c['depth']} step "
              "(bench/training.py --device cuda --paper has not printed one yet), and no --store with finished "
              "paper folds was given. Measure one fold on the GPU (a pilot job), then rerun with --store.")
        return
    total_h = c["jobs"] * per_fold / 3600
    wall_h = math.ceil(c["jobs"] / args.parallel) * per_fold / 3600
    print(f"seconds per fold: {per_fold:.0f} ({source})")
    print(f"cost: {c['jobs']} x {per_fold:.0f} s = {total_h:.1f} GPU-hours; wall time with {args.parallel} jobs "
          f"at once: {wall_h:.1f} h")


if __name__ == "__main__":
    main()

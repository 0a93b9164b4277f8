"""Seconds per hrg notebook at a profile (the budgets of issue 23: tiny < 30 s each on 2 CPU
cores; standard < 10 min for all hrg notebooks together), each run under papermill in order, with
a fresh experiment store and cache so nothing is read from an earlier run (notebooks later in the
order reuse what earlier ones computed in this run, as ``pain-lib reproduce`` does).

Usage::

    PAIN_LIB_DATA=/work/data-synth python bench/hrg_notebooks.py --profile standard --device cpu
    python bench/hrg_notebooks.py --profile tiny --only 'hrg/0[0-3]*'
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="tiny")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--only", default="hrg/*")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hrg-bench-"))
    os.environ["PAIN_LIB_EXPERIMENTS"] = str(tmp / "experiments")
    os.environ["PAIN_LIB_CACHE"] = str(tmp / "cache")
    from pain_lib.registry import load_registry
    from pain_lib.runner import prepare_parameters, run_notebook

    total = 0.0
    for e in load_registry().notebooks:
        if not fnmatch.fnmatch(e.id, args.only):
            continue
        params = prepare_parameters(e, {"output_dir": str(tmp / "results")}, args.profile, args.device)
        t = time.perf_counter()
        res = run_notebook(e, params, results_dir=tmp / "results", log_output=False)
        dt = time.perf_counter() - t
        total += dt
        print(f"{e.id:45s} {args.profile:9s} {args.device:5s} {dt:7.1f} s  {res.status}", flush=True)
    print(f"{'total':45s} {args.profile:9s} {args.device:5s} {total:7.1f} s")


if __name__ == "__main__":
    main()

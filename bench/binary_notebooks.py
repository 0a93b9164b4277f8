"""Wall time of every ``binary`` notebook at a profile, run one after another under papermill.

The budgets of the issue: ``tiny`` under 30 s per notebook on 2 CPU cores, ``standard`` all binary
notebooks together under 5 minutes on 2 CPU cores (features cached: a second run reads every fold
from the experiment store, so give ``--fresh`` to time a first run with an empty store and cache).

Usage::

    PAIN_LIB_DATA=/work/data-synth python bench/binary_notebooks.py --profile standard --fresh
    python bench/binary_notebooks.py --profile tiny --fresh

Prints one line per notebook (seconds, status) and the total.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="standard")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--fresh", action="store_true", help="an empty experiment store and cache (a first run)")
    args = ap.parse_args()
    if args.fresh:
        tmp = Path(tempfile.mkdtemp(prefix="binary-bench-"))
        os.environ["PAIN_LIB_CACHE"] = str(tmp / "cache")
        os.environ["PAIN_LIB_EXPERIMENTS"] = str(tmp / "experiments")

    from pain_lib.registry import load_registry
    from pain_lib.runner import prepare_parameters, run_notebook

    out = Path(tempfile.mkdtemp(prefix="binary-bench-results-"))
    total = 0.0
    for entry in [e for e in load_registry().notebooks if e.paper == "binary"]:
        params = prepare_parameters(entry, {"output_dir": str(out)}, args.profile, args.device)
        t0 = time.perf_counter()
        res = run_notebook(entry, params, results_dir=out, log_output=False)
        dt = time.perf_counter() - t0
        total += dt
        print(f"{entry.id:45s} {dt:7.1f} s  {res.status}", flush=True)
    print(f"{'total':45s} {total:7.1f} s  (profile {args.profile}, device {args.device}, cpus {os.cpu_count()})")


if __name__ == "__main__":
    main()

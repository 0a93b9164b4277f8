"""Fault sweep: interrupt, race and corrupt a real notebook run, then check nothing is lost or wrong.

Runs ``scn/07_table7_unbc_comparison`` (three cross-validated networks, tiny profile, CPU) through
``pain-lib run`` in a scratch project state (its own results folder, experiment store and caches;
the synthetic data is shared) and tries, each time from a clean run's state:

* SIGKILL in the middle of training, then a rerun;
* Ctrl-C (SIGINT) in the middle, then a rerun (the first must exit 130);
* two runs at once on the same store and results folder;
* a damaged entry of each kind -- a face-crop cache ``.npy`` (garbled pixels, valid header), a
  store fold record ``.json`` (truncated), predictions ``.npz`` (truncated), fitted model ``.pt``
  (truncated), a shared stage ``.pt`` (truncated) -- then a rerun.

It prints (and with ``--out`` writes) one row per fault: whether every run after it succeeded,
whether the final table equals the clean run's (every value), and seconds.

    python bench/faults.py [--out results/benchmarks/faults.md]          # ~4 min on 2 CPU cores
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

NOTEBOOK = "scn/07_table7_unbc_comparison"
TABLE = Path("scn") / "table-7.csv"


def _env(state: Path) -> dict:
    return {**os.environ, "PAIN_LIB_EXPERIMENTS": str(state / "store"), "PAIN_LIB_CACHE": str(state / "cache"),
            "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}


def _cmd(state: Path) -> list[str]:
    return [sys.executable, "-m", "pain_lib.cli", "run", NOTEBOOK, "--profile", "tiny", "--device", "cpu",
            "--results-dir", str(state / "results")]


def run(state: Path, *, timeout: float = 900) -> int:
    return subprocess.run(_cmd(state), env=_env(state), capture_output=True, timeout=timeout).returncode


def start(state: Path) -> subprocess.Popen:
    return subprocess.Popen(_cmd(state), env=_env(state), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def wait_for_progress(state: Path, proc: subprocess.Popen, *, timeout: float = 300) -> None:
    """Until the first fold of the run is in the store (training is under way)."""
    t0 = time.time()
    while time.time() - t0 < timeout and proc.poll() is None:
        if list((state / "store").glob("*/*.json")) and any(
                p.name != "identity.json" for p in (state / "store").glob("*/*.json")):
            return
        time.sleep(0.5)


def table(state: Path) -> pd.DataFrame | None:
    p = state / "results" / TABLE
    return pd.read_csv(p) if p.is_file() else None


def same(a: pd.DataFrame | None, b: pd.DataFrame | None) -> bool:
    if a is None or b is None or a.shape != b.shape:
        return False
    va, vb = pd.to_numeric(a["value"], errors="coerce").to_numpy(), pd.to_numeric(b["value"], errors="coerce").to_numpy()
    return bool(np.allclose(va, vb, rtol=1e-6, atol=1e-9, equal_nan=True))


def truncate(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def garble_npy(p: Path) -> None:
    data = bytearray(p.read_bytes())
    start = 128  # past the .npy header: the pixels
    for i in range(start, min(len(data) - 100, start + 4096)):
        data[i] = (data[i] + 97) % 256
    p.write_bytes(bytes(data))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="write the table as Markdown here")
    args = ap.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="pain-lib-faults-"))
    clean = root / "clean"
    t0 = time.time()
    assert run(clean) == 0, "the clean run failed"
    reference = table(clean)
    rows = [{"fault": "none (clean run)", "runs ok": True, "table equals clean": True, "seconds": time.time() - t0}]

    def trial(name: str, act) -> None:
        state = root / name.replace(" ", "-")
        t = time.time()
        ok = act(state)
        rows.append({"fault": name, "runs ok": bool(ok), "table equals clean": same(table(state), reference),
                     "seconds": time.time() - t})
        print(rows[-1], flush=True)

    def kill(state: Path, sig: int) -> bool:
        proc = start(state)
        wait_for_progress(state, proc)
        os.killpg(proc.pid, sig)
        code = proc.wait(timeout=120)
        first_ok = code == 130 if sig == signal.SIGINT else True
        return first_ok and run(state) == 0

    def two_at_once(state: Path) -> bool:
        a, b = start(state), start(state)
        return a.wait(timeout=900) == 0 and b.wait(timeout=900) == 0

    def corrupt(pattern: str, damage):
        def act(state: Path) -> bool:
            shutil.copytree(clean, state)
            hits = sorted(p for p in state.rglob(pattern) if p.name != "identity.json")
            if not hits:
                return False
            damage(hits[0])
            return run(state) == 0
        return act

    trial("SIGKILL during training", lambda s: kill(s, signal.SIGKILL))
    trial("Ctrl-C during training", lambda s: kill(s, signal.SIGINT))
    trial("two runs at once", two_at_once)
    trial("face-crop cache .npy garbled", corrupt("cache/data/*/*/*.npy", garble_npy))
    trial("store fold .json truncated", corrupt("store/*/*.json", truncate))
    trial("store predictions .npz truncated", corrupt("store/*/*.npz", truncate))
    trial("store model .pt truncated", corrupt("store/*/group-kfold*.pt", truncate))
    trial("store stage .pt truncated", corrupt("store/stages/*.pt", truncate))
    df = pd.DataFrame(rows)
    lines = ["| fault | runs ok | table equals clean | seconds |", "|---|---|---|---|"]
    lines += [f"| {r.fault} | {'yes' if r._1 else 'NO'} | {'yes' if r._2 else 'NO'} | {r.seconds:.0f} |"
              for r in df.itertuples(index=False)]
    text = (f"# Fault sweep ({NOTEBOOK}, tiny profile, CPU)\n\n`python bench/faults.py`: "
            f"{len(df) - 1} faults tried, {int((df['runs ok'] & df['table equals clean']).sum()) - 1} survived with "
            "the clean run's table.\n\n" + "\n".join(lines) + "\n")
    print(text)
    if args.out:
        from pain_lib.io import atomic_write_text

        atomic_write_text(args.out, text)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

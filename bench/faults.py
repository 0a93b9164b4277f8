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

Then the command's bad inputs and broken machines (``bench/cli_faults.py``: symlink loops,
read-only and full file systems, a broken registry or notebook, parameter edges, folders from
the environment), each run as ``pain-lib`` in a subprocess, with the answer it gets (exit
status and its one line); and a full results disk under a real run (the overview notebook on a
small tmpfs: the run must fail in one line, leave the results as they were, and the next run
on the freed disk must succeed). The mounts need root on Linux; elsewhere those cases are
skipped.

    python bench/faults.py [--out results/benchmarks/faults.md]          # ~7 min on 2 CPU cores
    python bench/faults.py --cli-only --out ...   # only the command's faults (~2 min); the table of
                                                  # the run faults is kept from the existing report
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cli_faults  # noqa: E402

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


def cli_sweep(root: Path) -> list[dict]:
    """Every case of bench/cli_faults.py as a subprocess: exit status, its line, no traceback."""
    rows = []
    for i, case in enumerate(cli_faults.CASES):
        tmp = root / f"cli-{i:02d}"
        tmp.mkdir(parents=True)
        if case.mount and not cli_faults.can_mount():
            rows.append({"fault": case.name, "ok": None, "answer": "skipped (needs a tmpfs mount: root on Linux)"})
            continue
        try:
            argv, env, expect = case.setup(tmp)
            t = time.time()
            clean_env = {k: v for k, v in os.environ.items() if not k.startswith("PAIN_LIB_")}
            proc = subprocess.run([sys.executable, "-m", "pain_lib.cli", *argv], cwd=tmp, capture_output=True,
                                  text=True, env={**clean_env, **env, **_this_checkout()}, timeout=120)
        finally:
            cli_faults.release_mounts()
        line = cli_faults.answer_line(proc.stdout if case.stream == "out" else proc.stderr, case)
        ok = (proc.returncode == case.rc and "Traceback" not in proc.stdout + proc.stderr and "\n" not in line
              and all(e in line for e in expect))
        rows.append({"fault": case.name, "ok": ok, "answer": f"exit {proc.returncode}: {_portable(line, tmp)}",
                     "seconds": time.time() - t})
        print(rows[-1], flush=True)
    return rows


def _this_checkout() -> dict[str, str]:
    """Run this checkout's pain_lib (the case runs in its own folder, not the project's)."""
    here = str(cli_faults.ROOT)
    return {"MPLBACKEND": "Agg", "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}


def _portable(line: str, tmp: Path) -> str:
    line = line.replace(str(tmp), "<tmp>").replace(str(Path.cwd()), "<project>")
    return line if len(line) <= 400 else line[:397] + "..."


def full_disk_run(root: Path) -> dict:
    """The overview notebook on a small tmpfs: clean run, full disk, freed disk."""
    name = "full results disk during a run (overview, tmpfs)"
    if not cli_faults.can_mount():
        return {"fault": name, "ok": None, "answer": "skipped (needs a tmpfs mount: root on Linux)"}
    disk = root / "disk"
    results = disk / "results"
    cmd = [sys.executable, "-m", "pain_lib.cli", "run", "overview/00_paper_results", "--profile", "tiny",
           "--results-dir", str(results)]
    env = {**os.environ, **_this_checkout(), "PAIN_LIB_EXPERIMENTS": str(root / "store"),
           "PAIN_LIB_CACHE": str(root / "cache")}
    t = time.time()
    with cli_faults.tmpfs(disk, "16m"):
        first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)

        def snapshot():
            return {p: p.read_bytes() for p in sorted(results.rglob("*")) if p.is_file() and p.suffix != ".log"}

        before = snapshot()
        with open(disk / "filler", "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        full = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        unchanged = snapshot() == before
        (disk / "filler").unlink()
        freed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    lines = [ln for ln in full.stderr.splitlines() if ln.startswith("pain-lib:")]
    ok = (first.returncode == 0 and full.returncode == 2 and len(lines) == 1 and "no space left" in lines[0]
          and "Traceback" not in full.stdout + full.stderr and unchanged and freed.returncode == 0)
    answer = (f"clean run exit {first.returncode}; full disk exit {full.returncode}: "
              f"{_portable(lines[0] if lines else full.stderr[-300:], root)}; results "
              f"{'unchanged' if unchanged else 'CHANGED'}; freed disk exit {freed.returncode}")
    return {"fault": name, "ok": ok, "answer": answer, "seconds": time.time() - t}


def _previous_run_section(path: str | None) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8") if path else ""
    except OSError:
        text = ""
    start = text.find("# Fault sweep (")
    end = text.find("\n# ", start + 1)
    return text[start:end if end > 0 else None].rstrip() + "\n" if start >= 0 else ""


def cli_section(rows: list[dict]) -> str:
    tried = [r for r in rows if r["ok"] is not None]
    good = sum(bool(r["ok"]) for r in tried)
    lines = ["# The command's faults (bench/cli_faults.py)\n",
             f"{len(rows)} faults of the command tried ({len(rows) - len(tried)} skipped): {good} answered in one "
             "line naming what is wrong, with no traceback, before a kernel started (the full disk: under a real run).\n",
             "| fault | answer as expected | answer |", "|---|---|---|"]
    for r in rows:
        mark = "skipped" if r["ok"] is None else ("yes" if r["ok"] else "NO")
        fault, answer = (str(r[k]).replace("|", "\\|") for k in ("fault", "answer"))
        lines.append(f"| {fault} | {mark} | {answer} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="write the table as Markdown here")
    ap.add_argument("--cli-only", action="store_true",
                    help="only the command's faults; keep the run faults' table of the existing --out report")
    args = ap.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="pain-lib-faults-"))
    cli_rows = cli_sweep(root / "cli") + [full_disk_run(root / "full-disk")]
    print(cli_rows[-1], flush=True)
    if args.cli_only:
        text = (_previous_run_section(args.out) or "") + "\n" + cli_section(cli_rows)
        print(text)
        if args.out:
            from pain_lib.io import atomic_write_text

            atomic_write_text(args.out, text)
        shutil.rmtree(root, ignore_errors=True)
        return
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
            "the clean run's table.\n\n" + "\n".join(lines) + "\n\n" + cli_section(cli_rows))
    print(text)
    if args.out:
        from pain_lib.io import atomic_write_text

        atomic_write_text(args.out, text)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

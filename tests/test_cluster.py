"""Folds over a cluster (pain_lib/experiments/cluster.py): submitit's local executor, two workers,
gives the serial table; a failed job is reported with its log and submitted again on the next
call; two processes writing one store (through two different paths to it) compute each fold once."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from pathlib import Path

import pandas as pd
import pytest

from pain_lib.data import open_dataset
from pain_lib.experiments import Cell, Cluster, JobsFailed, Store, cross_validate, run_grid
from tests import toy_recipes as toy
from tests._synth_data import tiny_root

pytest.importorskip("submitit")
pytestmark = pytest.mark.usefixtures("one_thread")
CV = "group-kfold:2"
ROOT = Path(__file__).resolve().parents[1]
#: columns that differ between any two runs (timings, and whether the store already held it)
VARYING = ["train_s", "test_s", "reused"]


@pytest.fixture(scope="module")
def unbc(tmp_path_factory):
    return open_dataset("synth-unbc", tiny_root(tmp_path_factory, "synth-unbc")).samples


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    return tmp_path_factory.mktemp("crops")


@pytest.fixture(autouse=True)
def importable_tests(monkeypatch):
    """The jobs unpickle the toy recipes by module name: ``tests`` must import in them too."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _cells():
    return [Cell("toy", f"steps={n}", toy.FixedRepresentation(steps=n)) for n in (5, 10, 20)]


def _table(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=[c for c in VARYING if c in table]).reset_index(drop=True)


def test_two_local_workers_give_the_serial_table(unbc, crops, tmp_path, capsys):
    t0 = time.perf_counter()
    serial, _ = run_grid(_cells(), unbc, cv=CV, store=Store(tmp_path / "serial"), cache_dir=crops, progress=False)
    serial_s = time.perf_counter() - t0
    cluster = Cluster("local", max_parallel=2, poll_s=0.2, timeout_min=10)
    store = Store(tmp_path / "spread")
    t0 = time.perf_counter()
    spread, _ = run_grid(_cells(), unbc, cv=CV, store=store, cache_dir=crops, progress=False, cluster=cluster)
    spread_s = time.perf_counter() - t0
    pd.testing.assert_frame_equal(_table(spread), _table(serial))
    assert len(spread) and spread["value"].notna().all()
    # one job per (configuration, fold): 3 configurations x 2 folds, each with its log and result
    results = list((store.root / "jobs" / "submitit").glob("*_0_result.pkl"))
    assert len(results) == 3 * 2
    assert not list((store.root / "jobs").rglob("*.job.json")), "finished jobs leave no record behind"
    # the jobs computed every network fold: the table read them back (nothing recomputed here)
    assert not spread[~spread["baseline"]]["reused"].any()
    again, _ = run_grid(_cells(), unbc, cv=CV, store=store, cache_dir=crops, progress=False, cluster=cluster)
    assert again[~again["baseline"]]["reused"].all()
    assert len(list((store.root / "jobs" / "submitit").glob("*_0_result.pkl"))) == 6, "a complete grid submits nothing"
    with capsys.disabled():
        print(f"\n[cluster] tiny grid (3 configurations x 2 folds): serial {serial_s:.1f} s, "
              f"2 local workers {spread_s:.1f} s (2 shared CPU cores; process start and imports included)")


class Flaky(toy.FixedRepresentation):
    """Fails in a job while its marker file exists (a job that crashes once)."""

    name = "toy-flaky"

    def __init__(self, marker: str):
        super().__init__(steps=5)
        object.__setattr__(self, "marker", marker)

    def identity(self):
        return {**super().identity(), "flaky": True}

    def fit(self, samples, y, ctx):
        if os.path.exists(self.marker):
            raise RuntimeError("simulated crash in a cluster job")
        return super().fit(samples, y, ctx)


def test_a_failed_job_is_reported_with_its_log_and_submitted_again(unbc, crops, tmp_path):
    import sys

    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Flaky travels by value
    marker = tmp_path / "fail"
    marker.write_text("x")
    cells = [Cell("toy", "flaky", Flaky(str(marker)))]
    store = Store(tmp_path / "store")
    cluster = Cluster("local", max_parallel=2, poll_s=0.2, timeout_min=10)
    with pytest.raises(JobsFailed) as err:
        run_grid(cells, unbc, cv=CV, store=store, cache_dir=crops, progress=False, cluster=cluster, baselines=False)
    text = str(err.value)
    assert "2 cluster job(s) failed" in text and "simulated crash in a cluster job" in text
    assert text.count("_log.err") == 2 and "in fit" in text, text  # each log's path and its last lines
    assert text.count("RuntimeError: simulated crash in a cluster job") == 4  # per job: the error, the log's
    marker.unlink()
    table, _ = run_grid(cells, unbc, cv=CV, store=store, cache_dir=crops, progress=False, cluster=cluster,
                        baselines=False)
    assert table["value"].notna().all()
    assert len(list((store.root / "jobs" / "submitit").glob("*_0_result.pkl"))) == 4  # 2 failed + 2 resubmitted


def test_a_running_job_is_collected_not_submitted_again(unbc, crops, tmp_path):
    """A notebook rerun while its jobs run waits for them (wait=False first: JobsPending)."""
    from pain_lib.experiments import JobsPending

    store = Store(tmp_path / "store")
    cluster = Cluster("local", max_parallel=2, poll_s=0.2, timeout_min=10)
    cells = [Cell("toy", "slow", toy.FixedRepresentation(steps=400))]
    with pytest.raises(JobsPending):
        run_grid(cells, unbc, cv=CV, store=store, cache_dir=crops, progress=False, cluster=cluster,
                 baselines=False, wait=False)
    records = list((store.root / "jobs").rglob("*.job.json"))
    assert len(records) == 2
    ids = {json.loads(r.read_text())["job_id"] for r in records}
    table, _ = run_grid(cells, unbc, cv=CV, store=store, cache_dir=crops, progress=False, cluster=cluster,
                        baselines=False)
    assert table["value"].notna().all()
    submitted = {p.name.split("_")[0] for p in (store.root / "jobs" / "submitit").glob("*_0_result.pkl")}
    assert submitted == ids, "the rerun collected the running jobs instead of submitting new ones"


def _writer(args):
    store_root, samples, crops, name = args
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    res = cross_validate(toy.FixedRepresentation(steps=10), samples, cv=CV, store=store_root,
                         cache_dir=crops, progress=False)
    return name, res.folds["resumed"].tolist(), res.folds["mse"].tolist()


def test_two_processes_on_two_paths_to_one_store_compute_each_fold_once(unbc, crops, tmp_path):
    """Two writers of one store, through two different paths to it (a symbolic link stands in for
    a second mount point: the lock is on the file, not the path): each fold is computed once
    and both read the same numbers."""
    real = tmp_path / "store"
    real.mkdir()
    other = tmp_path / "mount-b"
    other.symlink_to(real)
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        out = list(pool.map(_writer, [(str(real), unbc, str(crops), "a"), (str(other), unbc, str(crops), "b")]))
    (_, resumed_a, mse_a), (_, resumed_b, mse_b) = out
    assert mse_a == mse_b
    # every fold computed by exactly one of the two (the other waited on its lock and read it)
    assert all(ra != rb for ra, rb in zip(resumed_a, resumed_b)), (resumed_a, resumed_b)
    assert len([p for p in real.iterdir() if p.is_dir()]) == 1


_BIND_SCRIPT = r'''
import json, multiprocessing as mp, sys
sys.path.insert(0, sys.argv[1])
from pain_lib.data import open_dataset
from tests.test_cluster import _writer

if __name__ == "__main__":
    data, real, mnt, crops, out = sys.argv[2:7]
    samples = open_dataset("synth-unbc", data).samples
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:  # not daemonic: may decode in a pool
        res = list(pool.map(_writer, [(real, samples, crops, "a"), (mnt, samples, crops, "b")]))
    open(out, "w").write(json.dumps(res))
'''


def test_two_processes_on_two_mount_points_of_one_store(unbc, crops, tmp_path, tmp_path_factory):
    """The same with a real second mount point: a bind mount of the store in a private mount
    namespace (``unshare -m``; needs root, as CI runs). Both mounts are one local file system:
    what this shows is that the locks hold on the file whatever path reaches it, not NFS's
    lock manager across machines (docs/cluster.md)."""
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("a bind mount in a private mount namespace needs unshare and root")
    real, mnt = tmp_path / "store", tmp_path / "mnt"
    real.mkdir()
    mnt.mkdir()
    script, out = tmp_path / "bind.py", tmp_path / "out.json"
    script.write_text(_BIND_SCRIPT)
    data = tiny_root(tmp_path_factory, "synth-unbc")
    cmd = (f"mount --bind {real} {mnt} && mountpoint -q {mnt} && "
           f"{sys.executable} {script} {ROOT} {data} {real} {mnt} {crops} {out}")
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", cmd],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and not out.exists() and "mount" in proc.stderr.lower():
        pytest.skip(f"no bind mount here: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (_, resumed_a, mse_a), (_, resumed_b, mse_b) = json.loads(out.read_text())
    assert mse_a == mse_b
    assert all(ra != rb for ra, rb in zip(resumed_a, resumed_b)), (resumed_a, resumed_b)
    assert len([p for p in real.iterdir() if p.is_dir()]) == 1
    assert not any(mnt.iterdir()), "the bind mount was private to the test's namespace"


def test_cluster_settings_are_checked():
    with pytest.raises(ValueError, match="partition"):
        Cluster("slurm")
    with pytest.raises(ValueError, match="one of local, slurm"):
        Cluster("pbs")
    with pytest.raises(ValueError, match="one GPU per running job"):
        Cluster("local", gpus=(0, 1), max_parallel=3)
    c = Cluster("local", gpus=(0, 1))
    assert c.parallel == 2 and Cluster.from_json(c.to_json()) == c


def test_cli_checks_the_executor_flags_before_a_kernel_starts(monkeypatch, capsys, tmp_path):
    import shutil as _shutil

    from pain_lib import cli

    base = ["run", "scn/03_table3_architecture", "--profile", "tiny", "--results-dir", str(tmp_path)]
    assert cli.main(base + ["--partition", "gpu"]) == 2
    assert "--partition needs --executor slurm" in capsys.readouterr().err
    monkeypatch.setattr(_shutil, "which", lambda name: None)
    assert cli.main(base + ["--executor", "slurm", "--partition", "gpu"]) == 2
    assert "no `sbatch`" in capsys.readouterr().err
    assert not (tmp_path / "runs.jsonl").exists(), "nothing ran"

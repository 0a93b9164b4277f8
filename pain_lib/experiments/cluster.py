"""Folds over a cluster: one submitit job per (configuration, fold), all writing to the store.

::

    from pain_lib.experiments import Cluster, run_grid
    cluster = Cluster("slurm", partition="gpu", max_parallel=32, gpus_per_job=1, timeout_min=240)
    table, fits = run_grid(cells, samples, run=run, cluster=cluster)   # waits, then builds the table

:func:`compute_on_cluster` (what :func:`~pain_lib.experiments.cv.run_grid` calls with
``cluster=``) lists the folds of every configuration that the experiment store does not hold yet
and submits one job for each: a SLURM job array with ``max_parallel`` running at once
(``slurm_array_parallelism``), or -- ``Cluster("local", max_parallel=N)`` -- N processes on
this machine through submitit's local executor (no SLURM needed), each given its own GPU of
``gpus`` when there are GPUs to spread over. Every job runs
:func:`~pain_lib.experiments.cv.cross_validate` for its one fold, which computes the fold
under the store's per-fold lock and writes it with checksums; the notebook's own process then
reads every fold back from the store, so the table is the one a serial run gives.

A job's submitit folder (``<store>/jobs/<configuration>/``) keeps its pickled call, its
stdout/stderr and its result; a small record per fold (``<store>/jobs/<configuration>/<fold>.job.json``)
names the job. A later call -- the notebook rerun after its kernel stopped -- does not submit
again what is still queued or running: it waits for it (``wait=True``) or says what is pending
(``wait=False``: :class:`JobsPending`). A job that failed (or vanished: a node lost, a job
killed past its time limit) is reported with its log's last lines in :class:`JobsFailed`, and
submitted again on the next call.

The store's correctness with many writers rests on two things of the file system (see
``docs/cluster.md``): ``rename`` within a folder is atomic (every file is written beside itself
and renamed into place: a reader sees the old file or the new, never a cut one), and
``flock`` on the per-fold lock file is honoured across machines (NFSv4, and NFSv3 with lockd:
Linux maps ``flock`` to POSIX byte-range locks there; Lustre only when mounted with ``-o flock``;
without it two jobs could compute the same fold -- both write the same, checksummed, result,
and the last rename wins).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ENV", "Cluster", "FoldJob", "JobsFailed", "JobsPending", "compute_on_cluster"]

EXECUTORS = ("local", "slurm")
#: the environment variable through which ``pain-lib run/reproduce --executor ...`` hands a
#: :class:`Cluster` (as JSON) to the notebooks' kernels; ``run_grid(run=run)`` reads it
ENV = "PAIN_LIB_CLUSTER"


class JobsFailed(RuntimeError):
    """Jobs of a grid failed; the message names each with its log. The next call resubmits them."""

    def __init__(self, failures: list[tuple[FoldJob, str, str]]):
        self.failures = failures
        lines = [f"{len(failures)} cluster job(s) failed (they are submitted again on the next call):"]
        for job, why, log in failures:
            lines.append(f"  {job.label}: {why}\n    log: {log}")
        super().__init__("\n".join(lines))


class JobsPending(RuntimeError):
    """``wait=False`` and jobs are still queued or running: rerun the cell later to collect them."""


@dataclass(frozen=True)
class Cluster:
    """Where a grid's folds run.

    Args:
        executor: ``"slurm"`` (submitit's SLURM executor: one job array) or ``"local"``
            (submitit's local executor: processes on this machine).
        partition: the SLURM partition (``slurm`` only; required there).
        max_parallel: jobs running at once (the array's parallelism cap; local processes).
        gpus_per_job: GPUs each job asks for (0: CPU jobs).
        gpus: ``local`` only: the GPU indices to spread the jobs over, one GPU per running job
            (``max_parallel`` defaults to their number); empty: CPU processes.
        cpus_per_job, mem_gb, timeout_min: each job's resources and time limit.
        threads: torch intra-op threads of each job (default: ``cpus_per_job``).
        folder: the submitit folder (default: ``<store>/jobs``; must be on the shared file system).
        poll_s: seconds between checks while waiting.
        slurm: extra ``sbatch`` options (``{"account": "...", "qos": "..."}``).
        setup: shell lines each SLURM job runs first (``["module load cuda", "source .venv/bin/activate"]``).
    """

    executor: str = "local"
    partition: str | None = None
    max_parallel: int = 0
    gpus_per_job: int = 0
    gpus: tuple[int, ...] = ()
    cpus_per_job: int = 1
    mem_gb: float = 8.0
    timeout_min: int = 120
    threads: int | None = None
    folder: str | None = None
    poll_s: float = 2.0
    slurm: dict[str, Any] = field(default_factory=dict)
    setup: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"cluster executor {self.executor!r}: use one of {', '.join(EXECUTORS)}")
        if self.executor == "slurm" and not self.partition:
            raise ValueError("Cluster('slurm') needs partition=... (the SLURM partition to submit to)")
        if self.max_parallel < 0 or self.cpus_per_job < 1 or self.timeout_min < 1:
            raise ValueError("max_parallel >= 0, cpus_per_job >= 1 and timeout_min >= 1 are required")
        object.__setattr__(self, "gpus", tuple(int(g) for g in self.gpus))
        if self.gpus and self.max_parallel > len(self.gpus):
            raise ValueError(f"max_parallel={self.max_parallel} jobs at once on {len(self.gpus)} GPUs {list(self.gpus)}: "
                             "one GPU per running job (leave max_parallel at 0 to run one job per GPU)")
        object.__setattr__(self, "setup", tuple(self.setup))

    def to_json(self) -> str:
        from dataclasses import asdict

        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Cluster:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{ENV}: expected a JSON object, got {text[:80]!r}")
        return cls(**{**data, "gpus": tuple(data.get("gpus") or ()), "setup": tuple(data.get("setup") or ())})

    @classmethod
    def from_env(cls) -> Cluster | None:
        """The cluster ``pain-lib ... --executor`` chose (``$PAIN_LIB_CLUSTER``), or ``None``."""
        text = os.environ.get(ENV, "").strip()
        return cls.from_json(text) if text else None

    @property
    def parallel(self) -> int:
        return self.max_parallel or len(self.gpus) or 1


@dataclass
class FoldJob:
    """One fold of one configuration: what a job computes."""

    label: str  # "<configuration label> / <fold>"
    entry_dir: Path  # the configuration's store entry
    fold: str
    call: tuple  # (recipe, samples, y, kwargs) for cross_validate
    run: Any = None  # the job's function: run(*call, fold, threads) (pain_lib.experiments.cv._fold_job)
    job_id: str | None = None

    @property
    def record(self) -> Path:
        return self.entry_dir.parent / "jobs" / self.entry_dir.name / f"{self.fold}.job.json"


# --------------------------------------------------------------------------- job records
def _read_record(job: FoldJob) -> dict | None:
    try:
        return json.loads(job.record.read_text())
    except (OSError, ValueError):
        return None


def _write_record(job: FoldJob, rec: dict) -> None:
    from ..io import atomic_write_json

    job.record.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(job.record, rec)


def _paths(rec: dict) -> tuple[Path, Path, Path]:
    """The result, stdout and stderr files submitit writes for a job (task 0)."""
    folder, jid = Path(rec["folder"]), rec["job_id"]
    return folder / f"{jid}_0_result.pkl", folder / f"{jid}_0_log.out", folder / f"{jid}_0_log.err"


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").rstrip().splitlines()
    except OSError:
        return "(no log)"
    return "\n      ".join(text[-lines:])


_HANDLES: dict[str, Any] = {}  # job id -> submitit job of this process (a local job's process)


def _state(rec: dict) -> str:
    """``done``, ``failed`` (with the result file saying why), ``running`` or ``lost``."""
    result, _, _ = _paths(rec)
    handle = _HANDLES.get(rec["job_id"])
    if handle is not None and not result.is_file() and rec.get("executor") == "local":
        if not handle.done():
            return "running"
        time.sleep(0.2)  # the result file is written just before the process exits
    if result.is_file():
        import pickle

        try:
            with open(result, "rb") as fh:
                outcome, _value = pickle.load(fh)
        except Exception:  # noqa: BLE001 - a cut result file: the job did not finish well
            return "failed"
        return "done" if outcome == "success" else "failed"
    if rec.get("executor") == "slurm":
        import submitit

        state = submitit.SlurmJob(folder=rec["folder"], job_id=rec["job_id"]).state
        if state in ("PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "RESIZING", "SUSPENDED", "UNKNOWN"):
            return "running"
        return "lost"
    try:
        os.kill(int(rec["job_id"]), 0)  # a local job's id is its process id
    except (OSError, ValueError):
        return "lost"
    return "running"


def _failure(rec: dict, state: str) -> tuple[str, str]:
    result, out, err = _paths(rec)
    why = "the job stopped without a result (killed, out of time or memory, a lost node)" if state == "lost" \
        else "the job raised"
    if result.is_file():
        import pickle

        try:
            with open(result, "rb") as fh:
                _, value = pickle.load(fh)
            why = str(value).strip().splitlines()[-1] if str(value).strip() else why
        except Exception:  # noqa: BLE001
            pass
    return why, f"{err}\n      {_tail(err)}"


# --------------------------------------------------------------------------- submitting
def _executor(cluster: Cluster, folder: Path, n_jobs: int, gpu: int | None = None):
    import submitit

    threads = cluster.threads or cluster.cpus_per_job
    if cluster.executor == "slurm":
        ex = submitit.AutoExecutor(folder=folder, cluster="slurm")
        extra = dict(cluster.slurm)
        ex.update_parameters(slurm_partition=cluster.partition, slurm_array_parallelism=cluster.parallel,
                             timeout_min=cluster.timeout_min, cpus_per_task=cluster.cpus_per_job,
                             gpus_per_node=cluster.gpus_per_job, mem_gb=cluster.mem_gb, nodes=1, tasks_per_node=1,
                             slurm_setup=list(cluster.setup), name="pain-lib-fold",
                             slurm_additional_parameters=extra)
        return ex, threads
    ex = submitit.LocalExecutor(folder=folder)
    params: dict[str, Any] = {"timeout_min": cluster.timeout_min}
    if gpu is not None:
        params.update(gpus_per_node=1, visible_gpus=(gpu,))
    ex.update_parameters(**params)
    return ex, threads


def _submit(jobs: list[FoldJob], cluster: Cluster, folder: Path, gpu: int | None = None) -> None:
    """Submit ``jobs`` (SLURM: one array) and record each job's id beside its fold."""
    ex, threads = _executor(cluster, folder, len(jobs), gpu)
    if cluster.executor == "slurm":
        with ex.batch():
            handles = [ex.submit(j.run, *j.call, j.fold, threads) for j in jobs]
    else:
        handles = [ex.submit(j.run, *j.call, j.fold, threads) for j in jobs]
    for j, h in zip(jobs, handles):
        j.job_id = str(h.job_id)
        _HANDLES[j.job_id] = h
        _write_record(j, {"executor": cluster.executor, "job_id": j.job_id, "folder": str(folder),
                          "label": j.label, "submitted": time.time(), "gpu": gpu})


def compute_on_cluster(todo: Sequence[FoldJob], common: dict, cluster: Cluster, *, wait: bool = True,
                       progress: bool = True) -> dict[str, Any]:
    """Compute the folds ``todo`` (missing from the store: ``cv._pending_folds``) as jobs of ``cluster``.

    Folds whose job is still queued or running (from an earlier call) are waited for, not
    submitted again; failed or lost ones are submitted again. Returns ``{"submitted",
    "collected", "seconds"}``; raises :class:`JobsFailed` (every failure of this call, with its
    log) or, with ``wait=False`` while jobs run, :class:`JobsPending`."""
    from tqdm.auto import tqdm

    store = common["store"]
    folder = Path(cluster.folder) if cluster.folder else Path(store.root) / "jobs" / "submitit"
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    todo = list(todo)
    running: list[tuple[FoldJob, dict]] = []
    fresh: list[FoldJob] = []
    for job in todo:
        rec = _read_record(job)
        if rec is not None and _state(rec) == "running":
            job.job_id = rec["job_id"]
            running.append((job, rec))
        else:
            fresh.append(job)  # never submitted, failed or lost last time: (again) now
    prepared: set[int] = set()
    for job in fresh:  # decode and crop faces once, before the jobs need them
        recipe, samples, _, kwargs = job.call
        if id(recipe) not in prepared and hasattr(recipe, "prepare"):
            recipe.prepare(samples, kwargs.get("cache_dir"))
            prepared.add(id(recipe))
    submitted = len(fresh)
    failures: list[tuple[FoldJob, str, str]] = []
    bar = tqdm(total=len(todo), desc=f"folds on {cluster.executor} ({cluster.parallel} at once)", disable=not progress)
    if cluster.executor == "slurm" and fresh:
        _submit(fresh, cluster, folder)
        running += [(j, _read_record(j)) for j in fresh]
        fresh = []
    free_gpus = list(cluster.gpus)
    gpu_of: dict[int, int | None] = {}
    while fresh or running:
        while fresh and (cluster.executor == "slurm" or len(running) < cluster.parallel):
            job = fresh.pop(0)
            gpu = free_gpus.pop(0) if free_gpus else None
            _submit([job], cluster, folder, gpu)
            running.append((job, _read_record(job)))
            gpu_of[id(job)] = gpu
        still = []
        for job, rec in running:
            state = _state(rec)
            if state == "running":
                still.append((job, rec))
                continue
            if id(job) in gpu_of and gpu_of[id(job)] is not None:
                free_gpus.append(gpu_of.pop(id(job)))
            bar.update(1)
            if state == "done" and job.entry_dir.joinpath(f"{job.fold}.json").is_file():
                job.record.unlink(missing_ok=True)
            else:
                why, log = _failure(rec, state)
                failures.append((job, why, log))
                job.record.unlink(missing_ok=True)  # the next call submits it again
        running = still
        if running and not wait and not fresh:
            bar.close()
            raise JobsPending(f"{len(running)} fold job(s) still queued or running ({cluster.executor}, submitit "
                              f"folder {folder}); rerun to collect them")
        if running:
            time.sleep(cluster.poll_s)
    bar.close()
    if failures:
        raise JobsFailed(failures)
    return {"submitted": submitted, "collected": len(todo) - submitted, "seconds": time.perf_counter() - t0}

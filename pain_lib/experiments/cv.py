"""The cross-validation runner: folds -> fit -> predict -> score -> store, for any recipe.

::

    from pain_lib.experiments import cross_validate, run_grid, Cell
    res = cross_validate(recipe, samples, cv="group-kfold:3", store=run.experiment_dir, device=run.device)
    res.summary()                  # metric -> (mean, std over folds)
    res.bootstrap()                # metric -> 90 % band over test subjects
    table, results = run_grid([Cell("SCN", "26", recipe_a), Cell("Res3D", "26", recipe_b)], samples, run=run)

Folds come from a protocol string (``"loso"``, ``"group-kfold:K"``) or a splitter object with
``split(samples) -> list[Split]`` (e.g. :class:`~pain_lib.experiments.protocols.CrossDataset`,
whose unlabelled pretext samples reach ``fit`` as ``ctx.unlabelled``). Every fold is looked up in the
content-addressed :class:`~pain_lib.experiments.store.Store` first (key: the recipe's identity,
the data, the protocol, the seed and the device type), computed under a cross-process lock when
missing, and written with checksums; an interrupted run resumes at the first unfinished fold
(and within it at the last finished epoch, through ``ctx.checkpoint``).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..data.base import Sample
from ..data.splits import Split
from ..fingerprint import fingerprint, memoized
from ..train import plain
from .baselines import baselines_for, learned
from .protocols import CrossDataset
from .protocols import splits as _protocol_splits
from .recipe import FitContext, Recipe
from .results import METRIC_LABELS, CVResult
from .store import Store, experiment_key

__all__ = ["cross_validate", "run_grid", "is_complete", "Cell", "select_cells", "RUN_AT_FULL", "CrossDataset",
           "METRIC_LABELS"]

#: the note of a table cell a profile does not run (:func:`select_cells`)
RUN_AT_FULL = "run at full"



def _fold_file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def _plain_scalars(d: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
    return out


@memoized()
def cross_validate(
    recipe: Recipe,
    samples: Sequence[Sample],
    y: Sequence[Any] | np.ndarray | None = None,
    *,
    cv: str | Any = "group-kfold:3",
    max_folds: int | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    store: Store | str | Path | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
    folds: Sequence[str] | None = None,
) -> CVResult:
    """Fit ``recipe`` on every training fold of ``cv`` and score it on the held-out subjects.

    Args:
        recipe: what to fit and how to predict (:class:`~pain_lib.experiments.recipe.Recipe`).
        samples: the dataset's samples; ``y``: one label per sample, or ``None`` (the recipe
            reads its targets from the samples).
        cv: ``"loso"``, ``"group-kfold:K"`` (subject-grouped) or a splitter object.
        max_folds: evaluate only the first folds (``None``: all).
        seed: seeds the folds, the initialisation and every random draw of the recipe.
        store: the experiment store (a folder or :class:`Store`; ``None``: a temporary one).
        cache_dir: on-disk cache of decoded face crops.
        folds: compute (or read) only these folds, by name (one cluster job's share:
            :mod:`pain_lib.experiments.cluster`); ``None``: every fold.

    Returns a :class:`~pain_lib.experiments.results.CVResult`: one row per fold with the
    recipe's metrics, ``train_s``, ``test_s``, ``n_test_subjects``, ``epochs`` and ``resumed``.
    """
    samples = list(samples)
    if not samples:
        raise ValueError("no samples to cross-validate")
    y_arr = None if y is None else np.asarray(y)
    if y_arr is not None and len(y_arr) != len(samples):
        raise ValueError(f"{len(y_arr)} labels for {len(samples)} samples: give one label per sample")
    store = store if isinstance(store, Store) else Store(store)
    device = torch.device(device)
    entry, splits, identity = _entry(recipe, samples, y_arr, cv=cv, max_folds=max_folds, seed=seed, device=device,
                                     store=store)
    subjects = np.array([s.subject for s in samples])

    from tqdm.auto import tqdm

    rows, outputs, histories, metric_names = [], {}, {}, []
    if folds is not None:
        wanted = {_fold_file_name(f) for f in folds}
        splits = [s for s in splits if _fold_file_name(s.name) in wanted]
    for split in tqdm(splits, desc=f"{recipe.label()} folds", disable=not progress, leave=False):
        fold = _fold_file_name(split.name)
        with entry.lock(fold):
            hit = entry.load_fold(fold, _load_npz)
            if hit is not None:
                record, arrays = hit
                rows.append({**record["row"], "resumed": True})
                metric_names += [m for m in record.get("metrics", []) if m not in metric_names]
                outputs[fold] = arrays
                histories[fold] = pd.DataFrame(record.get("history") or [])
                continue
            train = [samples[i] for i in split.train]
            test = [samples[i] for i in split.test]
            y_train = None if y_arr is None else y_arr[split.train]
            y_test = None if y_arr is None else y_arr[split.test]
            ctx = FitContext(device=device, seed=seed, fold=fold, store=store, entry=entry, cache_dir=cache_dir,
                             progress=progress, checkpoint=entry.file(f"{fold}.ckpt"),
                             unlabelled=[samples[i] for i in split.pretext])
            torch.manual_seed(seed)
            t0 = time.perf_counter()
            fitted = recipe.fit(train, y_train, ctx)
            train_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            out = dict(recipe.predict(fitted, test, y_test, ctx))
            test_s = time.perf_counter() - t0
            local = np.asarray(out["sample"], np.int64)
            out["sample"] = np.asarray(split.test)[local]
            out["subject"] = subjects[out["sample"]]
            metrics = {k: float(v) for k, v in recipe.score(out).items()}
            history = fitted.history if fitted.history is not None else pd.DataFrame()
            row = {"fold": fold, **metrics, "train_s": train_s, "test_s": test_s,
                   "n_test_subjects": len(split.test_subjects), **_plain_scalars(fitted.info)}
            metric_names += [m for m in metrics if m not in metric_names]
            record = {"row": row, "metrics": list(metrics), "history": history.to_dict(orient="records"),
                      "inputs": dict(ctx.inputs), "test_subjects": list(split.test_subjects),
                      "roles": {"train": len(split.train), "test": len(split.test), "pretext": len(split.pretext)}}
            entry.save_fold(fold, record, arrays=out, write_arrays=_save_npz,
                            fitted_writer=lambda fh, f=fitted: recipe.save_fitted(f, fh))
            rows.append({**row, "resumed": False})
            outputs[fold] = out
            histories[fold] = history
    return CVResult(folds=pd.DataFrame(rows), outputs=outputs, histories=histories, score_fn=recipe.score,
                    identity=identity, entry=entry, load_fitted=recipe.load_fitted, metrics=metric_names)


def _entry(recipe: Recipe, samples: Sequence[Sample], y: np.ndarray | None, *, cv: str | Any, max_folds: int | None,
           seed: int, device: torch.device, store: Store) -> tuple[Any, list[Split], dict]:
    """The store entry of a configuration, its folds and the recipe's identity."""
    splits = _protocol_splits(samples, cv, seed)
    if max_folds is not None:
        splits = splits[:max_folds]
    identity = recipe.identity()
    key = experiment_key(recipe=identity, data=fingerprint([samples, y]), cv=cv, seed=seed, device=device.type)
    entry = store.entry(recipe.label(), key)
    entry.write_identity({"recipe": plain(identity), "cv": str(cv), "seed": seed,
                          "device": device.type, "samples": len(samples)})
    return entry, splits, identity


def is_complete(recipe: Recipe, samples: Sequence[Sample], y: Any = None, *, cv: str | Any, max_folds: int | None = None,
                seed: int = 0, device: torch.device | str = "cpu", store: Store | str | Path | None = None) -> bool:
    """Whether every fold of this configuration is in the store already (nothing to compute)."""
    store = store if isinstance(store, Store) else Store(store)
    y_arr = None if y is None else np.asarray(y)
    entry, splits, _ = _entry(recipe, list(samples), y_arr, cv=cv, max_folds=max_folds, seed=seed,
                              device=torch.device(device), store=store)
    return all(entry.file(f"{_fold_file_name(s.name)}.json").is_file() for s in splits)


def _cell_worker(job: tuple) -> str | None:
    """Compute one grid cell in a worker process (:func:`run_grid` with ``jobs``); the parent
    reads the result from the store. Returns the error text of a failure (the parent then
    recomputes that cell itself and raises it)."""
    recipe, samples, y, kwargs, threads = job
    torch.set_num_threads(threads)
    try:
        cross_validate(recipe, samples, y, progress=False, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported by the parent's own attempt
        return f"{type(exc).__name__}: {exc}"
    return None


# --------------------------------------------------------------------------- cluster jobs
def _pending_folds(plan: Sequence[tuple], common: dict) -> list:
    """The folds of ``plan`` (``(cell, samples, y, cv)``) that the store does not hold yet."""
    from .cluster import FoldJob

    store = common["store"]
    out = []
    for cell, samples, y, cv in plan:
        y_arr = None if y is None else np.asarray(y)
        entry, splits, _ = _entry(cell.recipe, list(samples), y_arr, cv=cv, max_folds=common.get("max_folds"),
                                  seed=common.get("seed") or 0, device=torch.device(common.get("device") or "cpu"),
                                  store=store)
        kwargs = {k: v for k, v in common.items() if k != "store"}
        kwargs.update(cv=cv, store=str(store.root))
        for split in splits:
            fold = _fold_file_name(split.name)
            if entry.file(f"{fold}.json").is_file():
                continue
            out.append(FoldJob(f"{cell.recipe.label()} ({cell.row} / {cell.column}) / {fold}", entry.path, fold,
                               (cell.recipe, list(samples), y, kwargs), run=_fold_job))
    return out


def _fold_job(recipe: Any, samples: list, y: Any, kwargs: dict, fold: str, threads: int) -> dict:
    """A job's body: compute one fold into the store (read back if another job already did)."""
    import os

    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    if visible and "," not in visible and str(kwargs.get("device", "")).startswith("cuda:"):
        kwargs = {**kwargs, "device": "cuda"}  # a local job given one GPU sees it as cuda:0
    torch.set_num_threads(max(1, threads))
    t0 = time.perf_counter()
    res = cross_validate(recipe, samples, y, folds=[fold], progress=False, **kwargs)
    return {"fold": fold, "seconds": time.perf_counter() - t0, "resumed": bool(res.folds["resumed"].all()),
            "host": os.uname().nodename, "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", "")}


def _save_npz(fh, arrays: Mapping[str, np.ndarray]) -> None:
    np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@dataclass
class Cell:
    """One cell of a results table: the paper's ``row`` and ``column`` labels and the recipe that
    computes it. A cell may bring its own ``samples``, labels ``y`` and protocol ``cv`` (a table
    over ten tasks is one :func:`run_grid` call); otherwise it uses the grid's, restricted to
    the samples its recipe's targets can read (``recipe.select``, when the recipe has one).

    A cell with a ``skip`` note (:func:`select_cells`) is not computed: :func:`run_grid` gives it
    rows without a value whose ``run_note`` says why (e.g. "run at full"), so the table still
    shows the paper's cell."""

    row: str
    column: str
    recipe: Recipe
    extra: dict[str, Any] = field(default_factory=dict)
    samples: Sequence[Sample] | None = None
    y: Sequence[Any] | np.ndarray | None = None
    cv: str | Any | None = None
    skip: str = ""

    def inputs(self, samples: Sequence[Sample] | None, y: Any, cv: Any) -> tuple[list[Sample], Any, Any]:
        """``(samples, y, cv)`` this cell runs on."""
        own = self.samples is not None
        cell_samples = list(self.samples) if own else list(samples or [])
        cell_y = self.y if self.y is not None else (None if own else y)
        if not own and cell_y is None and hasattr(self.recipe, "select"):
            cell_samples = self.recipe.select(cell_samples)
        if not cell_samples:
            raise ValueError(f"cell ({self.row!r}, {self.column!r}) has no samples: give run_grid samples, or the "
                             "cell its own (Cell(..., samples=...)); its recipe's targets may read labels the "
                             "dataset does not have")
        return cell_samples, cell_y, self.cv if self.cv is not None else cv


def select_cells(cells: Sequence[Cell], keep: Sequence[tuple[str, str]], *, profile: Any) -> list[Cell]:
    """The cells of a table a profile computes. A profile with ``claims_only`` computes only
    ``keep`` -- the ``(row, column)`` cells the notebook's claims compare -- and marks every other
    cell ``skip=RUN_AT_FULL`` (shown in the table, not computed); any other profile computes
    every cell. A ``keep`` cell the table lacks is an error (a typo would silently run nothing)."""
    cells = list(cells)
    names = {(c.row, c.column) for c in cells}
    unknown = [k for k in keep if tuple(k) not in names]
    if unknown:
        raise ValueError(f"select_cells: {unknown[0]!r} is not a cell of this table; its cells are "
                         f"{sorted(names)[:6]}{' …' if len(names) > 6 else ''}")
    if not getattr(profile, "claims_only", False):
        return cells
    wanted = {tuple(k) for k in keep}
    return [c if (c.row, c.column) in wanted else dataclasses.replace(c, skip=RUN_AT_FULL) for c in cells]


@memoized()
def run_grid(
    cells: Sequence[Cell],
    samples: Sequence[Sample] | None = None,
    y: Sequence[Any] | np.ndarray | None = None,
    *,
    run: Any = None,
    cv: str | Any | None = None,
    max_folds: int | None = None,
    seed: int | None = None,
    device: torch.device | str | None = None,
    store: Store | str | Path | None = None,
    cache_dir: Path | None = None,
    bands: bool = True,
    baselines: bool = True,
    jobs: int | None = None,
    progress: bool = True,
    cluster: Any = None,
    wait: bool = True,
) -> tuple[pd.DataFrame, dict[tuple[str, str], CVResult]]:
    """Cross-validate every cell's recipe on the same folds; return the long table and the results.

    The table has one row per cell and metric: ``row, column, metric, value`` (mean over
    folds), ``std`` (over folds), ``lo, hi`` (the bootstrap band over test subjects,
    :meth:`CVResult.bootstrap`), ``n`` (folds), ``train_s``, ``test_s``, ``epochs`` and ``reused``
    (read from the store: another table, or an earlier run, computed it) -- the cells'
    :meth:`CVResult.rows`. Each cell runs on its own ``samples`` / ``y`` / ``cv`` when it has
    them (:class:`Cell`), else on the grid's. A cell with ``skip`` set (:func:`select_cells`) is not
    computed: it keeps its place in the table with no value and its note in ``run_note``, and it has
    no entry in the results.

    With ``baselines`` (and ``bands``), every column also gets the rows of the trivial and the
    linear baseline of its cells' target, on the same samples and folds
    (:mod:`pain_lib.experiments.baselines`; ``baseline`` is True in their rows), and every
    network row says whether it ``learned`` its metric (its band excludes the trivial
    baseline's value; also in each result's :attr:`CVResult.learned`). ``run`` (a notebook's
    :class:`~pain_lib.notebook.Run`) supplies ``cv``, ``max_folds``, ``seed``, ``device``, ``store``,
    ``cache_dir`` and, on a GPU, ``jobs`` (the profile's ``grid_jobs``); explicit arguments win.

    ``jobs`` > 1 computes the missing cells in that many worker processes at once (small networks
    leave a GPU mostly idle; several configurations at once fill it), then reads every cell from
    the store; the numbers are the same as computed one by one.

    ``cluster`` (a :class:`~pain_lib.experiments.cluster.Cluster`; with ``run``, the one
    ``pain-lib run/reproduce --executor`` chose) computes every missing fold as its own job
    (SLURM job arrays, or submitit's local executor) and waits for them (``wait=False``: raise
    :class:`~pain_lib.experiments.cluster.JobsPending` while they run; a rerun collects them);
    a failed job raises :class:`~pain_lib.experiments.cluster.JobsFailed` with its log and is
    submitted again on the next call. The table is then read from the store, as serially.
    """
    from tqdm.auto import tqdm

    if run is not None:
        cv = cv or run.profile.cv
        max_folds = max_folds if max_folds is not None else run.profile.max_folds
        seed = seed if seed is not None else run.seed
        device = device or run.device
        store = store or run.experiment_dir
        cache_dir = cache_dir or run.cache_dir
        if jobs is None and torch.device(device).type == "cuda":
            jobs = run.profile.grid_jobs
    store = store if isinstance(store, Store) else Store(store)
    common = {"max_folds": max_folds, "seed": seed or 0, "device": device or "cpu", "store": store,
              "cache_dir": cache_dir}
    skipped = [cell for cell in cells if cell.skip]
    plan = [(cell, *cell.inputs(samples, y, cv)) for cell in cells if not cell.skip]
    missing_cv = [c for c, _, _, c_cv in plan if c_cv is None]
    if missing_cv:
        raise TypeError(f"run_grid needs run=..., cv=... or a cv on every cell (cell ({missing_cv[0].row!r}, "
                        f"{missing_cv[0].column!r}) has none)")
    if cluster is None and run is not None:
        from .cluster import Cluster

        cluster = Cluster.from_env()
    if cluster is not None:
        from .cluster import compute_on_cluster

        todo = _pending_folds(plan, common)
        computed = {fingerprint(j.call[0].identity()) for j in todo}
        compute_on_cluster(todo, common, cluster, wait=wait, progress=progress)
    else:
        computed = _compute_in_workers(plan, common, jobs, progress) if (jobs or 1) > 1 else set()
    rows, results, reused = [], {}, 0
    added: set[tuple[str, str]] = set()
    position = {id(cell): i for i, cell in enumerate(cells)}  # rows keep the cells' order
    for cell, c_samples, c_y, c_cv in tqdm(plan, desc="configurations", disable=not progress):
        res = cross_validate(cell.recipe, c_samples, c_y, cv=c_cv, progress=False, **common)
        results[(cell.row, cell.column)] = res
        was_reused = bool(res.folds["resumed"].all()) and fingerprint(cell.recipe.identity()) not in computed
        reused += was_reused
        base = [(label, cross_validate(b, c_samples, c_y, cv=c_cv, progress=False, **common))
                for label, b in (baselines_for(cell.recipe) if baselines and bands else [])]
        if base:  # the first is the trivial one
            res.learned = learned(res, base[0][1])
        for r in res.rows(bands=bands):
            rows.append({"row": cell.row, "column": cell.column, **r, "reused": was_reused, "baseline": False,
                         "learned": res.learned.get(_metric_key(r["metric"])), **cell.extra,
                         "_at": position[id(cell)]})
        for label, b_res in base:
            if (label, cell.column) in added:  # one baseline row per column
                continue
            added.add((label, cell.column))
            for r in b_res.rows(bands=bands):
                rows.append({"row": label, "column": cell.column, **r, "reused": True, "baseline": True,
                             "learned": None, **cell.extra, "_at": position[id(cell)]})
    computed_rows = [r for r in rows if not r["baseline"]]
    for cell in skipped:  # the paper's cell, shown with why it has no value: the metrics of its column
        metrics = (list(dict.fromkeys(r["metric"] for r in computed_rows if r["column"] == cell.column))
                   or list(dict.fromkeys(r["metric"] for r in computed_rows)) or [""])
        rows += [{"row": cell.row, "column": cell.column, "metric": m, "value": np.nan, "std": np.nan, "lo": np.nan,
                  "hi": np.nan, "n": np.nan, "reused": False, "baseline": False, "learned": None,
                  "run_note": cell.skip, **cell.extra, "_at": position[id(cell)]} for m in metrics]
    if progress and skipped:
        print(f"{len(skipped)} of {len(cells)} configurations not run at this profile ({skipped[0].skip}): "
              "only the cells the claims compare")
    if progress and reused:
        print(f"{reused} of {len(cells)} configurations read from the experiment store {store.root} "
              "(computed earlier with identical settings, data and seed)")
    table = pd.DataFrame(rows)
    if len(table):
        table = table.sort_values("_at", kind="stable").drop(columns="_at").reset_index(drop=True)
    return table, results


def _metric_key(label: str) -> str:
    """The metric name of a table's metric label (``"AUC"`` -> ``"auc"``)."""
    return {v: k for k, v in METRIC_LABELS.items()}.get(label, label)


def _compute_in_workers(plan: Sequence[tuple], common: dict, jobs: int, progress: bool) -> set[str]:
    """Compute the cells missing from the store in ``jobs`` spawned worker processes; returns the
    fingerprints of the recipes computed."""
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    check = {k: v for k, v in common.items() if k != "cache_dir"}
    todo = {fingerprint([c.recipe.identity(), s, y, cv]): (c, s, y, cv) for c, s, y, cv in plan
            if not is_complete(c.recipe, s, y, cv=cv, **check)}
    if len(todo) < 2:
        return set()
    computed = {fingerprint(c.recipe.identity()) for c, _, _, _ in todo.values()}
    for c, s, _, _ in todo.values():  # decode and crop faces once, before the workers need them
        c.recipe.prepare(s, common["cache_dir"])
    jobs = min(jobs, len(todo))
    threads = max(1, min(2, (os.cpu_count() or 2) // jobs))  # GPU work: a thread or two of Python each
    args = [(c.recipe, list(s), y, {**common, "cv": cv, "store": common["store"].root}, threads)
            for c, s, y, cv in todo.values()]
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        for _ in tqdm(pool.map(_cell_worker, args), total=len(args), desc=f"configurations ({jobs} at once)",
                      disable=not progress):
            pass
    return computed

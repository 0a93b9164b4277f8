"""The cross-validation runner: folds -> fit -> predict -> score -> store, for any recipe.

::

    from pain_lib.experiments import cross_validate, run_grid, Cell
    res = cross_validate(recipe, samples, cv="group-kfold:3", store=run.experiment_dir, device=run.device)
    res.summary()                  # metric -> (mean, std over folds)
    res.bootstrap()                # metric -> 90 % band over test subjects
    table, results = run_grid([Cell("SCN", "26", recipe_a), Cell("Res3D", "26", recipe_b)], samples, run=run)

Folds come from a protocol string (``"loso"``, ``"group-kfold:K"``) or a splitter object with
``split(samples) -> list[Split]`` (e.g. :class:`CrossDataset`). Every fold is looked up in the
content-addressed :class:`~pain_lib.experiments.store.Store` first (key: the recipe's identity,
the data, the protocol, the seed and the device type), computed under a cross-process lock when
missing, and written with checksums; an interrupted run resumes at the first unfinished fold
(and within it at the last finished epoch, through ``ctx.checkpoint``).
"""

from __future__ import annotations

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
from ..data.splits import Split, make_splits
from ..fingerprint import fingerprint, memoized
from ..train import plain
from .recipe import FitContext, Recipe
from .results import CVResult
from .store import Store, experiment_key

__all__ = ["cross_validate", "run_grid", "is_complete", "Cell", "CrossDataset", "METRIC_LABELS"]

#: metric -> the label the papers' tables use
METRIC_LABELS = {"auc": "AUC", "mse": "MSE", "mae": "MAE", "pcc": "PCC", "accuracy": "accuracy"}


@dataclass(frozen=True)
class CrossDataset:
    """Train on the ``source`` samples (plus ``target_fraction`` of the target's subjects), test on
    the rest of the target -- one fold (the SSD paper's cross-dataset protocol).

    ``source`` and ``target`` are sets of sample ids of the sample list given to
    :func:`cross_validate` (which then holds both datasets)."""

    source: frozenset[str]
    target_fraction: float = 0.0
    seed: int = 0

    def split(self, samples: Sequence[Sample]) -> list[Split]:
        ids = np.array([s.sample_id for s in samples])
        is_src = np.isin(ids, list(self.source))
        tgt_subjects = sorted({s.subject for s, src in zip(samples, is_src) if not src})
        rng = np.random.default_rng(self.seed)
        take = set(np.array(tgt_subjects)[rng.permutation(len(tgt_subjects))[: int(round(self.target_fraction * len(tgt_subjects)))]])
        subj = np.array([s.subject for s in samples])
        train = np.flatnonzero(is_src | np.isin(subj, list(take)))
        test = np.flatnonzero(~is_src & ~np.isin(subj, list(take)))
        name = f"cross-dataset-{int(round(100 * self.target_fraction))}pct"
        return [Split(name, train, test, tuple(sorted(set(subj[test]))))]

    def __fingerprint__(self) -> dict:
        return {"source": sorted(self.source), "target_fraction": self.target_fraction, "seed": self.seed}


def _splits(samples: Sequence[Sample], cv: str | Any, seed: int) -> list[Split]:
    if isinstance(cv, str):
        return make_splits(samples, cv, seed)
    if hasattr(cv, "split"):
        return list(cv.split(samples))
    raise TypeError(f"cv must be 'loso', 'group-kfold:K' or a splitter with .split(samples), got {cv!r}")


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
                             progress=progress, checkpoint=entry.file(f"{fold}.ckpt"))
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
                      "inputs": dict(ctx.inputs), "test_subjects": list(split.test_subjects)}
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
    splits = _splits(samples, cv, seed)
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


def _save_npz(fh, arrays: Mapping[str, np.ndarray]) -> None:
    np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@dataclass
class Cell:
    """One cell of a results table: the paper's ``row`` and ``column`` labels and the recipe that
    computes it (optionally with its own labels ``y`` and protocol ``cv``)."""

    row: str
    column: str
    recipe: Recipe
    extra: dict[str, Any] = field(default_factory=dict)


@memoized()
def run_grid(
    cells: Sequence[Cell],
    samples: Sequence[Sample],
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
    jobs: int | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict[tuple[str, str], CVResult]]:
    """Cross-validate every cell's recipe on the same folds; return the long table and the results.

    The table has one row per cell and metric: ``row, column, metric, value`` (mean over
    folds), ``std`` (over folds), ``lo, hi`` (the bootstrap band over test subjects,
    :meth:`CVResult.bootstrap`), ``n`` (folds), ``train_s``, ``test_s``, ``epochs`` and ``reused``
    (read from the store: another table, or an earlier run, computed it). ``run`` (a notebook's
    :class:`~pain_lib.notebook.Run`) supplies ``cv``, ``max_folds``, ``seed``, ``device``, ``store``,
    ``cache_dir`` and, on a GPU, ``jobs`` (the profile's ``grid_jobs``); explicit arguments win.

    ``jobs`` > 1 computes the missing cells in that many worker processes at once (small networks
    leave a GPU mostly idle; several configurations at once fill it), then reads every cell from
    the store; the numbers are the same as computed one by one.
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
    if cv is None:
        raise TypeError("run_grid needs run=... or cv=...")
    store = store if isinstance(store, Store) else Store(store)
    common = {"cv": cv, "max_folds": max_folds, "seed": seed or 0, "device": device or "cpu", "store": store,
              "cache_dir": cache_dir}
    computed = _compute_in_workers(cells, samples, y, common, jobs, progress) if (jobs or 1) > 1 else set()
    rows, results, reused = [], {}, 0
    for cell in tqdm(list(cells), desc="configurations", disable=not progress):
        res = cross_validate(cell.recipe, samples, y, progress=False, **common)
        results[(cell.row, cell.column)] = res
        was_reused = bool(res.folds["resumed"].all()) and fingerprint(cell.recipe.identity()) not in computed
        reused += was_reused
        band = res.bootstrap() if bands else {}
        timing = {c: float(res.folds[c].mean()) for c in ("train_s", "test_s", "epochs") if c in res.folds}
        for m, (mean, std) in res.summary().items():
            lo, hi = band.get(m, (np.nan, np.nan))
            rows.append({"row": cell.row, "column": cell.column, "metric": METRIC_LABELS.get(m, m), "value": mean,
                         "std": std, "lo": lo, "hi": hi, "n": len(res.folds), **timing, "reused": was_reused,
                         **cell.extra})
    if progress and reused:
        print(f"{reused} of {len(cells)} configurations read from the experiment store {store.root} "
              "(computed earlier with identical settings, data and seed)")
    return pd.DataFrame(rows), results


def _compute_in_workers(cells: Sequence[Cell], samples: Sequence[Sample], y: Any, common: dict, jobs: int,
                        progress: bool) -> set[str]:
    """Compute the cells missing from the store in ``jobs`` spawned worker processes; returns the
    fingerprints of the recipes computed."""
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    todo = {id(c.recipe): c for c in cells
            if not is_complete(c.recipe, samples, y, **{k: v for k, v in common.items() if k != "cache_dir"})}
    todo = {fingerprint(c.recipe.identity()): c for c in todo.values()}
    if len(todo) < 2:
        return set()
    computed, todo = set(todo), list(todo.values())
    for c in todo:  # decode and crop faces once, before the workers need them
        c.recipe.prepare(samples, common["cache_dir"])
    jobs = min(jobs, len(todo))
    threads = max(1, min(2, (os.cpu_count() or 2) // jobs))  # GPU work: a thread or two of Python each
    args = [(c.recipe, list(samples), y, {**common, "store": common["store"].root}, threads) for c in todo]
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        for _ in tqdm(pool.map(_cell_worker, args), total=len(args), desc=f"configurations ({jobs} at once)",
                      disable=not progress):
            pass
    return computed

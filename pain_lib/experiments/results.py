"""Cross-validation results and their noise bands.

A :class:`CVResult` holds one row per fold (metrics, timings, epochs), every fold's predictions
with the subject of each output row, and every fold's learning curve. Its noise bands answer
"is this difference real?":

* the spread over folds (``std`` of the per-fold metric), when there are several folds;
* a bootstrap over test subjects (:meth:`CVResult.bootstrap`): subjects are drawn with
  replacement within each fold, the fold metric is recomputed from their outputs and averaged
  over folds -- the same statistic the table reports, so the interval brackets the table's value;
* for two configurations evaluated on the same folds, :func:`compare` bootstraps the *paired*
  difference (the same subject draws for both), which is much tighter than two separate bands.
  A difference whose interval contains 0 is "within the noise".
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["METRIC_LABELS", "CVResult", "compare", "compare_rows", "compare_pairs", "Comparison", "BOOTSTRAP_DRAWS", "BAND_LEVEL"]

#: metric -> the label the papers' tables use
METRIC_LABELS = {"auc": "AUC", "mse": "MSE", "mae": "MAE", "pcc": "PCC", "accuracy": "accuracy"}

#: bootstrap replicates of a noise band, and its coverage
BOOTSTRAP_DRAWS = 200
BAND_LEVEL = 0.90


def _take(outputs: Mapping[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in outputs.items()}


def _subject_rows(outputs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    subj = np.asarray(outputs["subject"])
    names = np.unique(subj)
    return names, [np.flatnonzero(subj == s) for s in names]


def _bootstrap_folds(score: Callable[[Mapping[str, np.ndarray]], dict[str, float]],
                     folds: Sequence[Mapping[str, np.ndarray]], metrics: Sequence[str], *, draws: int, seed: int,
                     others: Sequence[Sequence[Mapping[str, np.ndarray]]] = ()) -> list[np.ndarray]:
    """Replicates ``(draws, len(metrics))`` of the mean-over-folds metrics for ``folds`` and for
    each of ``others`` (evaluated on the same folds and subjects: paired draws)."""
    rng = np.random.default_rng(seed)
    groups = [_subject_rows(f) for f in folds]
    sets = [folds, *others]
    # rows of each subject of the first set's folds, in every set (the same subjects: paired draws)
    rows_of = [[[np.flatnonzero(np.asarray(fold_set[fi]["subject"]) == name) for name in names]
                for fi, (names, _) in enumerate(groups)] for fold_set in sets]
    out = [np.full((draws, len(metrics)), np.nan) for _ in sets]
    for d in range(draws):
        per_set = [[] for _ in sets]
        for fi, (names, _) in enumerate(groups):
            pick = rng.integers(0, len(names), len(names))
            for si, fold_set in enumerate(sets):
                idx = np.concatenate([rows_of[si][fi][j] for j in pick])
                m = score(_take(fold_set[fi], idx))
                per_set[si].append([m.get(k, np.nan) for k in metrics])
        for si in range(len(sets)):
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a metric undefined in every fold
                out[si][d] = np.nanmean(np.array(per_set[si], float), axis=0)
    return out


@dataclass
class CVResult:
    """Per-fold metrics, predictions and learning curves of one cross-validated configuration."""

    folds: pd.DataFrame
    outputs: dict[str, dict[str, np.ndarray]]
    histories: dict[str, pd.DataFrame]
    score_fn: Callable[[Mapping[str, np.ndarray]], dict[str, float]]
    identity: dict[str, Any] = field(default_factory=dict)
    #: the store entry (fitted models: :meth:`fitted`)
    entry: Any = None
    load_fitted: Callable[[Any], Any] | None = None

    #: the names of the recipe's metrics (columns of ``folds``)
    metrics: list[str] = field(default_factory=list)

    @property
    def metric_names(self) -> list[str]:
        return [m for m in self.metrics if m in self.folds]

    def summary(self, metrics: Sequence[str] | None = None) -> dict[str, tuple[float, float]]:
        """metric -> (mean, std over folds); std is NaN with a single fold."""
        out = {}
        for c in metrics or self.metric_names:
            vals = self.folds[c].astype(float).to_numpy()
            vals = vals[np.isfinite(vals)]
            out[c] = (float(vals.mean()) if len(vals) else float("nan"),
                      float(vals.std(ddof=1)) if len(vals) > 1 else float("nan"))
        return out

    def pooled(self) -> dict[str, np.ndarray]:
        """Every fold's outputs concatenated (``y_true``, ``y_pred``/``y_score``, ``sample``,
        ``subject``, ...)."""
        keys = set().union(*(o.keys() for o in self.outputs.values())) if self.outputs else set()
        return {k: np.concatenate([o[k] for o in self.outputs.values() if k in o]) for k in keys}

    def per_subject(self, metric: str) -> pd.Series:
        """``metric`` of each test subject's own outputs (subject -> value)."""
        pooled = self.pooled()
        names, rows = _subject_rows(pooled)
        return pd.Series({n: self.score_fn(_take(pooled, r)).get(metric, np.nan) for n, r in zip(names, rows)},
                         name=metric)

    def bootstrap(self, metrics: Sequence[str] | None = None, *, draws: int = BOOTSTRAP_DRAWS,
                  level: float = BAND_LEVEL, seed: int = 0) -> dict[str, tuple[float, float]]:
        """metric -> (lo, hi): a ``level`` percentile interval of the mean-over-folds metric under
        resampling of each fold's test subjects."""
        metrics = list(metrics or self.metric_names)
        folds = [self.outputs[f] for f in self.folds["fold"] if f in self.outputs and len(self.outputs[f])]
        if not folds or not all("subject" in f for f in folds):
            return {m: (np.nan, np.nan) for m in metrics}
        (reps,) = _bootstrap_folds(self.score_fn, folds, metrics, draws=draws, seed=seed)
        a = (1 - level) / 2
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanquantile(reps, a, axis=0), np.nanquantile(reps, 1 - a, axis=0)
        return {m: (float(lo[i]), float(hi[i])) for i, m in enumerate(metrics)}

    def row(self, metric: str, *, band: bool = True) -> dict[str, Any]:
        """One table row of ``metric``: ``metric`` (the papers' label), ``value`` (mean over folds),
        ``std`` (over folds), ``lo, hi`` (:meth:`bootstrap` band; NaN without ``band``), ``n``
        (folds) and the mean ``train_s``, ``test_s``, ``epochs`` of the folds."""
        return self.rows([metric], bands=band)[0]

    def rows(self, metrics: Sequence[str] | None = None, *, bands: bool = True) -> list[dict[str, Any]]:
        """:meth:`row` of every metric (one bootstrap for all of them)."""
        metrics = list(metrics or self.metric_names)
        band = self.bootstrap(metrics) if bands else {}
        timing = {c: float(self.folds[c].mean()) for c in ("train_s", "test_s", "epochs") if c in self.folds}
        out = []
        for m, (mean, std) in self.summary(metrics).items():
            lo, hi = band.get(m, (np.nan, np.nan))
            out.append({"metric": METRIC_LABELS.get(m, m), "value": mean, "std": std, "lo": lo, "hi": hi,
                        "n": len(self.folds), **timing})
        return out

    def subset(self, samples: Sequence[int]) -> CVResult:
        """The same result restricted to the output rows of the given samples (dataset indices),
        e.g. the sequences of one expression speed; fold metrics are recomputed on them."""
        keep = set(int(i) for i in samples)
        outputs = {}
        for f, o in self.outputs.items():
            rows = np.flatnonzero(np.isin(o["sample"], list(keep)))
            outputs[f] = _take(o, rows)
        folds = self.folds.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for i, f in enumerate(folds["fold"]):
                o = outputs.get(f)
                m = self.score_fn(o) if o is not None and len(o["sample"]) else {}
                for k in self.metric_names:
                    folds.loc[i, k] = m.get(k, np.nan)
        return CVResult(folds=folds, outputs=outputs, histories=self.histories, score_fn=self.score_fn,
                        identity=self.identity, entry=self.entry, load_fitted=self.load_fitted, metrics=self.metrics)

    def learning_curves(self) -> pd.DataFrame:
        """Every fold's history (``fold, epoch, train_loss, val_loss, ...``) in one frame."""
        frames = [h.assign(fold=f) for f, h in self.histories.items() if h is not None and len(h)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["fold", "epoch", "train_loss"])

    def fitted(self, fold: int | str = 0):
        """The fitted model of a fold (read from the store), in eval mode where it is a network."""
        name = self.folds["fold"].iloc[fold] if isinstance(fold, int) else fold
        fitted = self.load_fitted(self.entry.file(f"{name}.pt"))
        model = fitted.model
        return model.eval() if hasattr(model, "eval") else model


@dataclass(frozen=True)
class Comparison:
    """``a - b`` of one metric, with a paired bootstrap interval over test subjects."""

    metric: str
    difference: float
    lo: float
    hi: float
    level: float

    @property
    def within_noise(self) -> bool:
        """True when the interval contains 0 (or is undefined)."""
        return not (self.lo > 0 or self.hi < 0)

    def describe(self, a: str = "a", b: str = "b", *, digits: int = 3, scale: float = 1.0) -> str:
        d, lo, hi = self.difference * scale, self.lo * scale, self.hi * scale
        verdict = "within the noise" if self.within_noise else "outside the noise"
        return (f"{a} − {b} = {d:+.{digits}g} {self.metric} ({self.level:.0%} band {lo:+.{digits}g} … "
                f"{hi:+.{digits}g}: {verdict})")


def compare(a: CVResult, b: CVResult, metric: str, *, draws: int = BOOTSTRAP_DRAWS, level: float = BAND_LEVEL,
            seed: int = 0) -> Comparison:
    """Paired bootstrap of ``a - b`` for ``metric`` over the test subjects the two results share
    fold by fold (both must come from the same folds, e.g. two cells of one grid)."""
    folds = [f for f in a.folds["fold"] if f in a.outputs and f in b.outputs]
    if not folds:
        raise ValueError("the two results share no fold: compare configurations run on the same folds")
    fa = [a.outputs[f] for f in folds]
    fb = [b.outputs[f] for f in folds]
    ra, rb = _bootstrap_folds(a.score_fn, fa, [metric], draws=draws, seed=seed, others=[fb])
    diff = (ra - rb)[:, 0]
    q = (1 - level) / 2
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ma = np.nanmean([a.score_fn(o).get(metric, np.nan) for o in fa])
        mb = np.nanmean([b.score_fn(o).get(metric, np.nan) for o in fb])
        lo, hi = float(np.nanquantile(diff, q)), float(np.nanquantile(diff, 1 - q))
    return Comparison(metric, float(ma - mb), lo, hi, level)


def compare_pairs(pairs: Sequence[tuple[str, CVResult, CVResult]], metric: str, *, draws: int = BOOTSTRAP_DRAWS,
                  level: float = BAND_LEVEL, seed: int = 0) -> pd.DataFrame:
    """One paired comparison (:func:`compare`) per ``(setting, a, b)``: ``setting, difference
    (a - b), lo, hi, within_noise``."""
    rows = []
    for setting, a, b in pairs:
        cmp = compare(a, b, metric, draws=draws, level=level, seed=seed)
        rows.append({"setting": setting, "difference": cmp.difference, "lo": cmp.lo, "hi": cmp.hi,
                     "within_noise": cmp.within_noise})
    return pd.DataFrame(rows, columns=["setting", "difference", "lo", "hi", "within_noise"])


def compare_rows(results: Mapping[tuple[str, str], CVResult], better: str, worse: str, metric: str, *,
                 columns: Sequence[str] | None = None, **kw) -> pd.DataFrame:
    """:func:`compare_pairs` of rows ``better`` and ``worse`` of a grid's results
    (:func:`pain_lib.experiments.run_grid`) in every column they share."""
    cols = columns or [c for (r, c) in results if r == better and (worse, c) in results]
    return compare_pairs([(c, results[(better, c)], results[(worse, c)]) for c in cols], metric, **kw)

"""Cross-validation results and their noise bands.

A :class:`CVResult` holds one row per fold (metrics, timings, epochs), every fold's predictions
with the subject of each output row, and every fold's learning curve. Its noise bands answer
"is this difference real?":

* the spread over folds (``std`` of the per-fold metric), when there are several folds;
* a band over test subjects (:meth:`CVResult.bootstrap`): a jackknife-t interval -- each
  fold's metric is recomputed without each of its test subjects in turn, and the spread of those
  values gives the variance of the mean over folds (the same statistic the table reports, and
  the band is centred on it); Student's t at the subjects' degrees of freedom and a
  range-respecting scale (logit, Fisher z, log) give the band its measured coverage with ~5 test
  subjects, which a percentile bootstrap of so few subjects does not have (see the method's
  docstring);
* for two configurations evaluated on the same folds, :func:`compare` gives the band of the
  *paired* difference (the same subject left out of both), which is much tighter than two
  separate bands. A difference whose interval contains 0 is "within the noise".
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

#: bootstrap replicates of a noise band (kept for compatibility: the jackknife band draws nothing),
#: and the band's coverage
BOOTSTRAP_DRAWS = 200
BAND_LEVEL = 0.90


def _take(outputs: Mapping[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in outputs.items()}


def _subject_rows(outputs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    subj = np.asarray(outputs["subject"])
    names = np.unique(subj)
    return names, [np.flatnonzero(subj == s) for s in names]


#: the scale a metric's band is built on (:func:`_band`): a transform that maps its range onto the
#: real line, so a band respects the range and follows the skew of a bounded or positive metric
_SCALES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "log": (np.log, np.exp),
    "logit": (lambda x: np.log(x / (1 - x)), lambda z: 1 / (1 + np.exp(-z))),
    "fisher": (np.arctanh, np.tanh),
}
#: metric -> (its range, the scale of its band); other metrics: unbounded, their own scale
_METRIC_SCALE = {"auc": ((0.0, 1.0), "logit"), "accuracy": ((0.0, 1.0), "logit"), "pcc": ((-1.0, 1.0), "fisher"),
                 "mse": ((0.0, np.inf), "log"), "mae": ((0.0, np.inf), "log")}


def _jackknife_folds(score: Callable[[Mapping[str, np.ndarray]], dict[str, float]],
                     folds: Sequence[Mapping[str, np.ndarray]], metrics: Sequence[str], *,
                     others: Sequence[Sequence[Mapping[str, np.ndarray]]] = ()) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """For ``folds`` and each of ``others`` (evaluated on the same folds and subjects: paired):
    the fold metrics ``(F, M)`` and, per fold, the metrics recomputed without each of its test
    subjects in turn ``(n_f, M)`` (the subjects of the first set's folds, found by name in every
    set, so the same subject is left out of both sets of a pair)."""
    sets = [folds, *others]
    out = []
    for fold_set in sets:
        values, loo = [], []
        for fi, fold in enumerate(fold_set):
            names = np.unique(np.asarray(folds[fi]["subject"]))
            subj = np.asarray(fold["subject"])
            values.append([score(fold).get(k, np.nan) for k in metrics])
            reps = np.full((len(names), len(metrics)), np.nan)
            if len(names) > 1:
                for j, name in enumerate(names):
                    keep = np.flatnonzero(subj != name)
                    if len(keep):
                        m = score(_take(fold, keep))
                        reps[j] = [m.get(k, np.nan) for k in metrics]
            loo.append(reps)
        out.append((np.array(values, float).reshape(len(fold_set), len(metrics)), loo))
    return out


def _band(values: np.ndarray, loo: Sequence[np.ndarray], level: float, *, metric: str | None = None
          ) -> tuple[float, float, float]:
    """``(estimate, lo, hi)``: the mean over folds of one metric's fold ``values`` and its
    jackknife-t band from the leave-one-subject-out fold values ``loo`` (see
    :meth:`CVResult.bootstrap`). ``metric`` picks the band's scale (``_METRIC_SCALE``; none
    for a difference)."""
    from scipy import stats

    ok = np.flatnonzero(np.isfinite(values))
    if not len(ok):
        return np.nan, np.nan, np.nan
    theta = float(values[ok].mean())
    # leave-one-subject-out replicates of the mean over folds: only the subject's fold changes
    reps = [theta + (loo[f][np.isfinite(loo[f])] - values[f]) / len(ok) for f in ok]
    if any(len(r) < 2 for r in reps):
        return theta, np.nan, np.nan  # a fold whose metric cannot be recomputed without its subjects
    (low, high), scale = _METRIC_SCALE.get(metric, ((-np.inf, np.inf), None))
    g, g_inv = _SCALES[scale] if scale else (None, None)
    everything = np.concatenate([[theta], *reps])
    if g is None or not ((everything > low) & (everything < high)).all():
        g = g_inv = None  # on the range's edge (an AUC of 1, an MSE of 0): the metric's own scale
    centre = float(g(theta)) if g else theta
    var = df_den = 0.0
    for r in reps:
        z = g(r) if g else r
        n = len(z)
        v = (n - 1) / n * float(((z - z.mean()) ** 2).sum())
        var += v
        df_den += v * v / (n - 1)
    if var <= 0 or not np.isfinite(var):
        return theta, theta, theta
    df = var * var / df_den  # Welch-Satterthwaite: sum(n_f - 1) for equal fold variances
    half = float(stats.t.ppf(0.5 + level / 2, df)) * np.sqrt(var)
    lo, hi = (g_inv(centre - half), g_inv(centre + half)) if g else (centre - half, centre + half)
    # clip to the range; and the band holds its estimate (it always does on a monotone scale,
    # this only guards against rounding in the back-transform)
    lo, hi = max(float(lo), low), min(float(hi), high)
    return theta, min(lo, theta), max(hi, theta)


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
    #: metric -> whether this configuration learned it (its band excludes the trivial baseline:
    #: :func:`pain_lib.experiments.baselines.learned`; set by ``run_grid``; empty: not known)
    learned: dict[str, bool | None] = field(default_factory=dict)

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
        """metric -> (lo, hi): a ``level`` band of the mean-over-folds metric (the table's value)
        over test subjects -- a **jackknife-t interval over subjects**, not a percentile bootstrap.

        Method: each fold's metric is recomputed without each of its test subjects in turn; the
        jackknife variance of the mean over folds is the sum of the folds' ``(n-1)/n * sum((x_i -
        mean)^2)`` over those leave-one-subject-out values, and the band is ``estimate ± t *
        sqrt(variance)`` with Student's t at the Welch-Satterthwaite degrees of freedom (``n - 1``
        for one fold of ``n`` subjects). It is built on a scale that maps the metric's range onto
        the real line and back -- logit for ``auc``/``accuracy``, Fisher's z for ``pcc``, log for
        ``mse``/``mae`` -- so it stays inside the range and follows the metric's skew; on the
        range's edge (an AUC of 1) and for other metrics, on the metric's own scale.

        Why not the percentile bootstrap over subjects (the method before): with ~5 test subjects
        a resample repeats subjects, which over-weights within-subject frame pairs in a pooled
        metric (AUC, PCC) and shifts it (the tables' values sat at 30 % of their bands, one
        outside), and its spread is that of ``n`` values divided by ``n`` instead of ``n - 1``,
        with normal rather than t tails: in the simulation of ``tests/test_band_coverage.py``
        (``standard``: 1 fold of 5 test subjects) a 90 % percentile band covered the population
        value in 67-78 % of experiments and a BCa band (bias correction from the replicates,
        acceleration from the subject jackknife) in 67-72 %. A jackknife deletes a subject and
        never duplicates one, so it has no such bias; the t quantile pays for estimating a
        variance from a handful of subjects. Measured coverage (``pain_lib/papers/scn/NOTES.md``,
        section ``bands``): 83-92 % at ``standard``, 86-93 % at ``full``.

        The band always contains the estimate (symmetric around it on a monotone scale). It is
        ``(nan, nan)`` when the metric is undefined, or when a fold's metric cannot be recomputed
        without at least two of its subjects (one test subject; all pain in one subject).
        ``draws`` and ``seed`` are accepted for compatibility and unused: the jackknife draws
        nothing, so the band is deterministic and costs ``n + 1`` metric evaluations per fold.
        """
        metrics = list(metrics or self.metric_names)
        folds = [self.outputs[f] for f in self.folds["fold"] if f in self.outputs and len(self.outputs[f])]
        if not folds or not all("subject" in f for f in folds):
            return {m: (np.nan, np.nan) for m in metrics}
        ((values, loo),) = _jackknife_folds(self.score_fn, folds, metrics)
        out = {}
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for i, m in enumerate(metrics):
                _, lo, hi = _band(values[:, i], [r[:, i] for r in loo], level, metric=m)
                out[m] = (lo, hi)
        return out

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
    """``a - b`` for ``metric`` with a paired band over the test subjects the two results share
    fold by fold (both must come from the same folds, e.g. two cells of one grid): the
    jackknife-t band of :meth:`CVResult.bootstrap` of the difference of the two means over
    folds, the same subject left out of both (on the difference's own scale). ``draws`` and
    ``seed`` are unused (compatibility)."""
    folds = [f for f in a.folds["fold"] if f in a.outputs and f in b.outputs]
    if not folds:
        raise ValueError("the two results share no fold: compare configurations run on the same folds")
    fa = [a.outputs[f] for f in folds]
    fb = [b.outputs[f] for f in folds]
    (va, la), (vb, lb) = _jackknife_folds(a.score_fn, fa, [metric], others=[fb])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ma, mb = np.nanmean(va[:, 0]), np.nanmean(vb[:, 0])
        # the difference's fold values and replicates: folds where both are defined
        both = np.isfinite(va[:, 0]) & np.isfinite(vb[:, 0])
        d, lo, hi = _band(np.where(both, va[:, 0] - vb[:, 0], np.nan), [x[:, 0] - y[:, 0] for x, y in zip(la, lb)],
                          level)
    # the paired difference (the folds where both are defined: ``ma - mb`` when that is every
    # fold), which its band contains
    return Comparison(metric, float(d if np.isfinite(d) else ma - mb), float(lo), float(hi), level)


def compare_pairs(pairs: Sequence[tuple[str, CVResult, CVResult]], metric: str, *, draws: int = BOOTSTRAP_DRAWS,
                  level: float = BAND_LEVEL, seed: int = 0) -> pd.DataFrame:
    """One paired comparison (:func:`compare`) per ``(setting, a, b)``: ``setting, difference
    (a - b), lo, hi, within_noise`` and ``learned``: whether both configurations learned ``metric``
    (``None`` when a result does not know, e.g. it was not computed by ``run_grid``)."""
    rows = []
    for setting, a, b in pairs:
        cmp = compare(a, b, metric, draws=draws, level=level, seed=seed)
        la, lb = a.learned.get(metric), b.learned.get(metric)
        both = None if la is None or lb is None else bool(la and lb)
        rows.append({"setting": setting, "difference": cmp.difference, "lo": cmp.lo, "hi": cmp.hi,
                     "within_noise": cmp.within_noise, "learned": both})
    return pd.DataFrame(rows, columns=["setting", "difference", "lo", "hi", "within_noise", "learned"])


def compare_rows(results: Mapping[tuple[str, str], CVResult], better: str, worse: str, metric: str, *,
                 columns: Sequence[str] | None = None, **kw) -> pd.DataFrame:
    """:func:`compare_pairs` of rows ``better`` and ``worse`` of a grid's results
    (:func:`pain_lib.experiments.run_grid`) in every column they share."""
    cols = columns or [c for (r, c) in results if r == better and (worse, c) in results]
    return compare_pairs([(c, results[(better, c)], results[(worse, c)]) for c in cols], metric, **kw)

"""Evaluation metrics and significance tests. Plain functions of arrays (no config objects).

=====================  =========================================================================
function               meaning
=====================  =========================================================================
:func:`mse`            mean squared error (SCN Table 7)
:func:`mae`            mean absolute error
:func:`pcc`            Pearson correlation coefficient (SCN Table 7)
:func:`roc_auc`        area under the ROC curve of scores for binary labels (rank formula)
:func:`pain_auc`       the SCN paper's "AUC accuracy" — see its docstring for the definition used
:func:`accuracy`       fraction of correct labels (labels or per-class scores)
:func:`mean_std`       mean ± std over folds; :func:`summarize_folds` for a fold table
:func:`paired_ttest`   paired t-test (same folds, two methods); :func:`ttest_2samp` Welch / Student
=====================  =========================================================================

AUC and accuracy are returned as fractions in [0, 1]; the papers print percentages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "mse",
    "mae",
    "pcc",
    "roc_auc",
    "pain_auc",
    "accuracy",
    "regression_metrics",
    "classification_metrics",
    "mean_std",
    "format_mean_std",
    "summarize_folds",
    "paired_ttest",
    "ttest_2samp",
]


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y_true, dtype=np.float64).ravel()
    b = np.asarray(y_pred, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"y_true and y_pred differ in size: {a.size} vs {b.size}")
    if a.size == 0:
        raise ValueError("empty inputs")
    return a, b


def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error ``mean((y - ŷ)²)`` (the SCN paper's Eq. 4 and Table 7)."""
    a, b = _pair(y_true, y_pred)
    return float(np.mean((a - b) ** 2))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error ``mean(|y - ŷ|)``."""
    a, b = _pair(y_true, y_pred)
    return float(np.mean(np.abs(a - b)))


def pcc(y_true: Any, y_pred: Any) -> float:
    """Pearson correlation coefficient; ``nan`` when either input is constant (undefined)."""
    a, b = _pair(y_true, y_pred)
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def _average_ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    ranks = np.empty(len(x), dtype=np.float64)
    # ties share the mean of the ranks they span
    boundaries = np.flatnonzero(np.diff(xs)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(x)]])
    mean_rank = (starts + ends + 1) / 2.0  # 1-based ranks starts+1 .. ends
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def roc_auc(y_true: Any, scores: Any) -> float:
    """Area under the ROC curve of ``scores`` for binary ``y_true`` (truthy = positive).

    Computed exactly as the Mann-Whitney statistic with average ranks for ties (equal to the
    trapezoidal ROC area, e.g. ``sklearn.metrics.roc_auc_score``). ``nan`` when only one class
    is present.
    """
    y, s = _pair(np.asarray(y_true).astype(bool), scores)
    pos = y > 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = _average_ranks(s)
    return float((r[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def pain_auc(pspi_true: Any, pspi_pred: Any, *, threshold: float = 0.0) -> float:
    """The SCN paper's "AUC accuracy" (Tables 1, 2, 4-6, 8), which the paper never defines.

    Definition used here: the ROC AUC of the **predicted intensity** as a score for the binary
    event *pain* = ``PSPI > threshold`` (default 0, i.e. any pain), computed over frames (pass
    per-frame ground truth and predictions; clip predictions can be repeated over their frames).
    This follows the common UNBC-McMaster practice of frame-level pain detection AUC. For BioVid
    (stimulus classes), pass the class level as ``pspi_true`` and the threshold that separates
    the classes of interest (e.g. ``threshold=0`` for BL1 vs any pain).

    Returned in [0, 1]; ``nan`` when the fold has only pain or only no-pain frames.
    """
    y = np.asarray(pspi_true, dtype=np.float64).ravel() > threshold
    return roc_auc(y, pspi_pred)


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of correct predictions. ``y_pred`` may be labels ``(N,)`` or scores ``(N, K)``
    (argmax is taken)."""
    p = np.asarray(y_pred)
    if p.ndim == 2:
        p = p.argmax(axis=1)
    t = np.asarray(y_true).ravel()
    p = p.ravel()
    if t.shape != p.shape or t.size == 0:
        raise ValueError(f"y_true and y_pred must be non-empty and of equal size: {t.size} vs {p.size}")
    return float(np.mean(t == p))


def regression_metrics(y_true: Any, y_pred: Any, *, pain_threshold: float = 0.0) -> dict[str, float]:
    """``{"mse", "mae", "pcc", "auc"}`` for intensity predictions (``auc`` = :func:`pain_auc`)."""
    return {
        "mse": mse(y_true, y_pred),
        "mae": mae(y_true, y_pred),
        "pcc": pcc(y_true, y_pred),
        "auc": pain_auc(y_true, y_pred, threshold=pain_threshold),
    }


def classification_metrics(y_true: Any, scores: Any) -> dict[str, float]:
    """``{"accuracy"}`` plus ``"auc"`` (of the positive-class score) for two classes."""
    s = np.asarray(scores)
    out = {"accuracy": accuracy(y_true, s)}
    if s.ndim == 2 and s.shape[1] == 2:
        out["auc"] = roc_auc(np.asarray(y_true) == 1, s[:, 1] - s[:, 0])
    return out


def mean_std(values: Iterable[float], *, ddof: int = 1) -> tuple[float, float]:
    """Mean and standard deviation over folds, ignoring NaNs. ``ddof=1`` (sample std) by
    default; the std is ``nan`` with fewer than ``ddof + 1`` values."""
    v = np.asarray(list(values), dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    std = float(np.std(v, ddof=ddof)) if v.size > ddof else float("nan")
    return float(np.mean(v)), std


def format_mean_std(mean: float, std: float, *, digits: int = 2) -> str:
    """``"0.32 ± 0.05"`` (just the mean when the std is NaN)."""
    if np.isnan(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def summarize_folds(df: pd.DataFrame, metrics: Sequence[str] | None = None, *, ddof: int = 1) -> pd.DataFrame:
    """Mean ± std over the rows (folds) of a :func:`pain_lib.train.cross_validate` table.

    Returns one row per metric: ``metric, mean, std, n``. ``metrics`` defaults to every numeric
    column except bookkeeping ones (``seconds``, ``resumed``, ``epoch``).
    """
    if metrics is None:
        skip = {"seconds", "resumed", "epoch", "index"}
        metrics = [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c]) and df[c].dtype != bool]
    rows = []
    for m in metrics:
        vals = df[m].to_numpy(dtype=np.float64)
        mu, sd = mean_std(vals, ddof=ddof)
        rows.append({"metric": m, "mean": mu, "std": sd, "n": int((~np.isnan(vals)).sum())})
    return pd.DataFrame(rows, columns=["metric", "mean", "std", "n"])


def paired_ttest(a: Any, b: Any) -> dict[str, float]:
    """Paired t-test of two methods evaluated on the same folds (``scipy.stats.ttest_rel``).

    Returns ``{"statistic", "pvalue", "df", "mean_diff", "n"}`` with ``mean_diff = mean(a - b)``.
    """
    from scipy import stats

    x, y = _pair(a, b)
    if x.size < 2:
        raise ValueError("a paired t-test needs at least two pairs")
    r = stats.ttest_rel(x, y)
    return {"statistic": float(r.statistic), "pvalue": float(r.pvalue), "df": float(x.size - 1),
            "mean_diff": float(np.mean(x - y)), "n": int(x.size)}


def ttest_2samp(a: Any, b: Any, *, equal_var: bool = False) -> dict[str, float]:
    """Two-sample t-test (Welch's by default, Student's with ``equal_var=True``;
    ``scipy.stats.ttest_ind``). Returns ``{"statistic", "pvalue", "mean_diff", "n_a", "n_b"}``."""
    from scipy import stats

    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.size < 2 or y.size < 2:
        raise ValueError("each sample needs at least two values")
    r = stats.ttest_ind(x, y, equal_var=equal_var)
    return {"statistic": float(r.statistic), "pvalue": float(r.pvalue), "mean_diff": float(x.mean() - y.mean()),
            "n_a": int(x.size), "n_b": int(y.size)}

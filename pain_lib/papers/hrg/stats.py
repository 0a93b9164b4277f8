"""The significance test behind the stars of Tables IV-VI: the two-sample t-test (Student's,
pooled variance; "the two-sample T-test ... confidence threshold 0.95") on per-subject
accuracies of two methods."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats as _st

__all__ = ["two_sample_ttest", "star"]


def two_sample_ttest(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """Two-sided Student two-sample t-test: ``t = (m_a - m_b) /
    (s_p sqrt(1/n_a + 1/n_b))`` with the pooled variance ``s_p² = ((n_a-1) s_a² + (n_b-1) s_b²) /
    (n_a + n_b - 2)``; ``p = 2 (1 - F_t(|t|; n_a + n_b - 2))``. NaNs are dropped; fewer than two
    values on a side (or no variance at all) give NaN."""
    x = np.asarray(a, np.float64)
    y = np.asarray(b, np.float64)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    na, nb = len(x), len(y)
    out = {"statistic": np.nan, "pvalue": np.nan, "df": float(na + nb - 2), "mean_diff": np.nan, "n_a": na, "n_b": nb}
    if na < 2 or nb < 2:
        return out
    sp2 = ((na - 1) * x.var(ddof=1) + (nb - 1) * y.var(ddof=1)) / (na + nb - 2)
    diff = float(x.mean() - y.mean())
    out["mean_diff"] = diff
    if sp2 <= 0:
        return out
    t = diff / np.sqrt(sp2 * (1 / na + 1 / nb))
    out["statistic"] = float(t)
    out["pvalue"] = float(2 * _st.t.sf(abs(t), na + nb - 2))
    return out


def star(ours: Sequence[float], other: Sequence[float], *, alpha: float = 0.05) -> str:
    """``"*"`` when ``other`` is significantly worse than ``ours`` (two-sided p < ``alpha`` and a
    lower mean), ``""`` when not, ``"n/a"`` when the test is undefined."""
    r = two_sample_ttest(ours, other)
    if not np.isfinite(r["pvalue"]):
        return "n/a"
    return "*" if r["pvalue"] < alpha and r["mean_diff"] > 0 else ""

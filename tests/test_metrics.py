"""Metrics against scikit-learn / SciPy reference values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

from pain_lib import metrics as M

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 6, 200).astype(float)  # PSPI-like, many ties and zeros
P = Y + RNG.normal(0, 1.2, 200)


def test_regression_metrics_match_references():
    assert M.mse(Y, P) == pytest.approx(skm.mean_squared_error(Y, P), rel=1e-12)
    assert M.mae(Y, P) == pytest.approx(skm.mean_absolute_error(Y, P), rel=1e-12)
    assert M.pcc(Y, P) == pytest.approx(stats.pearsonr(Y, P)[0], rel=1e-12)
    assert np.isnan(M.pcc(np.ones(5), np.arange(5)))


@pytest.mark.parametrize("scores", [P, np.round(P), RNG.integers(0, 3, 200)])  # continuous and heavily tied
def test_roc_auc_matches_sklearn(scores):
    y = Y > 0
    assert M.roc_auc(y, scores) == pytest.approx(skm.roc_auc_score(y, scores), rel=1e-12)


def test_pain_auc_definition():
    assert M.pain_auc(Y, P) == pytest.approx(skm.roc_auc_score(Y > 0, P))
    assert M.pain_auc(Y, P, threshold=2) == pytest.approx(skm.roc_auc_score(Y > 2, P))
    assert M.pain_auc([0, 0, 3, 5], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert np.isnan(M.pain_auc(np.zeros(4), np.arange(4)))  # one class only


def test_accuracy_and_classification_metrics():
    y = RNG.integers(0, 5, 100)
    scores = RNG.normal(size=(100, 5))
    assert M.accuracy(y, scores) == pytest.approx(skm.accuracy_score(y, scores.argmax(1)))
    assert M.accuracy([1, 2, 3], [1, 2, 0]) == pytest.approx(2 / 3)
    yb = RNG.integers(0, 2, 100)
    s2 = RNG.normal(size=(100, 2))
    out = M.classification_metrics(yb, s2)
    assert out["auc"] == pytest.approx(skm.roc_auc_score(yb, s2[:, 1] - s2[:, 0]))
    assert set(M.regression_metrics(Y, P)) == {"mse", "mae", "pcc", "auc"}


def test_mean_std_and_fold_summary():
    v = [0.3, 0.5, 0.4, np.nan]
    mu, sd = M.mean_std(v)
    assert mu == pytest.approx(0.4) and sd == pytest.approx(np.std([0.3, 0.5, 0.4], ddof=1))
    assert np.isnan(M.mean_std([0.3])[1])
    assert M.format_mean_std(0.3214, 0.0512) == "0.32 ± 0.05"
    df = pd.DataFrame({"fold": ["a", "b", "c"], "mse": [1.0, 2.0, 3.0], "pcc": [0.5, 0.7, 0.6],
                       "seconds": [1.0, 1.0, 1.0], "resumed": [False, True, False]})
    s = M.summarize_folds(df)
    assert list(s.metric) == ["mse", "pcc"]
    assert s.set_index("metric").loc["mse", "mean"] == 2.0 and s.set_index("metric").loc["mse", "n"] == 3


def test_t_tests_match_scipy():
    a = RNG.normal(0.5, 0.1, 10)
    b = a - RNG.normal(0.05, 0.05, 10)
    r = M.paired_ttest(a, b)
    ref = stats.ttest_rel(a, b)
    assert r["pvalue"] == pytest.approx(ref.pvalue) and r["statistic"] == pytest.approx(ref.statistic)
    assert r["df"] == 9 and r["mean_diff"] == pytest.approx(np.mean(a - b))
    w = M.ttest_2samp(a, b[:7])
    assert w["pvalue"] == pytest.approx(stats.ttest_ind(a, b[:7], equal_var=False).pvalue)
    with pytest.raises(ValueError):
        M.paired_ttest([1.0], [2.0])


def test_bad_inputs():
    with pytest.raises(ValueError, match="differ in size"):
        M.mse([1, 2], [1])
    with pytest.raises(ValueError, match="empty"):
        M.mae([], [])

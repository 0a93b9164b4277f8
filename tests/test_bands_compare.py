"""Noise bands and paired comparisons (pain_lib.experiments.results) on hand-built results with
known answers: a large, clearly separated difference is outside the noise, two draws of one
distribution are within it, the band of a mean has the width the normal approximation gives;
``compare_pairs``, ``compare_rows``, ``CVResult.subset`` and ``learning_curves``.

The results are built directly (``CVResult(folds, outputs, histories, score_fn)``), so the
tests need no training and stay valid whatever recipe produced a result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pain_lib.experiments import BAND_LEVEL, CVResult, compare, compare_pairs, compare_rows

FOLDS = ("fold-0", "fold-1")
SUBJECTS = 12  # per fold
FRAMES = 30    # per subject


def mse(outputs):
    return {"mse": float(np.mean((outputs["y_true"] - outputs["y_pred"]) ** 2))}


def result(noise, seed, *, shift=0.0, subject_noise=None, histories=None):
    """Predictions ``truth + shift + noise * N(0, 1)`` of 2 folds x 12 subjects x 30 frames;
    ``subject_noise`` gives each subject its own noise level (subject-to-subject spread). The
    truth is the same for every seed (paired results), the noise is the seed's."""
    truth_rng, rng = np.random.default_rng(123), np.random.default_rng(seed)
    outputs, rows = {}, []
    for fi, fold in enumerate(FOLDS):
        subj = np.repeat([f"s{fi}-{j}" for j in range(SUBJECTS)], FRAMES)
        sample = np.repeat(np.arange(fi * SUBJECTS, (fi + 1) * SUBJECTS), FRAMES)
        y = truth_rng.uniform(0, 5, len(subj))
        sd = noise if subject_noise is None else np.repeat(subject_noise[fi], FRAMES)
        o = {"y_true": y, "y_pred": y + shift + sd * rng.standard_normal(len(subj)), "sample": sample,
             "subject": subj}
        outputs[fold] = o
        rows.append({"fold": fold, **mse(o)})
    return CVResult(folds=pd.DataFrame(rows), outputs=outputs, histories=histories or {}, score_fn=mse,
                    metrics=["mse"])


# --------------------------------------------------------------------------- compare
def test_a_large_clearly_separated_difference_is_outside_the_noise():
    good, bad = result(1.0, seed=1), result(1.0, seed=2, shift=3.0)  # MSE about 1 vs about 10
    cmp = compare(bad, good, "mse")
    assert cmp.difference == pytest.approx(9.0, rel=0.15)
    assert 0 < cmp.lo < cmp.difference < cmp.hi and not cmp.within_noise
    assert cmp.hi - cmp.lo < cmp.difference / 2  # a tight band, not a wide one that happens to miss 0
    assert cmp.describe("bad", "good").endswith("outside the noise)")
    assert compare(good, bad, "mse").hi < 0  # the other way round: significantly below


def test_two_draws_of_one_distribution_are_within_the_noise():
    a, b = result(1.0, seed=1), result(1.0, seed=2)
    cmp = compare(a, b, "mse")
    assert cmp.lo < 0 < cmp.hi and cmp.within_noise
    assert cmp.describe().endswith("within the noise)")


def test_the_paired_band_covers_a_null_difference_about_as_often_as_its_level():
    """Over 20 pairs of draws of one distribution the 90 % band contains 0 in about 90 % of
    them -- not in all (too wide to tell anything) and not in few (too narrow)."""
    within = [compare(result(1.0, seed=2 * k), result(1.0, seed=2 * k + 1), "mse", draws=100).within_noise
              for k in range(20)]
    assert 14 <= sum(within) <= 20, within
    tight = [compare(result(1.0, seed=2 * k), result(1.0, seed=2 * k + 1), "mse", draws=100, level=0.2).within_noise
             for k in range(20)]
    assert sum(tight) < sum(within)  # a narrower level excludes 0 more often


def test_identical_results_differ_by_exactly_zero():
    a = result(1.0, seed=1)
    cmp = compare(a, result(1.0, seed=1), "mse")
    assert (cmp.difference, cmp.lo, cmp.hi) == (0.0, 0.0, 0.0) and cmp.within_noise


def test_compare_needs_shared_folds():
    a, b = result(1.0, seed=1), result(1.0, seed=2)
    b.outputs = {f"other-{k}": v for k, v in b.outputs.items()}
    with pytest.raises(ValueError, match="share no fold"):
        compare(a, b, "mse")


# --------------------------------------------------------------------------- the band of one result
def test_bootstrap_band_brackets_the_value_with_the_width_of_the_normal_approximation():
    # subject-to-subject spread in error: the band is about the mean over subjects
    rng = np.random.default_rng(5)
    res = result(None, seed=3, subject_noise=rng.uniform(0.5, 2.5, (2, SUBJECTS)))
    lo, hi = res.bootstrap(["mse"], draws=400)["mse"]
    value = res.summary()["mse"][0]
    assert lo < value < hi
    # reference: the mean over folds of per-fold means over subjects, SE from the subjects' spread
    per_fold_var = [res.per_subject("mse")[[f"s{fi}-{j}" for j in range(SUBJECTS)]].var(ddof=0) / SUBJECTS
                    for fi in range(2)]
    se = np.sqrt(sum(per_fold_var)) / 2
    z = 1.6449  # the 90 % two-sided normal quantile
    assert BAND_LEVEL == 0.9
    assert (hi - lo) / 2 == pytest.approx(z * se, rel=0.3)


def test_a_constant_error_has_a_band_of_zero_width():
    res = result(0.0, seed=0, shift=2.0)  # every frame off by exactly 2: MSE 4 whatever is drawn
    lo, hi = res.bootstrap(["mse"])["mse"]
    assert lo == pytest.approx(4.0) and hi == pytest.approx(4.0) and res.summary()["mse"][0] == pytest.approx(4.0)


# --------------------------------------------------------------------------- compare_pairs / compare_rows
def _grid():
    """Row "big" is clearly better (lower MSE) than "small" in columns x and y; "same" is a
    second draw of "small"'s distribution; column z exists only for "small"."""
    return {("small", "x"): result(1.0, seed=1, shift=3.0), ("big", "x"): result(1.0, seed=2),
            ("small", "y"): result(1.0, seed=3, shift=3.0), ("big", "y"): result(1.0, seed=4),
            ("same", "x"): result(1.0, seed=5, shift=3.0), ("small", "z"): result(1.0, seed=6)}


def test_compare_pairs_one_row_per_setting():
    g = _grid()
    t = compare_pairs([("x", g[("small", "x")], g[("big", "x")]), ("tie", g[("small", "x")], g[("same", "x")])],
                      "mse")
    assert t.columns.tolist() == ["setting", "difference", "lo", "hi", "within_noise", "learned"]
    assert t["learned"].isna().all()  # results not from run_grid: whether they learned is not known
    assert t["setting"].tolist() == ["x", "tie"]
    assert t["within_noise"].tolist() == [False, True]
    assert t.loc[0, "lo"] > 0 and t.loc[1, "lo"] < 0 < t.loc[1, "hi"]
    one = compare(g[("small", "x")], g[("big", "x")], "mse")
    assert t.loc[0, ["difference", "lo", "hi"]].tolist() == [one.difference, one.lo, one.hi]


def test_compare_rows_uses_the_columns_both_rows_have():
    g = _grid()
    t = compare_rows(g, "big", "small", "mse")
    assert t["setting"].tolist() == ["x", "y"]  # not z: "big" has no z
    assert (t["hi"] < 0).all() and not t["within_noise"].any()  # big - small: clearly lower MSE
    assert compare_rows(g, "big", "small", "mse", columns=["y"])["setting"].tolist() == ["y"]
    assert compare_rows(g, "big", "nobody", "mse").empty


# --------------------------------------------------------------------------- subset, learning curves
def test_subset_keeps_the_given_samples_and_recomputes_fold_metrics():
    res = result(1.0, seed=1)
    # samples 0-2 of fold 0 get a known error: subset to them and the metric is theirs
    o = res.outputs["fold-0"]
    o["y_pred"] = np.where(o["sample"] < 3, o["y_true"] + 2.0, o["y_pred"])
    sub = res.subset([0, 1, 2])
    assert set(sub.outputs["fold-0"]["sample"]) == {0, 1, 2} and len(sub.outputs["fold-1"]["sample"]) == 0
    assert sub.folds.loc[0, "mse"] == pytest.approx(4.0)
    assert np.isnan(sub.folds.loc[1, "mse"])  # a fold without any of the samples has no metric
    assert sub.summary()["mse"][0] == pytest.approx(4.0)
    assert res.folds.loc[0, "mse"] != pytest.approx(4.0)  # the original is untouched
    both = res.subset([0, SUBJECTS])  # one sample of each fold
    assert [set(both.outputs[f]["sample"]) for f in FOLDS] == [{0}, {SUBJECTS}]


def test_learning_curves_concatenate_every_folds_history():
    h = {"fold-0": pd.DataFrame({"epoch": [1, 2], "train_loss": [2.0, 1.0], "val_loss": [2.5, 1.5]}),
         "fold-1": pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [3.0, 2.0, 1.0], "val_loss": [3.5, 2.5, 2.0]}),
         "fold-2": None}
    curves = result(1.0, seed=1, histories=h).learning_curves()
    assert len(curves) == 5 and curves["fold"].tolist() == ["fold-0"] * 2 + ["fold-1"] * 3
    assert curves["val_loss"].tolist() == [2.5, 1.5, 3.5, 2.5, 2.0]
    empty = result(1.0, seed=1).learning_curves()
    assert empty.empty and {"fold", "epoch", "train_loss"} <= set(empty.columns)

"""The functions that write every claims verdict a notebook prints (pain_lib.report): known
answers for a clear win, a clear loss, a difference within the noise, a configuration that did
not learn (NaN metric) and missing cells."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pain_lib import report
from pain_lib.config import get_profile
from pain_lib.experiments import Comparison

NAN = math.nan


def _cmp(*rows):
    """A compare_rows-shaped frame from (difference, lo, hi) rows."""
    return pd.DataFrame(
        [{"setting": f"s{i}", "difference": d, "lo": lo, "hi": hi, "within_noise": not (lo > 0 or hi < 0)}
         for i, (d, lo, hi) in enumerate(rows)]
    )


WIN = (5.0, 4.0, 6.0)       # A - B clearly positive
LOSS = (-5.0, -6.0, -4.0)   # clearly negative
TIE = (0.2, -1.0, 1.4)      # the band contains 0
DEAD = (NAN, NAN, NAN)      # a configuration that did not learn: the metric is undefined


# --------------------------------------------------------------------------- verdict_better
@pytest.mark.parametrize(
    "rows, lower, verdict, counts",
    [
        ([WIN, WIN, WIN], False, "agrees", (3, 0, 0)),
        ([WIN, LOSS, WIN], False, "disagrees", (2, 1, 0)),
        ([LOSS], False, "disagrees", (0, 1, 0)),
        ([TIE, TIE], False, "cannot tell", (0, 0, 2)),
        ([WIN, TIE], False, "cannot tell", (1, 0, 1)),   # not significantly better everywhere
        ([WIN, DEAD], False, "cannot tell", (1, 0, 1)),  # an undefined difference counts as noise
        ([LOSS, LOSS], True, "agrees", (2, 0, 0)),       # lower is better: a negative difference wins
        ([WIN], True, "disagrees", (0, 1, 0)),
    ],
    ids=["clear-win", "one-loss", "clear-loss", "within-noise", "win-and-tie", "did-not-learn",
         "lower-is-better-win", "lower-is-better-loss"],
)
def test_verdict_better_known_answers(rows, lower, verdict, counts):
    got, evidence = report.verdict_better(_cmp(*rows), lower_is_better=lower)
    assert got == verdict
    better, worse, noise = counts
    assert evidence == (f"significantly better in {better} of {len(rows)} settings, significantly worse in "
                        f"{worse}, within the 90 % noise band in {noise}")


@pytest.mark.parametrize("empty", [None, _cmp().iloc[0:0]], ids=["none", "no-rows"])
def test_verdict_better_without_comparisons_cannot_tell(empty):
    assert report.verdict_better(empty) == ("cannot tell", "no comparison computed")


@pytest.mark.parametrize(
    "cmp, verdict",
    [(Comparison("auc", 0.3, 0.2, 0.4, 0.9), "agrees"), (Comparison("auc", -0.3, -0.4, -0.2, 0.9), "disagrees"),
     (Comparison("auc", 0.01, -0.1, 0.12, 0.9), "cannot tell"), (Comparison("auc", NAN, NAN, NAN, 0.9), "cannot tell")],
    ids=["win", "loss", "tie", "undefined"],
)
def test_verdict_better_takes_one_comparison(cmp, verdict):
    assert report.verdict_better(cmp)[0] == verdict


# --------------------------------------------------------------------------- verdict_best
def _sweep(values, lo=None, hi=None, label="column"):
    df = pd.DataFrame({label: [f"k={i}" for i in range(len(values))], "value": values})
    if lo is not None:
        df["lo"], df["hi"] = lo, hi
    return df


@pytest.mark.parametrize(
    "values, lo, hi, expected, lower, verdict, says",
    [
        ([70, 90, 80], [60, 85, 75], [80, 95, 85], "k=1", False, "agrees", "k=1 is this run's best (90)"),
        ([70, 90, 88], [60, 85, 83], [80, 95, 93], "k=2", False, "cannot tell", "lies in its 90 % band"),
        ([70, 90, 80], [60, 85, 75], [80, 95, 85], "k=0", False, "disagrees", "best is k=1 (90 [85, 95]); k=0: 70"),
        ([0.5, 0.2, 0.9], [0.4, 0.1, 0.8], [0.6, 0.3, 1.0], "k=1", True, "agrees", "k=1 is this run's best"),
        ([0.5, 0.2, 0.9], [0.4, 0.1, 0.8], [0.6, 0.3, 1.0], "k=2", True, "disagrees", "best is k=1"),
        ([NAN, NAN], [NAN, NAN], [NAN, NAN], "k=0", False, "cannot tell", "no finite value in this run"),
        ([70, 90], [60, 85], [80, 95], "k=7", False, "cannot tell", "'k=7' was not run (best: k=1)"),
        # the expected configuration did not learn (its metric is undefined): no evidence against it
        ([NAN, 90, 80], [NAN, 85, 75], [NAN, 95, 85], "k=0", False, "cannot tell", "k=0 has no finite value"),
    ],
    ids=["is-best", "in-band", "outside-band", "lower-best", "lower-outside", "nothing-learned", "not-run",
         "expected-did-not-learn"],
)
def test_verdict_best_known_answers(values, lo, hi, expected, lower, verdict, says):
    got, evidence = report.verdict_best(_sweep(values, lo, hi), expected, lower=lower)
    assert got == verdict, evidence
    assert says in evidence


def test_verdict_best_without_a_band_is_decided_by_the_value_alone():
    assert report.verdict_best(_sweep([70, 90]), "k=0")[0] == "disagrees"
    assert report.verdict_best(_sweep([70, 90], label="cell"), "k=1", label="cell")[0] == "agrees"


# --------------------------------------------------------------------------- best
@pytest.mark.parametrize(
    "values, lo, hi, lower, text",
    [
        ([70, 90, 80], [60, 85, 75], [80, 95, 85], False, "k=1"),
        ([70, 90, 88], [60, 85, 83], [80, 95, 93], False, "k=1 (the value of k=2 lies in its 90 % band)"),
        ([70, 90, 80], None, None, True, "k=0"),
        ([NAN, 90, 80], None, None, False, "k=1"),  # a NaN cell never wins
        ([NAN, NAN], None, None, False, "n/a (no finite value in this run)"),
        ([90, 89, 88, 87, 86], [80] * 5, [95] * 5, False,
         "k=0 (the value of k=1, k=2, k=3 … lies in its 90 % band)"),
    ],
    ids=["clear", "runner-up-in-band", "lower", "nan-cell", "all-nan", "many-in-band"],
)
def test_best_known_answers(values, lo, hi, lower, text):
    assert report.best(_sweep(values, lo, hi), lower=lower) == text


# --------------------------------------------------------------------------- wins
def _side_by_side(run, paper):
    """A side-by-side table of rows A and B over the columns of ``run`` / ``paper`` (None: a
    missing cell)."""
    rows = []
    for row in ("A", "B"):
        for col in sorted(set(run[row]) | set(paper[row])):
            rows.append({"row": row, "column": col, "value": run[row].get(col, NAN),
                         "paper_value": paper[row].get(col, NAN)})
    return pd.DataFrame(rows)


def test_wins_counts_run_and_paper_over_shared_finite_columns():
    t = _side_by_side(
        run={"A": {"c1": 2.0, "c2": 1.0, "c3": 5.0, "c4": NAN}, "B": {"c1": 1.0, "c2": 3.0, "c3": 4.0, "c4": 1.0}},
        paper={"A": {"c1": 9.0, "c2": 9.0, "c3": 9.0, "c4": 9.0}, "B": {"c1": 1.0, "c2": 1.0, "c3": 1.0, "c4": 1.0}},
    )
    assert report.wins(t, "A", "B") == "A above B in 2 of 3 settings in this run; in the paper: 4 of 4."
    # a row the table does not have: nothing to count
    assert report.wins(t, "A", "Z") == "A above Z in 0 of 0 settings in this run; in the paper: 0 of 0."


def test_wins_reports_how_many_differences_are_outside_the_noise():
    t = _side_by_side(run={"A": {"c1": 2.0, "c2": 1.0, "c3": 5.0}, "B": {"c1": 1.0, "c2": 3.0, "c3": 4.0}},
                      paper={"A": {}, "B": {}})
    text = report.wins(t, "A", "B", _cmp(WIN, LOSS, TIE))
    assert text == ("A above B in 2 of 3 settings in this run (1 of them outside the 90 % noise band of the "
                    "paired difference, 1 significantly below, 1 within the noise); in the paper: 0 of 0.")
    assert report.wins(t, "A", "B", _cmp()) == report.wins(t, "A", "B")  # no comparisons: no clause


# --------------------------------------------------------------------------- percent, reduce_sweep
def test_percent_scales_value_band_and_spread_but_not_folds():
    grid = pd.DataFrame({"row": ["a", "a"], "column": ["x", "x"], "metric": ["AUC", "MSE"],
                         "value": [0.8, 2.0], "std": [0.05, 0.1], "lo": [0.7, 1.0], "hi": [0.9, 3.0], "n": [3, 3]})
    out = report.percent(grid, "AUC")
    assert len(out) == 1 and out.index.tolist() == [0]
    r = out.iloc[0]
    np.testing.assert_allclose([r["value"], r["std"], r["lo"], r["hi"]], [80, 5, 70, 90])
    assert r["n"] == 3 and r["unit"] == "%" and r["metric"] == "AUC"
    assert grid["value"].tolist() == [0.8, 2.0]  # the input is not modified
    assert report.percent(grid[["metric", "value"]], "AUC")["value"].tolist() == [80.0]  # no band columns


@pytest.mark.parametrize("keep_in_profile, keep, expected", [(0, None, [26, 39, 50, 101]), (2, None, [26, 39]),
                                                            (2, 3, [26, 39, 50]), (0, 1, [26])])
def test_reduce_sweep_keeps_the_profiles_first_values(keep_in_profile, keep, expected):
    profile = get_profile("tiny").replace(sweep_keep=keep_in_profile)
    assert report.reduce_sweep((26, 39, 50, 101), profile, keep=keep) == expected


# --------------------------------------------------------------------------- claims_table
def test_claims_table_rows_and_dataset():
    claims = [report.claim("A beats B", "5 of 5", ("agrees", "e1")),
              report.claim("k=3 is best", "97 %", ("cannot tell", "e2")),
              report.claim("C beats D", "x", ("disagrees", "e3"))]
    t = report.claims_table(claims, dataset="synth-unbc")
    assert t.columns.tolist() == ["claim", "paper", "verdict", "evidence", "dataset"]
    assert t["verdict"].tolist() == ["agrees", "cannot tell", "disagrees"]
    assert (t["dataset"] == "synth-unbc").all() and t.loc[0, "claim"] == "A beats B" and t.loc[2, "evidence"] == "e3"
    assert set(report.VERDICTS) == {"agrees", "disagrees", "cannot tell", "not tested (did not learn)",
                                   "not tested (run at full)"}


def test_claims_table_rejects_an_unknown_verdict():
    with pytest.raises(ValueError, match="unknown verdict.*'maybe'"):
        report.claims_table([report.claim("x", "y", ("maybe", "z"))])


def test_claims_table_of_no_claims_is_empty_with_the_columns():
    t = report.claims_table([], dataset="d")
    assert t.empty and t.columns.tolist() == ["claim", "paper", "verdict", "evidence", "dataset"]

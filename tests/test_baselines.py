"""Baselines on the same folds (trivial and linear), the learned flag, grids that show them, and
the verdict on claims about configurations that did not learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pain_lib import report
from pain_lib.data import open_dataset
from pain_lib.experiments import (
    Cell,
    ClassPair,
    FramePSPI,
    LinearBaseline,
    SequenceLabel,
    TrivialBaseline,
    cross_validate,
    learned,
    run_grid,
)
from pain_lib.experiments.baselines import LINEAR_LABEL, TRIVIAL_LABEL
from pain_lib.experiments.results import CVResult
from tests import toy_recipes as toy
from tests._synth_data import tiny_root

pytestmark = pytest.mark.usefixtures("one_thread")
CV = "group-kfold:2"


@pytest.fixture(scope="module")
def unbc(tmp_path_factory):
    return open_dataset("synth-unbc", tiny_root(tmp_path_factory, "synth-unbc")).samples


@pytest.fixture(scope="module")
def biovid(tmp_path_factory):
    return open_dataset("synth-biovid", tiny_root(tmp_path_factory, "synth-biovid")).samples


def _cv(recipe, samples, tmp_path, crops):
    return cross_validate(recipe, samples, cv=CV, store=tmp_path / "s", cache_dir=crops, progress=False)


def test_trivial_baseline_is_the_training_mean_and_chance(unbc, tmp_path):
    res = _cv(TrivialBaseline(FramePSPI()), unbc, tmp_path, tmp_path / "c")
    for out in res.outputs.values():
        split_test = set(out["sample"].tolist())
        train = [s for i, s in enumerate(unbc) if i not in split_test]
        mean = np.concatenate([s.labels["pspi"] for s in train]).mean()
        np.testing.assert_allclose(out["y_pred"], mean, rtol=1e-6)
        assert len(out["y_true"]) == sum(len(unbc[i].labels["pspi"]) for i in split_test)  # every test frame
    folds = res.folds.set_index("fold")
    assert all(v in (0.5,) or np.isnan(v) for v in folds["auc"])  # a constant ranks nothing


def test_trivial_classifier_scores_the_majority_class(biovid, tmp_path):
    target = ClassPair(4, 0)
    samples = target.select(biovid)
    res = _cv(TrivialBaseline(target), samples, tmp_path, tmp_path / "c")
    pooled = res.pooled()
    assert (pooled["y_score"].argmax(1) == pooled["y_score"][0].argmax()).all()
    assert res.summary()["auc"][0] == pytest.approx(0.5)


def test_linear_baseline_learns_a_face_signal(unbc, biovid, tmp_path):
    reg = _cv(LinearBaseline(SequenceLabel("max_pspi")), unbc, tmp_path, tmp_path / "c")
    assert np.isfinite(reg.summary()["mse"][0])
    frames = _cv(LinearBaseline(FramePSPI()), unbc, tmp_path, tmp_path / "c")
    assert np.isfinite(frames.summary()["mse"][0]) and len(frames.pooled()["frame"]) == sum(s.n_frames for s in unbc)
    target = ClassPair(4, 0)
    cls = _cv(LinearBaseline(target), target.select(biovid), tmp_path, tmp_path / "c")
    assert 0 <= cls.summary()["accuracy"][0] <= 1


def _result(metric, lo, hi, value):
    return CVResult(folds=pd.DataFrame({"fold": ["f"], metric: [value]}), outputs={}, histories={},
                    score_fn=lambda o: {}, metrics=[metric])


@pytest.mark.parametrize("metric, band, base, expect", [
    ("auc", (0.6, 0.8), 0.5, True),       # band above chance: learned
    ("auc", (0.45, 0.7), 0.5, False),     # chance inside the band: not learned
    ("mse", (1.0, 2.0), 3.0, True),       # below the MSE of the mean
    ("mse", (1.0, 3.5), 3.0, False),
    ("pcc", (0.1, 0.4), np.nan, True),    # a constant has no correlation: above 0
    ("pcc", (-0.1, 0.4), np.nan, False),
    ("auc", (np.nan, np.nan), 0.5, None),  # undefined band: not known
])
def test_learned_means_the_band_excludes_the_trivial_baseline(metric, band, base, expect):
    res, triv = _result(metric, *band, np.mean(band)), _result(metric, base, base, base)
    assert learned(res, triv, band={metric: band})[metric] is expect


def test_grids_show_both_baselines_and_a_learned_flag_per_cell(unbc, tmp_path):
    cells = [Cell("net", "x", toy.FixedRepresentation(steps=5)), Cell("net", "y", toy.FixedRepresentation(steps=5))]
    table, fits = run_grid(cells, unbc, cv=CV, store=tmp_path / "s", cache_dir=tmp_path / "c", progress=False)
    assert "learned" in table and "baseline" in table
    # the toy recipe has no target object: no baseline rows, and nothing is known about learning
    assert not table["baseline"].any() and table["learned"].isna().all()
    from pain_lib.experiments import ImageRecipe, ImageSetup, Representation

    recipe = ImageRecipe("resnet2d", {"depth": 26, "base_width": 4}, Representation("mean", size=32),
                         ImageSetup(epochs=1, batch_size=4, lr=0.01, amp=False), target=SequenceLabel("max_pspi"))
    table, fits = run_grid([Cell("ResNet", "mean image", recipe), Cell("ResNet", "again", recipe)], unbc, cv=CV,
                           store=tmp_path / "s", cache_dir=tmp_path / "c", progress=False)
    base = table[table["baseline"]]
    assert set(base["row"]) == {TRIVIAL_LABEL, LINEAR_LABEL} and set(base["column"]) == {"mean image", "again"}
    net = table[~table["baseline"]]
    mse = net[net["metric"] == "MSE"]
    assert mse["learned"].map(lambda v: v in (True, False)).all()
    assert set(fits[("ResNet", "again")].learned) >= {"mse"}
    # claims skip the baseline rows and say "not tested" for configurations that did not learn
    t = mse.assign(learned=False)
    assert report.verdict_best(pd.concat([t, base[base["metric"] == "MSE"]]), "again", lower=True)[0] == report.NOT_TESTED
    cmp = pd.DataFrame({"difference": [0.5], "lo": [0.1], "hi": [0.9], "within_noise": [False], "learned": [False]})
    assert report.verdict_better(cmp)[0] == report.NOT_TESTED
    assert report.verdict_better(cmp.assign(learned=True))[0] == "agrees"
    assert TRIVIAL_LABEL not in report.best(pd.concat([t, base[base["metric"] == "MSE"]]), label="row", lower=True)


# --------------------------------------------------------------------------- cells a profile does not run
def test_select_cells_keeps_the_claims_cells_at_claims_only_profiles_and_every_cell_elsewhere():
    from pain_lib.config import get_profile
    from pain_lib.experiments import RUN_AT_FULL, select_cells

    cells = [Cell(r, c, toy.FixedRepresentation(steps=1)) for r in ("A", "B") for c in ("26", "41")]
    keep = [("A", "26"), ("B", "26")]
    assert get_profile("standard").claims_only and not get_profile("full").claims_only
    kept = select_cells(cells, keep, profile=get_profile("standard"))
    assert [(c.row, c.column, c.skip) for c in kept] == [("A", "26", ""), ("A", "41", RUN_AT_FULL),
                                                          ("B", "26", ""), ("B", "41", RUN_AT_FULL)]
    assert all(not c.skip for c in select_cells(cells, keep, profile=get_profile("full")))
    assert all(not c.skip for c in cells)  # the input cells are not changed
    with pytest.raises(ValueError, match="'C', '26'.*not a cell of this table"):
        select_cells(cells, [("C", "26")], profile=get_profile("full"))


def test_run_grid_shows_skipped_cells_in_order_without_computing_them(unbc, tmp_path):
    from pain_lib.experiments import RUN_AT_FULL

    recipe = toy.FixedRepresentation(steps=5)
    cells = [Cell("net", "x", recipe), Cell("net", "skipped", toy.FixedRepresentation(steps=7), skip=RUN_AT_FULL),
             Cell("net", "y", toy.FixedRepresentation(steps=6))]
    table, fits = run_grid(cells, unbc, cv=CV, store=tmp_path / "s", cache_dir=tmp_path / "c", progress=False)
    assert set(fits) == {("net", "x"), ("net", "y")}  # the skipped cell was not fitted ...
    assert len([p for p in (tmp_path / "s").iterdir() if p.is_dir() and p.name != "stages"]) == 2
    assert list(dict.fromkeys(table["column"])) == ["x", "skipped", "y"]  # ... but keeps its place in the table
    skipped = table[table["column"] == "skipped"]
    assert set(skipped["metric"]) == set(table.loc[table["column"] == "x", "metric"])
    assert skipped["value"].isna().all() and (skipped["run_note"] == RUN_AT_FULL).all()
    assert table.loc[table["column"] != "skipped", "run_note"].isna().all()
    # the side-by-side table and its Markdown say why the cell has no value
    side = report.side_by_side(table.assign(row="Res3D", column=table["column"].map(
        {"x": "Network size = 26", "skipped": "Network size = 39", "y": "Network size = 50"})),
        paper="scn", artifact="Table 1", run_dataset="synth-unbc", paper_dataset="UNBC-McMaster")
    md = report.to_markdown(side)
    assert "| Res3D | Network size = 39 |" in md and "run at full (–)" in md
    assert md.count("run at full") == len(skipped)


def test_verdicts_on_claims_whose_cells_are_run_at_full():
    within = pd.DataFrame({"difference": [0.5], "lo": [0.1], "hi": [0.9], "within_noise": [False], "learned": [True]})
    verdict, evidence = report.verdict_better(within, not_run=4)
    assert verdict == "agrees" and "4 more settings run at full" in evidence
    assert report.verdict_better(None, not_run=2)[0] == report.NOT_RUN
    assert report.verdict_better(within.iloc[:0], not_run=1)[0] == report.NOT_RUN
    assert report.verdict_better(None)[0] == "cannot tell"  # nothing to compare and nothing skipped
    sweep = pd.DataFrame({"column": ["26", "41", "101"], "value": [70.0, 60.0, np.nan], "lo": [65.0, 55.0, np.nan],
                          "hi": [75.0, 65.0, np.nan], "learned": [True, True, None],
                          "run_note": [np.nan, np.nan, "run at full"]})
    assert report.verdict_best(sweep, "101") == (report.NOT_RUN, "101 is run at full (this profile runs 2 of 3 settings)")
    verdict, evidence = report.verdict_best(sweep, "26")
    assert verdict == "agrees" and evidence.endswith("of the 2 settings run (1 more run at full)")
    assert report.verdict_best(sweep, "41")[0] == "disagrees"  # 60 lies outside the best one's band [65, 75]
    assert report.not_run(sweep) == 1 and report.not_run(sweep.drop(columns="run_note")) == 0

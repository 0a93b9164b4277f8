"""The notebook-output checks (tests/_notebook_outputs.py) catch what they guard: outputs
written by a real Run pass, and each kind of damage -- a NaN value, a renamed label, an unknown
verdict, a provenance of another profile or dataset, a missing file -- fails, naming it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pain_lib import report
from pain_lib.experiments.baselines import LINEAR_LABEL, TRIVIAL_LABEL
from pain_lib.notebook import Run
from pain_lib.registry import get_entry
from tests._notebook_outputs import check_outputs
from tests._synth_data import tiny_root

NB = "scn/01_table1_depth"


@pytest.fixture
def written(tmp_path, tmp_path_factory, monkeypatch):
    """What a Table 1 notebook writes: the side-by-side table (two of the paper's sizes run),
    its claims and a figure-like long table of a named sub-artifact."""
    monkeypatch.setenv("PAIN_LIB_CACHE", str(tmp_path / "cache"))
    params = {"dataset": "synth-unbc", "data_root": str(tiny_root(tmp_path_factory, "synth-unbc")),
              "profile": "tiny", "device": "cpu", "output_dir": str(tmp_path / "out"), "seed": 0}
    run = Run(get_entry(NB), params)
    ref = report.paper_table("scn", "Table 1")
    cells = ref[ref["column"].isin(["Network size = 26", "Network size = 39"])]
    results = cells[["row", "column"]].assign(metric="AUC", value=np.linspace(60, 70, len(cells)),
                                              lo=50.0, hi=80.0, n=1, unit="%", baseline=False, learned=True)
    base = pd.DataFrame([{"row": label, "column": c, "metric": "AUC", "value": v, "lo": v, "hi": v, "n": 1, "unit": "%",
                          "baseline": True, "learned": None}
                         for c in cells["column"].unique() for label, v in ((TRIVIAL_LABEL, 50.0), (LINEAR_LABEL, 55.0))])
    run.save_table(pd.concat([results, base], ignore_index=True), "Table 1")
    run.save_claims([report.claim("SCN beats Res3D", "5 of 5", ("cannot tell", "within the noise in 2"))], "Table 1")
    return run.output_dir


def test_a_real_runs_outputs_pass(written):
    provs = check_outputs(written, NB, profile="tiny", dataset="synth-unbc")
    assert sorted(p.name for p in provs) == ["table-1-claims.json", "table-1.json"]
    t = pd.read_csv(written / "scn" / "table-1.csv")
    assert t["dataset"].isna().sum() == len(t) - 8  # the sizes not run are the documented empty cells


def test_a_grid_table_without_its_baselines_fails(written):
    _edit_csv(written / "scn" / "table-1.csv", lambda df: df.drop(df.index[df["row"] == LINEAR_LABEL], inplace=True))
    with pytest.raises(AssertionError, match="lacks the baseline rows"):
        check_outputs(written, NB, profile="tiny", dataset="synth-unbc")


def test_a_grid_table_with_a_bad_learned_flag_fails(written):
    _edit_csv(written / "scn" / "table-1.csv",
              lambda df: df.__setitem__("learned", df["learned"].where(df["baseline"] == "True", "maybe")))
    with pytest.raises(AssertionError, match="learned flags"):
        check_outputs(written, NB, profile="tiny", dataset="synth-unbc")


def _edit_csv(path, edit):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(df)
    df.to_csv(path, index=False)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda df: df.__setitem__("value", df["value"].where(df.index != 0, "nan")), "is not finite"),
        (lambda df: df.__setitem__("row", df["row"].replace("SCN", "SCN (ours)")), "is not one of the paper's labels"),
        (lambda df: df.__setitem__("column", df["column"].replace("Network size = 152", "152")),
         "are missing"),
        (lambda df: df.__setitem__("lo", df["lo"].where(df.index != 0, "99")), "band lo 99 > hi"),
        (lambda df: df.__setitem__("value", df["value"].where(df["dataset"] != "", "1.0")),
         "without the run's dataset"),
    ],
    ids=["nan-value", "renamed-row", "renamed-column", "inverted-band", "value-in-a-not-run-cell"],
)
def test_a_damaged_side_by_side_table_fails(written, damage, message):
    _edit_csv(written / "scn" / "table-1.csv", damage)
    with pytest.raises(AssertionError, match=message):
        check_outputs(written, NB, profile="tiny", dataset="synth-unbc")


def test_an_unknown_verdict_fails(written):
    _edit_csv(written / "scn" / "table-1-claims.csv", lambda df: df.__setitem__("verdict", "probably"))
    with pytest.raises(AssertionError, match=r"verdicts \['probably'\] are not among"):
        check_outputs(written, NB, profile="tiny", dataset="synth-unbc")


@pytest.mark.parametrize("key, value", [("profile", "standard"), ("dataset", "synth-biovid")])
def test_every_provenance_file_must_name_the_runs_profile_and_dataset(written, key, value):
    path = written / "scn" / "table-1-claims.json"  # not the first one: every one is read
    prov = json.loads(path.read_text())
    prov[key] = value
    path.write_text(json.dumps(prov))
    with pytest.raises(AssertionError, match="table-1-claims.json: profile"):
        check_outputs(written, NB, profile="tiny", dataset="synth-unbc")


def test_a_listed_file_that_is_missing_or_of_no_known_kind_fails(written):
    (written / "scn" / "table-1.md").unlink()
    with pytest.raises(AssertionError, match="lists table-1.md, which was not written"):
        check_outputs(written, NB, profile="tiny", dataset="synth-unbc")
    (written / "scn" / "table-1.md").write_text("x")
    path = written / "scn" / "table-1-claims.json"
    prov = json.loads(path.read_text())
    (written / "scn" / "table-1-extra.csv").write_text("a,b\n1,2\n")
    prov["files"].append("table-1-extra.csv")
    path.write_text(json.dumps(prov))
    with pytest.raises(AssertionError, match="no known kind"):
        check_outputs(written, NB, profile="tiny", dataset="synth-unbc")


def test_a_metric_declared_undefined_may_have_empty_cells_only(written):
    path = written / "scn" / "table-1.csv"
    metric = pd.read_csv(path, dtype=str, keep_default_na=False)["metric"].iloc[0]
    _edit_csv(path, lambda df: df.__setitem__("value", df["value"].where(df.index != 0, "")))
    with pytest.raises(AssertionError, match="is not finite"):
        check_outputs(written, NB, profile="tiny", dataset="synth-unbc")
    check_outputs(written, NB, profile="tiny", dataset="synth-unbc", undefined={metric: "no pain"})
    with pytest.raises(AssertionError, match="is not finite"):  # another metric may not be empty
        check_outputs(written, NB, profile="tiny", dataset="synth-unbc", undefined={"other metric": "no pain"})
    _edit_csv(path, lambda df: df.__setitem__("value", df["value"].where(df.index != 1, "inf")))
    with pytest.raises(AssertionError, match="'inf' is not finite"):
        check_outputs(written, NB, profile="tiny", dataset="synth-unbc", undefined={metric: "no pain"})

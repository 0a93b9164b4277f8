import math

import pandas as pd
import pytest

from pain_lib import report


def test_catalogue_has_69_artifacts_with_unique_slugs():
    arts = report.artifacts()
    assert len(arts) == 69
    assert (arts["kind"] == "table").sum() == 31 and (arts["kind"] == "figure").sum() == 38
    assert not arts.duplicated(["paper", "slug"]).any()


@pytest.mark.parametrize(
    "label, slug", [("Table II", "table-ii"), ("Figure 10", "figure-10"), ("Table 1", "table-1")]
)
def test_artifact_slug(label, slug):
    assert report.artifact_slug(label) == slug


def test_paper_value_lookup_by_paper_artifact_row_column_dataset():
    # hrg Table III "Dual Branches" equals the R(2+1)D column of Table II (paper_tables README).
    rows = report.paper_table("hrg", "Table III", dataset="BioVid-A")
    assert not rows.empty
    first = rows.iloc[0]
    v = report.paper_value("hrg", "Table III", first["row"], first["column"], "BioVid-A")
    assert v == pytest.approx(float(first["value_text"]))


def test_paper_value_errors_name_near_matches():
    with pytest.raises(KeyError, match="rows include"):
        report.paper_value("scn", "Table 1", "no such row", "AUC", None)
    with pytest.raises(KeyError, match="artifacts with values"):
        report.paper_table("scn", "Table 99")
    with pytest.raises(ValueError, match="unknown paper"):
        report.paper_table("nope")


def test_side_by_side_puts_paper_value_next_to_run_value():
    ref = report.paper_table("scn", "Table 7", dataset="UNBC-McMaster")
    r0 = ref.iloc[0]
    results = pd.DataFrame(
        [{"row": r0["row"], "column": r0["column"], "value": 1.25, "std": 0.5, "n": 3}]
    )
    table = report.side_by_side(
        results, paper="scn", artifact="Table 7", run_dataset="synth-unbc", paper_dataset="UNBC-McMaster"
    )
    hit = table[(table["row"] == r0["row"]) & (table["column"] == r0["column"])].iloc[0]
    assert hit["value"] == 1.25 and hit["std"] == 0.5 and hit["n"] == 3
    assert hit["paper_value"] == pytest.approx(r0["value"])
    assert hit["dataset"] == "synth-unbc" and hit["paper_dataset"] == "UNBC-McMaster"
    # Paper cells not computed by this run stay visible, with an empty run value.
    assert len(table) == len(ref)
    missing = table[table["row"] != r0["row"]]
    assert missing["value"].isna().all()
    md = report.to_markdown(table, title="scn Table 7")
    assert "1.25 ± 0.5 (synth-unbc)" in md and "(UNBC-McMaster)" in md


def test_side_by_side_requires_row_column_value():
    with pytest.raises(ValueError, match="row, column, value"):
        report.side_by_side(pd.DataFrame({"row": ["a"]}), paper="scn", artifact="Table 1",
                            run_dataset="x", paper_dataset=None)


def test_printed_table_layout_matches_transcription():
    t = report.printed_table("scn", "Table 2")
    cells = report.paper_table("scn", "Table 2", numeric=False)
    assert t.shape[0] == cells["row"].nunique()
    assert (t != "").sum().sum() == len(cells.drop_duplicates(["row", "column", "dataset"]))


def test_format_mean_std():
    assert report.format_mean_std(0.1234, 0.01) == "0.12 ± 0.01"
    assert report.format_mean_std(math.nan) == "–"


def test_index_lists_every_artifact(tmp_path):
    (tmp_path / "scn").mkdir()
    (tmp_path / "scn" / "table-1.json").write_text('{"profile": "tiny", "dataset": "synth-unbc"}')
    (tmp_path / "scn" / "table-1.md").write_text("x")
    (tmp_path / "runs.jsonl").write_text('{"id": "scn/02_t2", "status": "failed"}\n')
    path = report.write_index(
        tmp_path, {("scn", "Table 1"): "scn/01_t1", ("scn", "Table 2"): "scn/02_t2"}, [("scn", "Figure 2")]
    )
    text = path.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| paper")]
    assert len(rows) == 69
    status = report.artifact_status(
        tmp_path, {("scn", "Table 1"): "scn/01_t1", ("scn", "Table 2"): "scn/02_t2"}, [("scn", "Figure 2")]
    ).set_index(["paper", "artifact"])["status"]
    assert status[("scn", "Table 1")] == "regenerated"
    assert status[("scn", "Table 2")] == "failed"
    assert status[("scn", "Figure 2")] == "diagram-only"
    assert status[("hrg", "Table II")] == "not yet"


def test_side_by_side_matches_per_row_dataset():
    """A table over several datasets (ssd Table 1) joins each row with its own paper dataset."""
    ref = report.paper_table("ssd", "Table 1")
    datasets = [d for d in ref["dataset"].unique() if d]
    assert len(datasets) >= 2
    rows = [ref[ref["dataset"] == d].iloc[0] for d in datasets[:2]]
    results = pd.DataFrame(
        [{"row": r["row"], "column": r["column"], "paper_dataset": r["dataset"], "value": 1.0} for r in rows]
    )
    table = report.side_by_side(results, paper="ssd", artifact="Table 1", run_dataset="synth", paper_dataset=None)
    for r in rows:
        hit = table[(table["row"] == r["row"]) & (table["column"] == r["column"]) & (table["paper_dataset"] == r["dataset"])]
        assert len(hit) == 1 and hit["value"].iloc[0] == 1.0
        # a numeric paper cell joins as its number, a text cell (N/A, a configuration) as its printed text
        expected = r["value_text"] if math.isnan(r["value"]) else pytest.approx(r["value"])
        assert hit["paper_value"].iloc[0] == expected


def test_index_links_only_an_artifacts_own_files(tmp_path):
    (tmp_path / "scn").mkdir()
    for stem in ("figure-1", "figure-10", "figure-10-trace-errors"):
        (tmp_path / "scn" / f"{stem}.json").write_text('{"profile": "tiny", "dataset": "synth-unbc"}')
        (tmp_path / "scn" / f"{stem}.png").write_text("x")
    status = report.artifact_status(tmp_path, {("scn", "Figure 1"): "a", ("scn", "Figure 10"): "b"}, [])
    links = status.set_index(["paper", "artifact"])["files"]
    assert links[("scn", "Figure 1")] == "[figure-1.png](scn/figure-1.png)"
    assert "figure-10-trace-errors.png" in links[("scn", "Figure 10")] and "figure-1.png" not in links[("scn", "Figure 10")]


def test_index_marks_the_artifacts_of_an_interrupted_notebook(tmp_path):
    (tmp_path / "scn").mkdir()
    (tmp_path / "scn" / "table-1.json").write_text('{"profile": "tiny", "dataset": "synth-unbc"}')
    (tmp_path / "runs.jsonl").write_text(
        '{"id": "scn/01_t1", "status": "ok"}\n{"id": "scn/01_t1", "status": "interrupted"}\n'
        '{"id": "scn/02_t2", "status": "interrupted"}\n{"id": "scn/02_t2", "status": "ok"}\n'
    )
    status = report.artifact_status(
        tmp_path, {("scn", "Table 1"): "scn/01_t1", ("scn", "Table 2"): "scn/02_t2"}
    ).set_index(["paper", "artifact"])["status"]
    assert status[("scn", "Table 1")] == "interrupted"  # the last run decides
    assert status[("scn", "Table 2")] == "not yet"


def test_index_links_the_same_artifact_from_another_profile(tmp_path):
    (tmp_path / "scn").mkdir()
    (tmp_path / "scn" / "table-7.json").write_text('{"profile": "standard", "dataset": "synth-unbc"}')
    (tmp_path / "scn" / "table-7.md").write_text("x")
    (tmp_path / "full" / "scn").mkdir(parents=True)
    (tmp_path / "full" / "scn" / "table-7.json").write_text('{"profile": "full", "dataset": "synth-unbc"}')
    (tmp_path / "full" / "scn" / "table-7.md").write_text("y")
    text = report.write_index(tmp_path, {("scn", "Table 7"): "scn/07"}).read_text()
    row = next(line for line in text.splitlines() if "| Table 7 |" in line and line.startswith("| scn"))
    assert "| standard |" in row and "[full](full/scn/table-7.md)" in row

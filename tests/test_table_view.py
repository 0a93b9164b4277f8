"""A tidy result table shown in the paper's layout (rows, columns, "paper | this run", colours)."""

import io

import pandas as pd
import pytest

from pain_lib import table_view as tv
from pain_lib.registry import repo_root
from pain_lib.report import paper_table

ROOT = repo_root()
K1, K2 = "Number of parallel 3D convolutional kernels = 1", "Number of parallel 3D convolutional kernels = 2"


def _read_back(table: pd.DataFrame) -> pd.DataFrame:
    buf = io.StringIO()
    table.to_csv(buf, index=False)
    buf.seek(0)
    return pd.read_csv(buf)


@pytest.fixture
def saved_table_2(tmp_path, monkeypatch):
    """scn Table 2 as Run.save_table writes it (run rows in reverse order, a few cells only)."""
    from pain_lib.notebook import Run
    from pain_lib.registry import get_entry

    monkeypatch.setenv("PAIN_LIB_CACHE", str(tmp_path / "cache"))
    run = Run(get_entry("scn/03_table3_architecture"),
              {"dataset": "none", "profile": "tiny", "device": "cpu", "seed": 0, "output_dir": str(tmp_path)})
    run.dataset, run.paper_dataset = "synth-unbc", "UNBC-McMaster"
    results = pd.DataFrame({
        "row": [K2, K1, K1],
        "column": ["Temporal Depths = [3, 5]", "Temporal Depths = 5", "Temporal Depths = 3"],
        "value": [62.5, 47.5, 90.0], "std": [1.25, float("nan"), float("nan")], "metric": "AUC", "unit": "%",
    })
    run.save_table(results, "Table 2", paper="scn")
    return pd.read_csv(tmp_path / "scn" / "table-2.csv")


def test_rows_and_columns_follow_the_papers_order(saved_table_2):
    lay = tv.layout(saved_table_2)
    ref = paper_table("scn", "Table 2")
    assert list(lay.cells.index) == list(dict.fromkeys(ref["row"]))
    assert list(lay.cells.columns) == list(dict.fromkeys(ref["column"]))
    assert lay.title == "scn Table 2"


def test_a_cell_reads_paper_then_this_run_with_std(saved_table_2):
    cells = tv.layout(saved_table_2).cells
    assert cells.loc[K1, "Temporal Depths = 3"] == "90.34 | 90"
    assert cells.loc[K2, "Temporal Depths = [3, 5]"] == "93.54 | 62.50 ± 1.25"
    assert cells.loc[K1, "Temporal Depths = 7"] == "89.47 | –"  # the paper's cell this run did not compute
    assert cells.loc[K1, "Temporal Depths = [3, 5]"] == ""  # not a cell of the paper's table


def test_colours_follow_the_relative_difference_and_grey_when_missing(saved_table_2):
    lay = tv.layout(saved_table_2)
    colours = lay.colours
    assert colours.loc[K1, "Temporal Depths = 3"] == tv.BINS[0][2]  # 90 vs 90.34: 0.4 %
    assert colours.loc[K1, "Temporal Depths = 5"] == tv.BINS[3][2]  # 47.5 vs 90.05: 47 %
    assert colours.loc[K2, "Temporal Depths = [3, 5]"] == tv.BINS[3][2]  # 62.5 vs 93.54: 33 %
    assert colours.loc[K1, "Temporal Depths = 7"] == tv.MISSING_COLOUR
    assert colours.loc[K1, "Temporal Depths = [3, 5]"] == ""
    assert lay.distance.loc[K1, "Temporal Depths = 5"] == pytest.approx(abs(47.5 - 90.05) / 90.05)


def test_caption_names_both_datasets_and_says_synthetic(saved_table_2):
    caption = tv.layout(saved_table_2).caption
    assert "paper (UNBC-McMaster) | this run (synth-unbc)" in caption and "AUC (%)" in caption
    assert "synthetic" in caption


def test_the_styler_renders_cells_colours_and_caption(saved_table_2):
    html = tv.paper_layout(saved_table_2).to_html()
    assert "90.34 | 90" in html and tv.BINS[0][2] in html and "UNBC-McMaster" in html


def test_markdown_fallback_escapes_the_pipe_and_writes_the_difference(saved_table_2):
    md = tv.paper_layout_markdown(saved_table_2)
    assert "| 90.34 \\| 90 (-0%) |" in md
    assert "93.54 \\| 62.50 ± 1.25 (-33%)" in md


def test_a_committed_table_with_text_cells():
    t = pd.read_csv(ROOT / "results" / "scn" / "table-3.csv")
    lay = tv.layout(t)
    assert list(lay.cells.index)[:2] == ["Conv1", "Conv2"]
    assert lay.cells.loc["Conv1", "Spatial output"] == "112 × 112 | 112 × 112"
    assert lay.colours.loc["Conv1", "Spatial output"] == tv.BINS[0][2]  # same text
    assert lay.cells.loc["Conv2", "Number of layers = 26"] == "2 | 2"


def test_text_cells_that_differ_are_red_and_missing_paper_is_grey():
    t = pd.DataFrame({"row": ["a", "b"], "column": ["x", "x"], "paper_value": ["3 × 3", None],
                      "value": ["5 × 5", 1.0]})
    lay = tv.layout(_read_back(t))
    assert lay.cells.loc["a", "x"] == "3 × 3 | 5 × 5" and lay.colours.loc["a", "x"] == tv.BINS[-1][2]
    assert lay.cells.loc["b", "x"] == "– | 1" and lay.colours.loc["b", "x"] == tv.MISSING_COLOUR


def test_several_paper_datasets_get_their_own_columns():
    t = pd.DataFrame({"paper": "scn", "artifact": "Made up", "row": ["SCN", "SCN"], "column": ["AUC", "AUC"],
                      "paper_dataset": ["UNBC-McMaster", "BioVid-A"], "paper_value": [90.0, 80.0],
                      "value": [45.0, 40.0], "dataset": ["synth-unbc", "synth-biovid"]})
    lay = tv.layout(t)
    assert list(lay.cells.columns) == ["UNBC-McMaster: AUC", "BioVid-A: AUC"]
    assert "paper (UNBC-McMaster, BioVid-A) | this run (synth-unbc, synth-biovid)" in lay.caption


def test_a_table_without_row_and_column_is_a_clear_error():
    with pytest.raises(ValueError, match="needs the columns row and column"):
        tv.layout(pd.DataFrame({"speed": ["slow"], "SCN": [1.0]}))


def test_run_show_returns_the_styler(saved_table_2):
    from pain_lib.notebook import Run

    assert type(Run.show(None, saved_table_2)).__name__ == "Styler"


@pytest.mark.parametrize("run, bin_", [(100.0, 0), (104.9, 0), (110.0, 1), (80.0, 2), (69.0, 3), (0.0, 3)])
def test_colour_bins(run, bin_):
    t = pd.DataFrame({"row": ["r"], "column": ["c"], "paper_value": [100.0], "value": [run]})
    assert tv.layout(t).colours.loc["r", "c"] == tv.BINS[bin_][2]


def test_a_cell_the_profile_did_not_compute_says_so(saved_table_2):
    t = saved_table_2.copy()
    t["run_note"] = ""
    t.loc[(t["row"] == K1) & (t["column"] == "Temporal Depths = 7"), "run_note"] = "run at full"
    cells = tv.layout(t).cells
    assert cells.loc[K1, "Temporal Depths = 7"] == "89.47 | run at full"
    assert cells.loc[K1, "Temporal Depths = 9"].endswith(" | –")  # not computed, no note: a plain gap
    assert cells.loc[K1, "Temporal Depths = 3"] == "90.34 | 90"  # a computed cell keeps its value

"""The pain-lib command: list, run (bad parameters, failing notebook), index."""

import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from pain_lib import cli
from pain_lib.registry import repo_root

ROOT = repo_root()


def test_list_shows_registered_notebooks(capsys):
    assert cli.main(["list"]) == 0
    assert "overview/00_paper_results" in capsys.readouterr().out


def test_unknown_parameter_fails_before_running_and_lists_valid_ones(capsys):
    rc = cli.main(["run", "overview/00_paper_results", "-p", "bogus=1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "unknown parameter 'bogus'" in err
    for name in ("dataset", "data_root", "profile", "device", "seed", "output_dir"):
        assert f"  {name}:" in err


def test_ill_typed_parameter_fails(capsys):
    assert cli.main(["run", "overview/00_paper_results", "-p", "seed='x'"]) == 2
    assert "must be int" in capsys.readouterr().err


def test_unknown_notebook_fails(capsys):
    assert cli.main(["run", "nope/01"]) == 2
    assert "no registered notebook 'nope/01'" in capsys.readouterr().err


def test_console_script_entry_point():
    out = subprocess.run([sys.executable, "-m", "pain_lib.cli", "list"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "overview/00_paper_results" in out.stdout


def _make_project(tmp_path):
    """A copy of the project's notebooks with one extra notebook that fails."""
    proj = tmp_path / "proj"
    (proj / "notebooks" / "bad").mkdir(parents=True)
    shutil.copytree(ROOT / "notebooks" / "overview", proj / "notebooks" / "overview")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Fails on purpose\n\nFidelity notes: none."),
        nbformat.v4.new_code_cell(
            'dataset: str = "none"  # none\ndata_root: str = ""  # none\nprofile: str = "tiny"  # profile\n'
            'device: str = "cpu"  # device\nseed: int = 0  # seed\noutput_dir: str = "results"  # out',
            metadata={"tags": ["parameters"]},
        ),
        nbformat.v4.new_code_cell('import pain_lib.notebook\nrun = pain_lib.notebook.start(globals(), notebook="bad/01_fails")'),
        nbformat.v4.new_code_cell("x = 1\nraise RuntimeError('deliberate failure in cell 4')"),
    ]
    nbformat.write(nb, proj / "notebooks" / "bad" / "01_fails.ipynb")
    (proj / "notebooks" / "registry.yaml").write_text(
        "notebooks:\n"
        "  - {id: bad/01_fails, path: bad/01_fails.ipynb, paper: bad, artifacts: [], datasets: [none]}\n"
        "  - {id: overview/00_paper_results, path: overview/00_paper_results.ipynb, paper: overview,\n"
        "     artifacts: [], datasets: [none], choices: {paper: [all, scn]}}\n"
    )
    return proj


@pytest.mark.notebook
def test_failing_notebook_reports_cell_and_others_still_run(tmp_path, monkeypatch, capsys):
    proj = _make_project(tmp_path)
    monkeypatch.setenv("PAIN_LIB_ROOT", str(proj))
    rc = cli.main(["reproduce", "--profile", "tiny"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "1 notebooks ok, 1 failed" in out
    assert "deliberate failure in cell 4" in out and "raise RuntimeError" in out
    assert "executed notebook:" in out and (proj / "results" / "executed" / "bad" / "01_fails.ipynb").exists()
    runs = [json.loads(line) for line in (proj / "results" / "runs.jsonl").read_text().splitlines()]
    by_id = {r["id"]: r for r in runs}
    assert by_id["bad/01_fails"]["status"] == "failed" and by_id["bad/01_fails"]["failing_cell"] == 4
    assert by_id["overview/00_paper_results"]["status"] == "ok"
    # The index was regenerated with all 69 artifacts.
    index = (proj / "results" / "README.md").read_text()
    assert "(total 69)" in index


def test_synth_into_a_foreign_folder_is_one_line_not_a_traceback(tmp_path, capsys):
    from pain_lib.cli import main

    (tmp_path / "notes.txt").write_text("mine")
    assert main(["synth", "--flavour", "synth-unbc", "--scale", "tiny", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing" in err[0] and str(tmp_path) in err[0]
    assert (tmp_path / "notes.txt").read_text() == "mine"

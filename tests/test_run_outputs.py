"""What a notebook's Run writes (save_figure, save_claims), its missing-data error
(DataRootError) and the runner's parallel scheduling (run_many with jobs=2) -- without a kernel."""

from __future__ import annotations

import json
import threading
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from pain_lib import report, runner  # noqa: E402
from pain_lib.notebook import DataRootError, Run  # noqa: E402
from pain_lib.registry import get_entry, load_registry  # noqa: E402
from pain_lib.runner import RunResult  # noqa: E402
from tests._synth_data import tiny_root  # noqa: E402


@pytest.fixture
def run(tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PAIN_LIB_CACHE", str(tmp_path / "cache"))
    root = tiny_root(tmp_path_factory, "synth-unbc")
    params = {"dataset": "synth-unbc", "data_root": str(root), "profile": "tiny", "device": "cpu",
              "output_dir": str(tmp_path / "out"), "seed": 0}
    return Run(get_entry("scn/01_table1_depth"), params)


def _prov(path):
    return json.loads(path.read_text())


# --------------------------------------------------------------------------- save_figure
def test_save_figure_writes_png_svg_and_provenance(run):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    files = run.save_figure(fig, "Table 1", caption="AUC by size")
    out = run.output_dir / "scn"
    assert [f.name for f in files] == ["table-1.png", "table-1.svg"]
    assert (out / "table-1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (out / "table-1.svg").read_bytes()[:400]
    prov = _prov(out / "table-1.json")
    assert prov["kind"] == "figure" and prov["files"] == ["table-1.png", "table-1.svg"]
    assert prov["profile"] == "tiny" and prov["dataset"] == "synth-unbc" and prov["caption"] == "AUC by size"
    assert prov["paper"] == "scn" and prov["artifact"] == "Table 1" and prov["notebook"] == "scn/01_table1_depth"
    # synthetic data: the figure says so in its title
    assert "synth-unbc (synthetic)" in fig._suptitle.get_text() and "profile tiny" in fig._suptitle.get_text()
    plt.close(fig)
    # a table of the same artifact shares the provenance file, which then names both
    run.save_table(pd.DataFrame({"row": ["SCN"], "column": ["Network size = 26"], "value": [90.0]}), "Table 1")
    prov = _prov(out / "table-1.json")
    assert prov["kind"] == "figure+table"
    assert prov["files"] == ["table-1.png", "table-1.svg", "table-1.csv", "table-1.md"]
    assert {p.name for p in run.written} == {"table-1.png", "table-1.svg", "table-1.json", "table-1.csv", "table-1.md"}


def test_save_figure_with_a_name_writes_its_own_stem(run):
    fig = plt.figure()
    fig.suptitle("given title")
    run.save_figure(fig, "Figure 10", name="trace errors")
    assert (run.output_dir / "scn" / "figure-10-trace-errors.png").exists()
    assert fig._suptitle.get_text() == "given title"  # a title of its own is kept
    plt.close(fig)


# --------------------------------------------------------------------------- save_claims
def test_save_claims_writes_the_verdicts_with_the_dataset(run, capsys):
    claims = [report.claim("SCN beats Res3D", "5 of 5", ("agrees", "better in 2 of 2")),
              report.claim("101 layers is best", "98.5 %", ("cannot tell", "in the band"))]
    table = run.save_claims(claims, "Table 1")
    out = run.output_dir / "scn"
    written = pd.read_csv(out / "table-1-claims.csv")
    assert written.columns.tolist() == ["claim", "paper", "verdict", "evidence", "dataset"]
    assert written["verdict"].tolist() == ["agrees", "cannot tell"] and (written["dataset"] == "synth-unbc").all()
    pd.testing.assert_frame_equal(written, table.reset_index(drop=True), check_dtype=False)
    prov = _prov(out / "table-1-claims.json")
    assert prov["files"] == ["table-1-claims.csv", "table-1-claims.md"] and prov["profile"] == "tiny"
    assert "SCN beats Res3D" in (out / "table-1-claims.md").read_text()
    printed = capsys.readouterr().out
    assert "[agrees] SCN beats Res3D -- better in 2 of 2" in printed and "[cannot tell] 101 layers" in printed


def test_save_claims_refuses_an_unknown_verdict_and_writes_nothing(run):
    with pytest.raises(ValueError, match="unknown verdict"):
        run.save_claims([report.claim("x", "y", ("probably", "z"))], "Table 1")
    assert not (run.output_dir / "scn").exists()


# --------------------------------------------------------------------------- DataRootError
def test_a_licensed_dataset_without_a_root_is_a_data_root_error(tmp_path):
    params = {"dataset": "unbc", "profile": "tiny", "device": "cpu", "output_dir": str(tmp_path)}
    with pytest.raises(DataRootError, match=r"licensed dataset.*data_manifests/unbc.yaml.*synth-unbc"):
        Run(get_entry("scn/01_table1_depth"), params)
    with pytest.raises(DataRootError, match="does not exist"):
        Run(get_entry("scn/01_table1_depth"), {**params, "data_root": str(tmp_path / "nowhere")})
    assert issubclass(DataRootError, FileNotFoundError)


def test_an_existing_root_of_a_licensed_dataset_is_accepted(tmp_path):
    (tmp_path / "unbc").mkdir()
    params = {"dataset": "unbc", "profile": "tiny", "device": "cpu", "output_dir": str(tmp_path / "out"),
              "data_root": str(tmp_path / "unbc")}
    r = Run(get_entry("scn/01_table1_depth"), params)
    assert r.data_root == tmp_path / "unbc" and not r.is_synthetic


# --------------------------------------------------------------------------- run_many(jobs=2)
def test_run_many_runs_two_at_a_time_in_registry_order_and_survives_a_failure(monkeypatch):
    entries = load_registry().notebooks[:5]
    lock, running, peak, started = threading.Lock(), [0], [0], []

    def fake_run_notebook(entry, params, **kw):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            started.append(entry.id)
        try:
            time.sleep(0.3 if entry is entries[0] else 0.1)
            if entry is entries[2]:
                raise OSError("log not writable")
            return RunResult(entry.id, "ok", 0.1, "tiny", params, "")
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(runner, "run_notebook", fake_run_notebook)
    monkeypatch.setattr(runner, "kernel_name", lambda: "python3")
    results = runner.run_many(entries, [{"profile": "tiny"}] * len(entries), jobs=2, log_output=False)
    assert peak[0] == 2, "two notebooks at a time"
    assert started[:2] == [entries[0].id, entries[1].id]
    assert [r.id for r in results] == [e.id for e in entries]  # registry order, not finishing order
    status = {r.id: r.status for r in results}
    assert status[entries[2].id] == "failed" and "OSError: log not writable" in results[2].error
    assert [status[e.id] for e in entries if e is not entries[2]] == ["ok"] * 4  # the others still ran


def test_run_many_with_one_job_runs_one_at_a_time(monkeypatch):
    entries = load_registry().notebooks[:3]
    running, peak = [0], [0]

    def fake_run_notebook(entry, params, **kw):
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        running[0] -= 1
        return RunResult(entry.id, "ok", 0.05, "tiny", params, "")

    monkeypatch.setattr(runner, "run_notebook", fake_run_notebook)
    monkeypatch.setattr(runner, "kernel_name", lambda: "python3")
    assert [r.status for r in runner.run_many(entries, [{}] * 3, jobs=1, log_output=False)] == ["ok"] * 3
    assert peak[0] == 1

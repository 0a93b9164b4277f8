"""The command under bad inputs and broken machines (bench/cli_faults.py, also run by
``make faults``): every case ends in one line naming what is wrong, no traceback; plus a full
results disk, the data map of ``reproduce``, portable runs.jsonl records and the index."""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

import pytest

from pain_lib import cli
from pain_lib.registry import repo_root

ROOT = repo_root()
sys.path.insert(0, str(ROOT / "bench"))
import cli_faults  # noqa: E402
from cli_faults import CASES, answer_line  # noqa: E402


@pytest.fixture
def mounts():
    yield
    cli_faults.release_mounts()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_is_one_line_naming_it(case, tmp_path, monkeypatch, capsys, mounts):
    if case.mount and not cli_faults.can_mount():
        pytest.skip("needs a tmpfs mount (root on Linux)")
    monkeypatch.chdir(tmp_path)
    for name in ("PAIN_LIB_ROOT", "PAIN_LIB_DATA", "PAIN_LIB_CACHE", "PAIN_LIB_EXPERIMENTS"):
        monkeypatch.delenv(name, raising=False)
    argv, env, expect = case.setup(tmp_path)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    line = answer_line(out if case.stream == "out" else err, case)
    assert rc == case.rc, (rc, out, err)
    assert "\n" not in line and len(line) < 700, line
    for text in expect:
        assert text in line, (text, line)
    assert not (tmp_path / "r" / "executed").exists()  # nothing ran


def test_verbose_shows_the_traceback(tmp_path, capsys):
    link = cli_faults.loop(tmp_path)
    assert cli.main(["-v", "synth", "--flavour", "synth-unbc", "--scale", "tiny", "--out", str(link)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("pain-lib: error:")


def test_every_os_error_is_one_line(tmp_path, monkeypatch, capsys):
    """Whatever OSError a command meets (here: in the middle of the index) is one line naming the path."""
    from pain_lib import report

    for code in (errno.ENOSPC, errno.EROFS, errno.ELOOP, errno.ENOTDIR, errno.EACCES):
        def boom(*a, code=code, **k):
            raise OSError(code, os.strerror(code), str(tmp_path / "r" / "README.md"))

        monkeypatch.setattr(report, "write_index", boom)
        assert cli.main(["index", "--results-dir", str(tmp_path / "r")]) == 2
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        assert len(lines) == 1 and str(tmp_path / "r" / "README.md") in lines[0] and "Traceback" not in err, err


# --------------------------------------------------------------------------- a full results disk
def _fake_notebook_run(stage_table_bytes: int):
    """A stand-in for papermill: writes the executed notebook and, as the notebook's Run would, a
    table with its provenance into the run's staging folder (PAIN_LIB_STAGE)."""

    def execute(input_path, output_path, *, parameters, kernel_manager_class, **kw):
        km_env = _stage_env(kernel_manager_class)
        stage = Path(km_env["PAIN_LIB_STAGE"])
        Path(output_path).write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
        from pain_lib.io import atomic_write_json, atomic_write_text

        atomic_write_text(stage / "t" / "table-1.csv", "row,column,value\n" + "a,b,1.0\n" * (stage_table_bytes // 8))
        atomic_write_json(stage / "t" / "table-1.json", {"notebook": "t/01", "run_id": km_env["PAIN_LIB_RUN_ID"]})

    return execute


def _stage_env(km_class) -> dict:
    for cell in km_class.start_kernel.__closure__ or ():
        value = cell.cell_contents
        if isinstance(value, dict) and "PAIN_LIB_STAGE" in value:
            return value
    raise AssertionError("the kernel gets no PAIN_LIB_STAGE")


def _snapshot(results: Path) -> dict[str, bytes]:
    return {p.relative_to(results).as_posix(): p.read_bytes() for p in sorted(results.rglob("*"))
            if p.is_file() and not p.name.endswith(".log")}


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KiB tmpfs for the results (else an injected ENOSPC: see the test)."""
    if not cli_faults.can_mount():
        yield None
        return
    with cli_faults.tmpfs(tmp_path / "disk", "64k") as disk:
        yield disk


def test_a_full_results_disk_changes_nothing_and_the_next_run_succeeds(tmp_path, monkeypatch, capsys, full_disk):
    import papermill

    proj = cli_faults.project(tmp_path)
    monkeypatch.setenv("PAIN_LIB_ROOT", str(proj))
    monkeypatch.setenv("PAIN_LIB_EXPERIMENTS", str(tmp_path / "store"))
    results = (full_disk or tmp_path / "disk") / "results"
    # a first, successful run
    monkeypatch.setattr(papermill, "execute_notebook", _fake_notebook_run(100))
    assert cli.main(["run", "t/01", "--results-dir", str(results)]) == 0
    capsys.readouterr()
    before = _snapshot(results)
    assert "t/table-1.csv" in before and "runs.jsonl" in before and "README.md" in before
    # the disk fills up; the next run's table does not fit
    if full_disk is not None:
        filler = full_disk / "filler"
        with open(filler, "wb", buffering=0) as fh:
            with pytest.raises(OSError):
                while True:
                    fh.write(b"\0" * 1024)
                    fh.flush()
        big = _fake_notebook_run(200_000)
    else:  # no tmpfs here: the staged write meets an injected ENOSPC
        def big(input_path, output_path, **kw):
            raise OSError(errno.ENOSPC, "No space left on device", str(results / "executed" / "t"))
    monkeypatch.setattr(papermill, "execute_notebook", big)
    rc = cli.main(["run", "t/01", "--results-dir", str(results)])
    out, err = capsys.readouterr()
    assert rc == 2 and "Traceback" not in out + err
    lines = [ln for ln in err.splitlines() if ln.startswith("pain-lib:")]  # (the rest: the progress bar)
    assert len(lines) == 1 and "no space left" in lines[0] and str(results) in lines[0], err
    assert _snapshot(results) == before  # nothing in results/ changed
    assert not list((results / "executed").rglob("*.staging")) and not list(results.rglob("*.tmp*"))
    # space freed: the next run succeeds and is the result
    if full_disk is not None:
        filler.unlink()
    monkeypatch.setattr(papermill, "execute_notebook", _fake_notebook_run(100))
    assert cli.main(["run", "t/01", "--results-dir", str(results)]) == 0
    runs = [json.loads(line) for line in (results / "runs.jsonl").read_text().splitlines()]
    assert [r["status"] for r in runs] == ["ok", "ok"]
    prov = json.loads((results / "t" / "table-1.json").read_text())
    assert prov["run_id"] == runs[-1]["run_id"]


def test_a_failed_runs_outputs_are_not_results(tmp_path, monkeypatch, capsys):
    """A notebook that wrote its table and then failed: the table goes to <id>.partial/, the
    results keep the previous run's, the index does not call it regenerated."""
    import papermill

    proj = cli_faults.project(tmp_path)
    monkeypatch.setenv("PAIN_LIB_ROOT", str(proj))
    monkeypatch.setenv("PAIN_LIB_EXPERIMENTS", str(tmp_path / "store"))
    results = tmp_path / "results"
    good = _fake_notebook_run(100)

    def fails(input_path, output_path, **kw):
        good(input_path, output_path, **kw)
        raise RuntimeError("the kernel died")

    monkeypatch.setattr(papermill, "execute_notebook", fails)
    assert cli.main(["run", "t/01", "--results-dir", str(results)]) == 1
    assert not (results / "t" / "table-1.csv").exists()
    assert (results / "executed" / "t" / "01.partial" / "t" / "table-1.csv").exists()
    run = json.loads((results / "runs.jsonl").read_text().splitlines()[-1])
    assert run["status"] == "failed" and run["executed"] == "executed/t/01.ipynb" and run["log"] == "executed/t/01.log"
    assert run["partial"] == "executed/t/01.partial"


def test_index_never_counts_an_unrecorded_or_failed_run(tmp_path):
    from pain_lib.report import artifact_status

    (tmp_path / "scn").mkdir()
    for slug, run_id in (("table-3", "r-failed"), ("table-2", "r-ok"), ("table-1", None)):
        (tmp_path / "scn" / f"{slug}.csv").write_text("x")
        prov = {"notebook": f"scn/{slug}", "profile": "tiny", "dataset": "synth-unbc"}
        if run_id:
            prov["run_id"] = run_id
        (tmp_path / "scn" / f"{slug}.json").write_text(json.dumps(prov))
    (tmp_path / "runs.jsonl").write_text(
        json.dumps({"id": "scn/x", "status": "failed", "run_id": "r-failed", "executed": "/abs/old/path.ipynb"}) + "\n"
        + json.dumps({"id": "scn/y", "status": "ok", "run_id": "r-ok", "executed": "executed/scn/y.ipynb"}) + "\n")
    status = artifact_status(tmp_path, {}).set_index(["paper", "artifact"])["status"]
    assert status["scn", "Table 3"] == "unrecorded"
    assert status["scn", "Table 2"] == "regenerated"
    assert status["scn", "Table 1"] == "regenerated"  # written outside the runner (no run id): as before


def test_plan_history_reads_old_and_new_records(tmp_path):
    from pain_lib.plan import history

    p = tmp_path / "runs.jsonl"
    p.write_text(
        json.dumps({"id": "a", "status": "ok", "profile": "tiny", "device": "cpu", "duration_s": 2.0,
                    "executed": "/home/someone/results/executed/a.ipynb"}) + "\n"
        + json.dumps({"id": "a", "status": "ok", "profile": "tiny", "device": "cpu", "duration_s": 4.0,
                      "executed": "executed/a.ipynb"}) + "\n[]\n{cut")
    assert history(p)["a", "tiny", "cpu"] == [2.0, 4.0]


def test_store_writer_hiding_a_full_disk_names_the_file(tmp_path, full_disk):
    """torch.save on a full disk says "[enforce fail at inline_container.cc] unexpected pos";
    atomic_write turns it into ENOSPC naming the file."""
    from pain_lib.io import atomic_write

    if full_disk is None:
        pytest.skip("needs a tmpfs mount (root on Linux)")
    target = full_disk / "store" / "model.pt"

    def torch_like(fh):
        try:
            fh.write(b"\0" * 200_000)
            fh.flush()
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] unexpected pos 64 vs 0") from None

    with pytest.raises(OSError) as info:
        atomic_write(target, torch_like)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert not list((full_disk / "store").iterdir())


# --------------------------------------------------------------------------- paths from the current folder
def _capture(monkeypatch):
    seen = {}

    def fake(args, entries, params, results_dir):
        seen.update(entries=[e.id for e in entries], params=params, results_dir=results_dir)
        return 0

    monkeypatch.setattr(cli, "_execute", fake)
    return seen


def test_relative_data_root_resolves_from_the_current_folder(tmp_path, monkeypatch):
    seen = _capture(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "scn/07_table7_unbc_comparison", "--profile", "tiny", "-p", "dataset='unbc'",
                     "-p", "data_root='UNBC'", "--results-dir", "r"]) == 0
    assert seen["params"][0]["data_root"] == str(tmp_path / "UNBC")
    assert seen["results_dir"] == tmp_path / "r"


def test_relative_environment_folders_reach_the_kernel_absolute(tmp_path, monkeypatch):
    from pain_lib.runner import _kernel_env

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAIN_LIB_CACHE", "cache-here")
    assert _kernel_env()["PAIN_LIB_CACHE"] == str(tmp_path / "cache-here")


# --------------------------------------------------------------------------- reproduce with real data
REGISTRY = """notebooks:
  - {id: o/00, path: t/01.ipynb, paper: overview, artifacts: [], datasets: [none]}
  - {id: u/01, path: t/01.ipynb, paper: scn, artifacts: [], datasets: [synth-unbc, unbc]}
  - {id: b/01, path: t/01.ipynb, paper: scn, artifacts: [], datasets: [synth-biovid, biovid]}
  - {id: m/01, path: t/01.ipynb, paper: data, artifacts: [], datasets: [synth-unbc, synth-biovid, unbc, biovid]}
"""


@pytest.fixture
def data_project(tmp_path, monkeypatch):
    proj = cli_faults.project(tmp_path, REGISTRY)
    monkeypatch.setenv("PAIN_LIB_ROOT", str(proj))
    monkeypatch.setenv("PAIN_LIB_EXPERIMENTS", str(tmp_path / "store"))
    monkeypatch.chdir(tmp_path)
    return proj


def test_reproduce_with_a_data_map_runs_each_notebook_on_its_dataset(data_project, tmp_path, monkeypatch, capsys):
    seen = _capture(monkeypatch)
    assert cli.main(["reproduce", "--data", "unbc=UNBC", "--results-dir", "r", "-p", "seed=3"]) == 0
    out = capsys.readouterr().out
    assert seen["entries"] == ["o/00", "u/01", "m/01"]
    by_id = dict(zip(seen["entries"], seen["params"]))
    assert by_id["u/01"]["dataset"] == "unbc" and by_id["u/01"]["data_root"] == str(tmp_path / "UNBC")
    assert by_id["m/01"]["dataset"] == "unbc" and "dataset" not in by_id["o/00"]
    assert all(p["seed"] == 3 for p in seen["params"])
    skipped = [ln for ln in out.splitlines() if ln.startswith("skipped")]
    assert skipped == ["skipped b/01: its registry datasets (synth-biovid, biovid) include none of unbc"]


def test_reproduce_with_two_datasets_and_the_p_form(data_project, tmp_path, monkeypatch, capsys):
    seen = _capture(monkeypatch)
    assert cli.main(["reproduce", "--data", "unbc=/d/UNBC", "--data", "biovid=/d/BioVid", "--results-dir", "r"]) == 0
    by_id = dict(zip(seen["entries"], seen["params"]))
    assert by_id["b/01"]["data_root"] == "/d/BioVid" and by_id["u/01"]["data_root"] == "/d/UNBC"
    assert by_id["m/01"]["dataset"] == "unbc"  # the first of its registry datasets that is given
    assert cli.main(["reproduce", "-p", "dataset='biovid'", "-p", "data_root='/d/BioVid'", "--results-dir", "r"]) == 0
    assert seen["entries"] == ["o/00", "b/01", "m/01"]
    assert dict(zip(seen["entries"], seen["params"]))["m/01"]["data_root"] == "/d/BioVid"


def test_reproduce_p_that_no_notebook_declares_is_an_error(data_project, capsys):
    assert cli.main(["reproduce", "-p", "bogus=1", "--results-dir", "r"]) == 2
    assert "no selected notebook declares parameter 'bogus'" in capsys.readouterr().err

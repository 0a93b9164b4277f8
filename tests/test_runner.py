"""The runner under faults: Ctrl-C, contradicting flags, invalid knobs, a missing device, a
read-only results folder, a relative output_dir; and its quiet output."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from pain_lib import cli
from pain_lib.registry import repo_root
from pain_lib.runner import Interrupt, RunResult, _outputs_since

ROOT = repo_root()

PARAMS = (
    'dataset: str = "none"  # none\ndata_root: str = ""  # none\nprofile: str = "tiny"  # profile\n'
    'device: str = "cpu"  # device\nseed: int = 0  # seed\noutput_dir: str = "results"  # out'
)


def _notebook(path: Path, nb_id: str, *cells: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Test notebook\n\nFidelity notes: none."),
        nbformat.v4.new_code_cell(PARAMS, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(f'import pain_lib.notebook\nrun = pain_lib.notebook.start(globals(), notebook="{nb_id}")'),
        *(nbformat.v4.new_code_cell(c) for c in cells),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


SAVE = (
    "import pandas as pd\n"
    "run.save_table(pd.DataFrame({'row': ['a'], 'column': ['b'], 'value': [1.0]}), 'Table 1', compare=False)\n"
    "print('table saved')"
)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project with a slow notebook (saves a table, then sleeps), a quick one that prints,
    and one that fails; PAIN_LIB_ROOT points at it."""
    proj = tmp_path / "proj"
    nbs = proj / "notebooks"
    _notebook(nbs / "t" / "01_slow.ipynb", "t/01_slow", SAVE,
              "import time\nprint('slow cell started', flush=True)\nfor _ in range(1200):\n    time.sleep(0.1)")
    _notebook(nbs / "t" / "02_quick.ipynb", "t/02_quick", "print('quick cell output')\n" + SAVE)
    _notebook(nbs / "t" / "03_fails.ipynb", "t/03_fails", "x = 1\nraise RuntimeError('deliberate failure in cell 4')")
    (nbs / "registry.yaml").write_text(
        "notebooks:\n"
        "  - {id: t/01_slow, path: t/01_slow.ipynb, paper: t, artifacts: [], datasets: [none]}\n"
        "  - {id: t/02_quick, path: t/02_quick.ipynb, paper: t, artifacts: [], datasets: [none]}\n"
        "  - {id: t/03_fails, path: t/03_fails.ipynb, paper: t, artifacts: [], datasets: [none]}\n"
    )
    monkeypatch.setenv("PAIN_LIB_ROOT", str(proj))
    monkeypatch.setenv("PAIN_LIB_EXPERIMENTS", str(tmp_path / "experiments"))
    return proj


def _runs(results: Path) -> list[dict]:
    path = results / "runs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# --------------------------------------------------------------------------- Ctrl-C
@pytest.mark.notebook
def test_ctrl_c_stops_interrupts_records_and_exits_130(project):
    results = project / "results"
    log = results / "executed" / "t" / "01_slow.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pain_lib.cli", "reproduce", "--profile", "tiny"],
        cwd=ROOT, env={**os.environ, "MPLBACKEND": "Agg"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.time() + 120
        while not (log.exists() and "slow cell started" in log.read_text()):
            assert proc.poll() is None and time.time() < deadline, "the slow notebook never reached its slow cell"
            time.sleep(0.2)
        t_int = time.time()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert time.time() - t_int < 30, "the kernel was not interrupted promptly"
    # exactly one line about it; no traceback
    assert "Traceback" not in out + err
    lines = [ln for ln in err.splitlines() if ln.startswith("pain-lib:")]
    assert len(lines) == 1 and "interrupted" in lines[0] and "t/01_slow" in lines[0] and "2 notebooks not started" in lines[0]
    # recorded as interrupted; the next notebooks never started
    runs = _runs(results)
    assert [(r["id"], r["status"]) for r in runs] == [("t/01_slow", "interrupted")]
    assert not (results / "executed" / "t" / "02_quick.ipynb").exists()
    # the index was regenerated; nothing of the unfinished notebook looks like a result
    assert (results / "README.md").exists()
    assert not (results / "t").exists() or not any((results / "t").iterdir())
    partial = results / "executed" / "t" / "01_slow.partial" / "t"
    assert sorted(p.name for p in partial.iterdir()) == ["table-1.csv", "table-1.json", "table-1.md"]
    assert runs[0]["partial"] == "executed/t/01_slow.partial"  # relative to the results folder
    assert "KeyboardInterrupt" in log.read_text()


def test_second_ctrl_c_kills_and_tick_escalates():
    """The escalation logic without a kernel: SIGINT first (again each second), SIGKILL after
    the grace or on a second request."""
    sent = []
    it = Interrupt(grace_s=0.3)
    it._signal = sent.append  # type: ignore[method-assign]
    it.tick()
    assert sent == [] and not it.is_set()
    it.request()
    assert it.is_set() and sent == [signal.SIGINT]
    time.sleep(0.35)
    it.tick()
    assert sent[-1] == signal.SIGKILL
    it.request()
    assert sent[-1] == signal.SIGKILL and it.requests == 2


def test_outputs_of_an_unfinished_write_are_attributed(tmp_path):
    t0 = time.time() - 1
    (tmp_path / "scn").mkdir()
    for name, nb in (("table-1", "a/1"), ("table-2", "b/2")):
        (tmp_path / "scn" / f"{name}.csv").write_text("x")
        (tmp_path / "scn" / f"{name}.json").write_text(json.dumps({"notebook": nb}))
    (tmp_path / "scn" / "table-3.csv").write_text("x")  # provenance not written yet
    (tmp_path / "scn" / ".table-4.csv.abc.tmp").write_text("x")  # an atomic write cut short
    old = tmp_path / "scn" / "table-0.csv"
    old.write_text("x")
    os.utime(old, (t0 - 100, t0 - 100))
    mine = sorted(p.name for p in _outputs_since(tmp_path, "a/1", t0))
    assert mine == [".table-4.csv.abc.tmp", "table-1.csv", "table-1.json", "table-3.csv"]


# --------------------------------------------------------------------------- quiet output
@pytest.mark.notebook
def test_quiet_by_default_one_line_per_notebook_and_a_log_file(project, capsys):
    rc = cli.main(["reproduce", "--profile", "tiny", "--only", "t/02_quick,t/03_fails"])
    out, err = capsys.readouterr()
    assert rc == 1
    results = project / "results"
    quick = [ln for ln in out.splitlines() if "t/02_quick" in ln and not ln.startswith(" ")]
    fails = [ln for ln in out.splitlines() if "t/03_fails" in ln and not ln.startswith(" ")]
    plan = [ln for ln in out.splitlines() if ln.startswith("  t/") and ln.endswith("(no estimate)")]
    assert len(plan) == 2, out  # the plan lists both notebooks first
    assert len(quick) == 1 and quick[0].startswith("ok") and "3 files" in quick[0], out
    assert len(fails) == 1 and fails[0].startswith("FAILED"), out
    assert "cell 4: x = 1 ⏎ raise RuntimeError('deliberate failure in cell 4')" in fails[0]
    assert "RuntimeError: deliberate failure in cell 4" in fails[0] and "03_fails.log" in fails[0]
    assert "1 notebooks ok, 1 failed" in out and "executed notebook:" in out
    # cell output is in the log, not on the console
    assert "quick cell output" not in out + err
    log = (results / "executed" / "t" / "02_quick.log").read_text()
    assert "quick cell output" in log and "Executing Cell 4" in log
    assert "deliberate failure in cell 4" in (results / "executed" / "t" / "03_fails.log").read_text()
    runs = {r["id"]: r for r in _runs(results)}
    assert runs["t/02_quick"]["files"] == 3 and runs["t/02_quick"]["device"] == "cpu"
    assert runs["t/03_fails"]["status"] == "failed" and runs["t/03_fails"]["failing_cell"] == 4


@pytest.mark.notebook
def test_verbose_streams_cell_output(project, capsys, caplog):
    import logging

    caplog.set_level(logging.INFO)
    assert cli.main(["run", "t/02_quick", "--profile", "tiny", "-v"]) == 0
    assert "quick cell output" in caplog.text


def test_summary_line_is_one_line_even_for_a_multiline_error():
    r = RunResult("x/1", "failed", 2.5, "tiny", {}, "e.ipynb", failing_cell=3, files=0, log="x.log",
                  cell_source="a = 1\n\nb = 2\nc = 3\n", error="ValueError: first line\nsecond line")
    line = r.summary_line()
    assert "\n" not in line
    assert line.startswith("FAILED  x/1") and "cell 3: a = 1 ⏎ b = 2 ⏎ …" in line and "-> ValueError: first line" in line


# --------------------------------------------------------------------------- flags and knobs
@pytest.mark.parametrize(
    "argv, match",
    [
        (["-p", "profile='fast'", "--profile", "tiny"], r"--profile tiny contradicts -p profile='fast'"),
        (["-p", "device='cpu'", "--device", "cuda"], r"--device cuda contradicts -p device='cpu'"),
    ],
)
def test_a_flag_contradicting_a_p_value_is_an_error_naming_both(argv, match, capsys, tmp_path):
    import re

    rc = cli.main(["run", "scn/03_table3_architecture", *argv, "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and re.search(match, err), err
    assert not (tmp_path / "r" / "executed").exists()


def test_the_same_value_twice_is_not_a_contradiction(monkeypatch, tmp_path):
    from pain_lib.registry import get_entry
    from pain_lib.runner import prepare_parameters

    params = prepare_parameters(get_entry("scn/03_table3_architecture"), {"profile": "tiny"}, "tiny", None)
    assert params["profile"] == "tiny"


@pytest.mark.parametrize(
    "value, problem",
    [
        ("[]", "[] (the list is empty)"),
        ("[26, 26]", "[26, 26] (26 is given twice)"),
        ("[26, 27]", "[26, 27] (item 27: 27 is not one of 26, 39, 41, 50, 101, 152)"),
        ("27", "must be list[int], got 27"),
    ],
)
def test_invalid_knobs_fail_before_a_kernel_starts(value, problem, capsys, tmp_path):
    t0 = time.time()
    rc = cli.main(["run", "scn/01_table1_depth", "-p", f"network_sizes={value}", "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and "'network_sizes'" in err and problem in err, err
    assert err.count("\n") == 1 or "allowed" in err
    assert not (tmp_path / "r").exists() and time.time() - t0 < 10


@pytest.mark.parametrize("argv", [["--device", "cuda"], ["-p", "device='cuda'"], ["--device", "cuda:1"]])
def test_a_missing_device_fails_before_a_kernel_starts_in_one_line(argv, capsys, monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rc = cli.main(["run", "scn/03_table3_architecture", *argv, "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "is not available on this machine" in err and "available: cpu" in err, err
    assert not (tmp_path / "r").exists()


@contextlib.contextmanager
def _read_only(folder: Path):
    """A folder nobody can write into: chmod for a user, the immutable flag for root."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("running as root without chattr +i: cannot make a folder read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize("command", [["reproduce", "--only", "scn/03*"], ["run", "scn/03_table3_architecture"]])
def test_a_read_only_results_folder_is_one_line_naming_it(command, capsys, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    with _read_only(ro):
        rc = cli.main([*command, "--profile", "tiny", "--results-dir", str(ro)])
    out, err = capsys.readouterr()
    assert rc == 2
    assert err.count("\n") == 1 and f"results folder {ro} is not writable" in err and "--results-dir" in err, err
    assert "Traceback" not in out + err


@pytest.mark.notebook
def test_relative_output_dir_resolves_against_the_current_directory(project, monkeypatch, tmp_path, capsys):
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    assert cli.main(["run", "t/02_quick", "-p", "output_dir='out'"]) == 0
    out = work / "out"
    assert (out / "t" / "table-1.csv").exists()
    assert (out / "executed" / "t" / "02_quick.ipynb").exists() and (out / "executed" / "t" / "02_quick.log").exists()
    assert _runs(out)[0]["id"] == "t/02_quick" and (out / "README.md").exists()
    assert not (project / "results").exists()


def test_output_dir_and_results_dir_must_agree(capsys, tmp_path):
    rc = cli.main(["run", "scn/03_table3_architecture", "-p", f"output_dir='{tmp_path / 'a'}'",
                   "--results-dir", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert rc == 2 and "contradicts --results-dir" in err


# --------------------------------------------------------------------------- profiles
def test_profile_choices_come_from_config(monkeypatch, capsys):
    from pain_lib import config

    # a profile added to config.py (only there: cli.PROFILES is not patched) is a valid choice
    monkeypatch.setitem(config.PROFILES, "full-test", config.PROFILES["paper"].replace(name="full-test"))
    args = cli.build_parser().parse_args(["reproduce", "--profile", "full-test"])
    assert args.profile == "full-test"
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["reproduce", "--profile", "nope"])
    assert "invalid choice" in capsys.readouterr().err


def test_no_hard_coded_profile_list_in_the_cli_or_makefile():
    import re

    for path in (ROOT / "pain_lib" / "cli.py", ROOT / "Makefile"):
        assert not re.search(r"tiny.{1,3}standard.{1,3}paper", path.read_text()), path

"""Estimates before a run: earlier runs first, then the shipped table; the default profile."""

import csv
import json

import pytest

from pain_lib import plan
from pain_lib.config import PROFILES
from pain_lib.registry import load_registry, repo_root


def _write_runs(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "not json\n")


def _rec(nb, seconds, profile="tiny", device="cpu", status="ok"):
    rec = {"id": nb, "status": status, "duration_s": seconds, "profile": profile}
    if device is not None:
        rec["device"] = device
    return rec


def test_history_keeps_successful_runs_with_a_device(tmp_path):
    runs = tmp_path / "runs.jsonl"
    _write_runs(runs, [
        _rec("a/1", 10), _rec("a/1", 30), _rec("a/1", 20),
        _rec("a/1", 99, status="failed"), _rec("a/1", 99, status="interrupted"),
        _rec("a/1", 99, device=None),  # written before the runner recorded the device
        _rec("a/1", 5, device="cuda"), _rec("a/1", 50, profile="standard"),
    ])
    h = plan.history(runs)
    assert sorted(h["a/1", "tiny", "cpu"]) == [10, 20, 30]
    assert h["a/1", "tiny", "cuda"] == [5] and h["a/1", "standard", "cpu"] == [50]
    assert plan.history(tmp_path / "missing.jsonl") == {}


def test_estimate_prefers_the_median_of_earlier_runs_then_the_table():
    past = {("a/1", "tiny", "cpu"): [10.0, 30.0, 20.0, 1000.0]}
    table = {("a/1", "tiny", "cpu"): 7.0, ("b/2", "tiny", "cpu"): 8.0, ("b/2", "tiny", "cuda"): 1.0}
    est = plan.estimate([("a/1", "tiny"), ("b/2", "tiny"), ("c/3", "tiny")], "cpu", past=past, table=table)
    assert [(e.notebook, e.seconds, e.source) for e in est] == [
        ("a/1", 25.0, "4 earlier runs"), ("b/2", 8.0, "timings.csv"), ("c/3", None, "no estimate"),
    ]
    # another device type or profile does not borrow these numbers
    est = plan.estimate([("a/1", "tiny"), ("a/1", "standard")], "cuda", past=past, table=table)
    assert [e.seconds for e in est] == [None, None]


def test_plan_lists_notebooks_profile_device_estimates_and_total():
    est = [plan.Estimate("a/1", "tiny", "cpu", 65.0, "2 earlier runs"),
           plan.Estimate("b/22", "tiny", "cpu", 3600 + 125.0, "timings.csv"),
           plan.Estimate("c/3", "tiny", "cpu", None, "no estimate")]
    text = plan.format_plan(est, device_asked="auto")
    lines = text.splitlines()
    assert lines[0] == "3 notebooks, profile tiny, device cpu (asked: auto); estimated time:"
    assert lines[1].split() == ["a/1", "~1", "min", "05", "s", "(2", "earlier", "runs)"]
    assert "~1 h 02 min" in lines[2] and "(timings.csv)" in lines[2]
    assert lines[3].split()[:2] == ["c/3", "?"]
    assert lines[4].split()[:1] == ["total"] and "~1 h 03 min" in lines[4] and "(+ 1 without an estimate)" in lines[4]


def test_format_duration():
    assert [plan.format_duration(s) for s in (4.4, 59.6, 61, 3599, 7322)] == ["4 s", "1 min 00 s", "1 min 01 s", "59 min 59 s", "2 h 02 min"]


@pytest.mark.parametrize(
    "profiles, cuda, expected",
    [
        (["tiny", "standard", "paper"], True, "standard"),  # no `full` profile yet
        (["tiny", "standard", "paper", "full"], True, "full"),
        (["tiny", "standard", "paper", "full"], False, "standard"),
    ],
)
def test_default_profile(profiles, cuda, expected):
    assert plan.default_profile(profiles, cuda=cuda) == expected


def test_default_profile_command_prints_a_known_profile(capsys):
    from pain_lib import cli

    assert cli.main(["profiles", "--default"]) == 0
    assert capsys.readouterr().out.strip() in PROFILES


def test_device_type():
    assert plan.device_type("cuda:1") == "cuda" and plan.device_type("cpu") == "cpu"
    assert plan.device_type("auto") in ("cpu", "cuda", "mps")


def test_shipped_timings_name_registered_notebooks_and_known_profiles():
    table = plan.shipped_timings()
    path = repo_root() / "pain_lib" / "timings.csv"
    with path.open() as fh:
        assert csv.DictReader(fh).fieldnames == ["notebook", "profile", "device", "seconds"]
    registered = {e.id for e in load_registry().notebooks}
    for (nb, profile, device), seconds in table.items():
        assert nb in registered and profile in PROFILES and device in ("cpu", "cuda", "mps") and seconds > 0
    for profile in ("tiny", "standard"):  # measured on 2 CPU cores (README: Profiles)
        assert len({nb for nb, p, d in table if p == profile and d == "cpu"}) >= 14, f"{profile} cpu rows"

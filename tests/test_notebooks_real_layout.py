"""Every notebook that declares a real dataset runs in the tiny profile on a real-layout tree: the
tiny synthetic set with its ``synth_truth/`` folders and generator markers removed, opened as the
real dataset (``dataset="unbc"`` / ``"biovid"`` / ``"mint"``, ``data_root`` pointing at the copy) --
what a user with the licensed data runs. Nothing may read the simulator's truth."""

import json

import pytest

from pain_lib.config import REAL_DATASETS
from pain_lib.registry import declared_parameters, load_registry
from pain_lib.runner import prepare_parameters, run_notebook
from tests._synth_data import real_layout_root

#: notebook -> the real dataset it is run on here (the first real one it declares)
REAL = {e.id: next(d for d in e.datasets if d in REAL_DATASETS)
        for e in load_registry().notebooks if any(d in REAL_DATASETS for d in e.datasets)}
ENTRIES = [e for e in load_registry().notebooks if e.id in REAL]


@pytest.fixture(scope="module", autouse=True)
def fresh_experiment_store(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAIN_LIB_EXPERIMENTS", str(tmp_path_factory.mktemp("experiments-real")))
        yield


def test_every_notebook_with_a_synthetic_dataset_declares_its_real_one():
    for e in load_registry().notebooks:
        synthetic = [d for d in e.datasets if d.startswith("synth-")]
        assert all(d.removeprefix("synth-") in e.datasets for d in synthetic), f"{e.id} declares no real counterpart"
    assert len(ENTRIES) >= 10


@pytest.mark.notebook
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_notebook_runs_on_a_real_layout_copy_without_truth(entry, tmp_results, tmp_path_factory):
    real = REAL[entry.id]
    root = real_layout_root(tmp_path_factory, f"synth-{real}")
    assert not list(root.rglob("synth_truth")) and not list(root.glob(".synth_*"))
    given = {"output_dir": str(tmp_results), "dataset": real, "data_root": str(root)}
    if "other_root" in declared_parameters(entry.path):  # a two-dataset notebook: its second dataset real too
        other = {"unbc": "biovid", "biovid": "unbc"}[real]
        given |= {"other_dataset": other, "other_root": str(real_layout_root(tmp_path_factory, f"synth-{other}"))}
    params = prepare_parameters(entry, given, "tiny", "cpu")
    res = run_notebook(entry, params, results_dir=tmp_results, log_output=False)
    assert res.status == "ok", res.describe_failure()
    provs = [json.loads(p.read_text()) for p in tmp_results.rglob("*.json")]
    assert bool(provs) == bool(entry.artifacts)  # a method notebook writes no artifact
    assert all(p["dataset"] == real and not p["synthetic"] for p in provs)

"""Every notebook with a synthetic dataset declares its real counterpart, and the tiny notebook
runs (tests/test_notebooks.py) open each such notebook on a real-layout tree: the tiny synthetic
set with its ``synth_truth/`` folders and generator markers removed, opened as the real dataset
(``dataset="unbc"`` / ``"biovid"`` / ``"mint"``, ``data_root`` pointing at the copy) -- what a user
with the licensed data runs. Nothing may read the simulator's truth."""

from pathlib import Path

from pain_lib.registry import load_registry
from tests.test_notebooks import REAL, tiny_parameters


def test_every_notebook_with_a_synthetic_dataset_declares_its_real_one():
    for e in load_registry().notebooks:
        synthetic = [d for d in e.datasets if d.startswith("synth-")]
        assert all(d.removeprefix("synth-") in e.datasets for d in synthetic), f"{e.id} declares no real counterpart"
    assert len(REAL) >= 10


def test_the_tiny_run_of_a_notebook_with_a_real_dataset_opens_a_copy_without_truth(tmp_path_factory, tmp_path):
    entries = {e.id: e for e in load_registry().notebooks}
    for nb in ("scn/01_table1_depth", "scn/08_table8_biovid"):
        params = tiny_parameters(entries[nb], tmp_path, tmp_path_factory)
        assert params["dataset"] == REAL[nb] and params["dataset"] in ("unbc", "biovid")
        root = Path(params["data_root"])
        assert root.is_dir() and not list(root.rglob("synth_truth")) and not list(root.glob(".synth_*"))
    overview = tiny_parameters(entries["overview/00_paper_results"], tmp_path, tmp_path_factory)
    assert "data_root" not in overview or not overview.get("data_root")

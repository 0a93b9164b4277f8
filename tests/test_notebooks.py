"""Every registered notebook executes under papermill in the tiny profile, and what it wrote is
checked (tests/_notebook_outputs.py): the paper's labels, finite values, allowed verdicts, and
every provenance file naming the profile and dataset.

The notebooks share nothing with the developer's checkout: a fresh experiment store, cache
(face crops, representations) and synthetic-data folder for the module. One set for the module,
not one per notebook: per notebook, every notebook would regenerate its tiny dataset and redo its
face crops (the cost `make reproduce` pays once on a clean clone, which is what this mirrors).
They also share one results folder, as `make reproduce` does; the last test builds the book
(pain_lib/book.py) from it."""

import json
import re

import pytest

from pain_lib.config import REAL_DATASETS
from pain_lib.environment import lock_sha256
from pain_lib.registry import declared_parameters, load_registry
from pain_lib.report import artifact_slug
from pain_lib.runner import prepare_parameters, run_notebook
from tests._notebook_outputs import check_outputs
from tests._synth_data import real_layout_root

ENTRIES = load_registry().notebooks
#: notebook -> the real dataset its tiny run opens (the first real one it declares)
REAL = {e.id: next(d for d in e.datasets if d in REAL_DATASETS) for e in ENTRIES if any(d in REAL_DATASETS for d in e.datasets)}

#: metric -> reason: the metrics whose computed cells may be empty in the tiny profile (found by
#: these checks; every other computed value must be finite)
UNDEFINED_IN_TINY = {
    "AUC": "tiny synth-unbc has one sequence with pain (8 sequences, 4 subjects): a fold whose test subjects "
           "show no pain leaves the pain AUC undefined (the claims then say 'cannot tell')",
    "PCC": "the same folds: a constant ground truth has no correlation",
}


@pytest.fixture(scope="module", autouse=True)
def fresh_caches(tmp_path_factory):
    """A fresh PAIN_LIB_EXPERIMENTS, PAIN_LIB_CACHE and PAIN_LIB_DATA for the notebooks: a stale
    cache of the project (e.g. face crops of an older crop) cannot make them pass."""
    with pytest.MonkeyPatch.context() as mp:
        cache = tmp_path_factory.mktemp("cache")
        mp.setenv("PAIN_LIB_CACHE", str(cache))
        mp.setenv("PAIN_LIB_EXPERIMENTS", str(cache / "experiments"))
        mp.setenv("PAIN_LIB_DATA", str(tmp_path_factory.mktemp("synth-data")))
        yield


@pytest.fixture(scope="module")
def tmp_results(tmp_path_factory):
    """One results folder for every notebook of the module (what `make reproduce` writes)."""
    return tmp_path_factory.mktemp("results")


#: the data notebooks show the simulator's own output (scn Figure 1's FACS coding example, the
#: physiology): their tiny runs are on the generated sets as well as on a real-layout copy, where
#: they write only what a real copy has
SIMULATOR_VIEWS = [e for e in ENTRIES if e.paper == "data"]


def tiny_parameters(entry, results, tmp_path_factory, *, real: bool = True) -> dict:
    """The parameters of a notebook's one tiny run: on a real-layout copy of the tiny synthetic
    tree (``synth_truth/`` and the generator markers removed, opened as the real dataset) when
    the notebook declares a real dataset -- what a user with the licensed data runs, so nothing
    may read the simulator's truth -- else its default dataset. A two-dataset notebook gets its
    second dataset as a real-layout copy too."""
    given = {"output_dir": str(results)}
    real = REAL.get(entry.id) if real else None
    if real is not None:
        root = real_layout_root(tmp_path_factory, f"synth-{real}")
        assert not list(root.rglob("synth_truth")) and not list(root.glob(".synth_*"))
        given |= {"dataset": real, "data_root": str(root)}
        if "other_root" in declared_parameters(entry.path):
            other = {"unbc": "biovid", "biovid": "unbc"}[real]
            given |= {"other_dataset": other, "other_root": str(real_layout_root(tmp_path_factory, f"synth-{other}"))}
    return prepare_parameters(entry, given, "tiny", "cpu")


@pytest.mark.notebook
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_notebook_runs_in_tiny_profile(entry, tmp_results, tmp_path_factory):
    """Each registered notebook runs once in tiny (on a real-layout copy where it declares a real
    dataset: one run proves both that it runs under papermill and that it needs no simulator
    truth, and keeps the suite inside its CI budget), and what it wrote is checked."""
    _run_and_check(entry, tiny_parameters(entry, tmp_results, tmp_path_factory), tmp_results,
                   every_artifact=entry not in SIMULATOR_VIEWS)


@pytest.mark.notebook
@pytest.mark.parametrize("entry", SIMULATOR_VIEWS, ids=[e.id for e in SIMULATOR_VIEWS])
def test_data_notebook_runs_on_the_generated_sets(entry, tmp_path_factory):
    """A data notebook on the simulator's own output writes every artifact it is registered for."""
    results = tmp_path_factory.mktemp("results-generated")
    _run_and_check(entry, tiny_parameters(entry, results, tmp_path_factory, real=False), results, every_artifact=True)


def _run_and_check(entry, params, tmp_results, *, every_artifact: bool) -> None:
    res = run_notebook(entry, params, results_dir=tmp_results, log_output=False)
    assert res.status == "ok", res.describe_failure()
    dataset = params.get("dataset", entry.datasets[0])
    # Every artifact the registry promises was written.
    for art in entry.artifacts if every_artifact else ():
        paper, _, name = art.partition(":") if ":" in art else (entry.paper, "", art)
        slug = artifact_slug(name)
        provs = list((tmp_results / paper).glob(f"{slug}.json")) + list((tmp_results / paper).glob(f"{slug}-*.json"))
        assert provs, f"{entry.id} did not write {paper} {name}"
    # Every provenance file names the profile, dataset and lock; every table it lists is checked.
    provs = check_outputs(tmp_results, entry.id, profile="tiny", dataset=dataset,
                          undefined=UNDEFINED_IN_TINY)
    assert provs or not entry.artifacts
    for p in provs:
        prov = json.loads(p.read_text())
        assert prov["lock_sha256"] == lock_sha256(), f"{p.name}: not the environment's lock"
        if entry.id in REAL and params.get("data_root"):
            assert not prov["synthetic"], f"{p.name}: a real-layout run recorded as synthetic"


@pytest.mark.notebook
def test_book_builds_from_the_tiny_notebooks(tmp_results, tmp_path):
    """The book of the tiny run: every registered notebook has a page, every notebook that ran
    is shown executed (its outputs, its provenance: profile tiny), no page shows an error."""
    pytest.importorskip("sphinx", reason="the book extra is not installed (`make book-setup`)")
    pytest.importorskip("myst_nb", reason="the book extra is not installed (`make book-setup`)")
    from pain_lib import book
    from pain_lib.registry import load_registry as _load
    from pain_lib.report import registry_artifact_map, write_index

    reg = _load()  # the dashboard, as `pain-lib reproduce` writes it after its runs
    write_index(tmp_results, registry_artifact_map([{"id": e.id, "paper": e.paper, "artifacts": list(e.artifacts)}
                                                    for e in reg.notebooks]), reg.diagrams)
    ran = {rec["id"] for rec in book.results_sets(tmp_results)[0].runs.values() if rec.get("status") == "ok"}
    summary = book.build(tmp_path / "book", results_dir=tmp_results)
    problems = book.check_site(summary["html"], [e.id for e in ENTRIES])
    assert not problems, "\n".join(problems)
    assert "Status counts" in (summary["html"] / "status.html").read_text(encoding="utf-8")
    for entry in ENTRIES:
        page = (summary["html"] / f"{entry.id}.html").read_text(encoding="utf-8")
        if entry.id in ran:
            assert summary["pages"][entry.id] == "executed", entry.id
            assert "profile <code" in page and "tiny" in page, entry.id
            assert "cell_output" in page, f"{entry.id}: the executed notebook's outputs are missing"
        if entry.artifacts and entry.id in ran:  # the provenance table: one row per artifact, profile tiny
            assert re.search(r"<td[^>]*>(<p>)?tiny(</p>)?</td>", page), f"{entry.id}: no provenance row"

"""Every registered notebook executes under papermill in the tiny profile, and what it wrote is
checked (tests/_notebook_outputs.py): the paper's labels, finite values, allowed verdicts, and
every provenance file naming the profile and dataset.

The notebooks share nothing with the developer's checkout: a fresh experiment store, cache
(face crops, representations) and synthetic-data folder for the module. One set for the module,
not one per notebook: per notebook, every notebook would regenerate its tiny dataset and redo its
face crops (the cost `make reproduce` pays once on a clean clone, which is what this mirrors)."""

import json

import pytest

from pain_lib.environment import lock_sha256
from pain_lib.registry import load_registry
from pain_lib.report import artifact_slug
from pain_lib.runner import prepare_parameters, run_notebook
from tests._notebook_outputs import check_outputs

ENTRIES = load_registry().notebooks

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


@pytest.mark.notebook
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_notebook_runs_in_tiny_profile(entry, tmp_results):
    params = prepare_parameters(entry, {"output_dir": str(tmp_results)}, "tiny", "cpu")
    res = run_notebook(entry, params, results_dir=tmp_results, log_output=False)
    assert res.status == "ok", res.describe_failure()
    dataset = params.get("dataset", entry.datasets[0])
    # Every artifact the registry promises was written.
    for art in entry.artifacts:
        paper, _, name = art.partition(":") if ":" in art else (entry.paper, "", art)
        slug = artifact_slug(name)
        provs = list((tmp_results / paper).glob(f"{slug}.json")) + list((tmp_results / paper).glob(f"{slug}-*.json"))
        assert provs, f"{entry.id} did not write {paper} {name}"
    # Every provenance file names the profile, dataset and lock; every table it lists is checked.
    provs = check_outputs(tmp_results, entry.id, profile="tiny", dataset=dataset,
                          undefined=UNDEFINED_IN_TINY)
    assert provs or not entry.artifacts
    for p in provs:
        assert json.loads(p.read_text())["lock_sha256"] == lock_sha256(), f"{p.name}: not the environment's lock"

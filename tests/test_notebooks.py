"""Every registered notebook executes under papermill in the tiny profile."""

import json

import pytest

from pain_lib.environment import lock_sha256
from pain_lib.registry import load_registry
from pain_lib.runner import prepare_parameters, run_notebook

ENTRIES = load_registry().notebooks


@pytest.fixture(scope="module", autouse=True)
def fresh_experiment_store(tmp_path_factory):
    """Notebooks share one experiment store for the session, never the developer's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAIN_LIB_EXPERIMENTS", str(tmp_path_factory.mktemp("experiments")))
        yield


@pytest.mark.notebook
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_notebook_runs_in_tiny_profile(entry, tmp_results):
    params = prepare_parameters(entry, {"output_dir": str(tmp_results)}, "tiny", "cpu")
    res = run_notebook(entry, params, results_dir=tmp_results, log_output=False)
    assert res.status == "ok", res.describe_failure()
    # Every artifact the registry promises was written, with provenance naming the dataset.
    for art in entry.artifacts:
        paper, _, name = art.partition(":") if ":" in art else (entry.paper, "", art)
        from pain_lib.report import artifact_slug

        slug = artifact_slug(name)
        provs = list((tmp_results / paper).glob(f"{slug}.json")) + list((tmp_results / paper).glob(f"{slug}-*.json"))
        assert provs, f"{entry.id} did not write {paper} {name}"
        prov = json.loads(provs[0].read_text())
        assert prov["profile"] == "tiny" and prov["dataset"] == params.get("dataset", entry.datasets[0])
        assert prov["lock_sha256"] == lock_sha256(), "provenance records the lock the environment came from"

"""Every registered notebook follows the notebook contract (DESIGN.md section 2)."""

import json

import pytest

from pain_lib.registry import declared_parameters, load_registry, repo_root

REGISTRY = load_registry()
ALWAYS = {"dataset", "data_root", "profile", "device", "seed", "output_dir"}


def test_registry_loads_and_paths_exist():
    assert REGISTRY.notebooks, "no notebooks registered"
    for e in REGISTRY.notebooks:
        assert e.path.exists(), f"{e.id}: {e.path} missing"
        assert e.datasets, f"{e.id}: no datasets"


def test_every_notebook_file_is_registered():
    registered = {e.path for e in REGISTRY.notebooks}
    on_disk = {p.resolve() for p in (repo_root() / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts}
    assert on_disk == registered, f"unregistered: {sorted(map(str, on_disk - registered))}"


@pytest.mark.parametrize("entry", REGISTRY.notebooks, ids=[e.id for e in REGISTRY.notebooks])
def test_notebook_contract(entry):
    nb = json.loads(entry.path.read_text())
    cells = nb["cells"]
    assert cells[0]["cell_type"] == "markdown"
    assert "fidelity notes" in "".join(cells[0]["source"]).lower(), "cell 1 needs fidelity notes"
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert tagged == [1], "exactly one cell tagged 'parameters', the second"
    assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code"), "stored with outputs"
    assert all(c.get("execution_count") is None for c in cells if c["cell_type"] == "code")
    params = declared_parameters(entry.path)
    assert ALWAYS <= set(params), f"missing {ALWAYS - set(params)}"
    assert all(p.help for p in params.values()), "every parameter needs a # help comment"
    assert params["dataset"].default == entry.datasets[0]
    start = "".join(cells[2]["source"])
    assert f'notebook="{entry.id}"' in start and "pain_lib.notebook.start(globals()" in start


@pytest.mark.parametrize("entry", REGISTRY.notebooks, ids=[e.id for e in REGISTRY.notebooks])
def test_papermill_documents_every_parameter(entry):
    """`papermill --help-notebook` shows each parameter with its help text (papermill's parser
    stops at an '=' inside a help comment, so such comments would lose their text)."""
    import papermill

    inspected = papermill.inspect_notebook(str(entry.path))
    for name, p in declared_parameters(entry.path).items():
        assert name in inspected, f"papermill does not see parameter {name!r}"
        assert inspected[name]["help"] == p.help, f"{name}: papermill reads help {inspected[name]['help']!r}"

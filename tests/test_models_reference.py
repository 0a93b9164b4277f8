"""Recorded outputs of seeded tiny models: catch unintended changes of architecture or init.

Re-record on purpose only (e.g. after a deliberate architecture change)::

    PAIN_LIB_ACCEPT=1 pytest tests/test_models_reference.py

which rewrites the EXPECTED block below; review the diff before committing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch

from pain_lib.models import count_parameters, get_model, list_models


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one intra-op thread is as fast and immune to CPU oversubscription."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

CFG = {"base_width": 4}
FAST = {"res3d": {"depth": 26}, "scn": {"depth": 26}}

# --- EXPECTED (generated) ---
EXPECTED: dict[str, tuple[int, list[float]]] = {
    'c3d': (183165, [1.24902781e-05, 1.83478660e-05]),
    'inception3d': (52916, [-2.95241857e+00, -2.58142781e+00]),
    'r2plus1d': (132574, [2.82842712e-03, 5.14506642e-03]),
    'r3d': (131805, [-4.89030825e-03, -5.28994203e-03]),
    'res3d': (128861, [-2.33105235e-02, -1.64383296e-02]),
    'scn': (491261, [-1.02813784e-02, -1.56087689e-02]),
    'vgg3d': (247717, [-1.26893610e-05, -1.26235036e-05]),
}
# --- END EXPECTED ---


def _outputs(name: str) -> tuple[int, list[float]]:
    torch.manual_seed(0)
    model = get_model(name, **CFG, **FAST.get(name, {})).eval()
    x = torch.randn(2, 3, 8, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    return count_parameters(model), [float(v) for v in y]


def _record() -> None:
    values = {name: _outputs(name) for name in list_models("video")}
    lines = ["EXPECTED: dict[str, tuple[int, list[float]]] = {"]
    for name, (n, ys) in values.items():
        lines.append(f"    {name!r}: ({n}, [{', '.join(f'{y:.8e}' for y in ys)}]),")
    lines.append("}")
    path = Path(__file__)
    text = path.read_text()
    text = re.sub(
        r"(# --- EXPECTED \(generated\) ---\n).*?(\n# --- END EXPECTED ---)",
        lambda m: m.group(1) + "\n".join(lines) + m.group(2),
        text,
        flags=re.S,
    )
    path.write_text(text)


@pytest.mark.parametrize("name", list_models("video"))
def test_seeded_tiny_model_matches_recorded_output(name):
    if os.environ.get("PAIN_LIB_ACCEPT") == "1":
        if name == list_models("video")[0]:
            _record()
        pytest.skip("re-recorded reference values")
    if name not in EXPECTED:
        pytest.fail(f"no recorded reference for {name!r}; run PAIN_LIB_ACCEPT=1 pytest {__file__}")
    n, ys = _outputs(name)
    n_ref, ys_ref = EXPECTED[name]
    assert n == n_ref
    torch.testing.assert_close(torch.tensor(ys), torch.tensor(ys_ref), rtol=1e-4, atol=1e-7)

"""pyproject.toml and environment.yml list the same dependencies."""

import re

import pytest
import yaml

from pain_lib.registry import repo_root

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = repo_root()


def _norm(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    name, rest = m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")
    return name, rest


def test_pyproject_and_environment_agree():
    pp = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_norm(s) for s in pp["dependencies"] + pp["optional-dependencies"]["dev"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"], "conda-forge only (no defaults/pytorch channels)"
    have = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            have |= {_norm(s) for s in dep["pip"] if not s.startswith("-e")}
        elif not dep.startswith(("python", "pip")):
            have.add(_norm(dep))
    assert have == wanted, f"only in environment.yml: {have - wanted}; only in pyproject: {wanted - have}"


def test_torch_pair_and_opencv4():
    deps = dict(_norm(s) for s in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    assert "torch" in deps and "torchvision" in deps
    assert "<5" in deps["opencv-python"], "OpenCV 5 dropped the Haar face cascades"


def test_console_script():
    pp = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert pp["scripts"]["pain-lib"] == "pain_lib.cli:main"

"""pyproject.toml (ranges), requirements/lock.txt (exact versions with hashes), environment.yml
and the Makefile describe one environment."""

import re

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from pain_lib.environment import LOCK_RELPATH, locked_versions, read_lock
from pain_lib.registry import repo_root

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = repo_root()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCK = ROOT / LOCK_RELPATH
#: the Pythons the lock must cover, on Linux x86-64 (the CI and reference machines)
PYTHONS = ("3.10.13", "3.11.7", "3.12.1")


def _linux(python: str) -> dict[str, str]:
    return {
        "python_version": ".".join(python.split(".")[:2]), "python_full_version": python,
        "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
        "os_name": "posix", "implementation_name": "cpython", "platform_python_implementation": "CPython",
    }


def _norm(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    name, rest = re.sub(r"[-_.]+", "-", m.group(1)).lower(), m.group(2).replace(" ", "")
    return name, rest


def _declared() -> dict[str, str]:
    return dict(_norm(s) for s in PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["dev"])


@pytest.mark.parametrize("python", PYTHONS)
def test_every_dependency_is_pinned_within_its_range(python):
    pins = locked_versions(LOCK, _linux(python))
    for name, spec in _declared().items():
        assert name in pins, f"{name} (pyproject) is not pinned in {LOCK_RELPATH} for Python {python}: run `make lock`"
        assert SpecifierSet(spec).contains(pins[name], prereleases=True), (
            f"{LOCK_RELPATH} pins {name}=={pins[name]} for Python {python}, outside pyproject's {spec!r}: run `make lock`"
        )


@pytest.mark.parametrize("python", PYTHONS)
def test_lock_pins_the_torch_pair_timm_and_import_linter(python):
    pins = locked_versions(LOCK, _linux(python))
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"
    assert "timm" in pins and "import-linter" in pins


def test_every_pin_is_exact_and_hashed():
    pins = read_lock(LOCK)
    assert len(pins) > 100
    unhashed = [p.name for p in pins if not p.hashes]
    assert not unhashed, f"pins without --hash: {unhashed}"
    assert all(h.startswith("sha256:") for p in pins for h in p.hashes)


def test_lock_says_how_to_regenerate_it():
    head = LOCK.read_text().splitlines()[:3]
    assert any("make lock" in line for line in head)


def test_environment_yml_installs_the_lock_and_nothing_else():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"], "conda-forge only (no defaults/pytorch channels)"
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert sorted(re.split(r"[<>=]", d)[0] for d in conda) == ["pip", "python"], conda
    python = SpecifierSet(conda[[d.startswith("python") for d in conda].index(True)].removeprefix("python"))
    assert all(python.contains(v) for v in PYTHONS)
    assert SpecifierSet(PYPROJECT["requires-python"]).contains(PYTHONS[0])
    assert pip == [{"pip": [f"-r {LOCK_RELPATH}"]}]


def test_make_setup_installs_the_lock_with_hashes_then_the_project_without_deps():
    make = (ROOT / "Makefile").read_text()
    setup = make[make.index("$(STAMP):"):make.index("setup: $(STAMP)")]
    assert "pip install -q --require-hashes -r $(LOCK)" in setup
    assert "pip install -q --no-deps -e ." in setup
    assert setup.index("--require-hashes") < setup.index("--no-deps")
    assert f"LOCK    := {LOCK_RELPATH}" in make
    assert re.search(r"^lock:", make, re.M) and "--generate-hashes" in make


def test_torch_pair_and_opencv4():
    deps = dict(_norm(s) for s in PYPROJECT["dependencies"])
    assert "torch" in deps and "torchvision" in deps
    assert "<5" in deps["opencv-python"], "OpenCV 5 dropped the Haar face cascades"


def test_console_script():
    assert PYPROJECT["scripts"]["pain-lib"] == "pain_lib.cli:main"


# ---------------------------------------------------------------- the book's extra, locked apart
BOOK_LOCK = ROOT / "requirements" / "book-lock.txt"
BOOK_PYTHONS = ("3.11.7", "3.12.1")  # the book extra needs Python >= 3.11 (Sphinx 9, myst-parser 5)


@pytest.mark.parametrize("python", BOOK_PYTHONS)
def test_book_lock_pins_the_book_extra_and_never_moves_a_pin_of_the_main_lock(python):
    main, book = locked_versions(LOCK, _linux(python)), locked_versions(BOOK_LOCK, _linux(python))
    moved = {n: (main[n], book[n]) for n in main.keys() & book.keys() if main[n] != book[n]}
    assert not moved, f"requirements/book-lock.txt moves pins of {LOCK_RELPATH}: {moved}; run `make book-lock`"
    for spec in PYPROJECT["optional-dependencies"]["book"]:
        name, rng = _norm(spec)
        assert name in book and SpecifierSet(rng).contains(book[name], prereleases=True), (name, book.get(name))
        assert name not in main, f"{name} (book extra) is in {LOCK_RELPATH}: `make test` would install it"
    assert all(p.hashes for p in read_lock(BOOK_LOCK))


def test_make_test_and_reproduce_do_not_install_the_book_but_ci_does():
    make = (ROOT / "Makefile").read_text()
    for target in ("test:", "reproduce:", "$(STAMP):"):
        line = next(ln for ln in make.splitlines() if ln.startswith(target))
        assert "book" not in line.lower(), line
    book = make[make.index("$(BOOK_STAMP):"):make.index("book-setup: $(BOOK_STAMP)")]
    assert "--require-hashes -r $(BOOK_LOCK)" in book
    commands = [ln.split()[1] for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln.startswith("make ")]
    assert commands.index("book-setup") < commands.index("test"), commands

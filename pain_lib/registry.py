"""The notebook registry (``notebooks/registry.yaml``) and notebooks' declared parameters."""

from __future__ import annotations

import ast
import functools
import io
import json
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .paths import project_root

__all__ = [
    "repo_root",
    "NotebookEntry",
    "Parameter",
    "load_registry",
    "get_entry",
    "declared_parameters",
    "RegistryError",
    "CONSTRAINT_KEYS",
]


class RegistryError(LookupError):
    """A notebook id that is not registered, or a malformed registry."""


def repo_root() -> Path:
    """The project folder holding ``notebooks/registry.yaml``.

    ``$PAIN_LIB_ROOT`` wins; else the folder above the installed package (editable
    install, the normal case); else the current folder.
    """
    return project_root()


@dataclass(frozen=True)
class NotebookEntry:
    id: str
    path: Path  # absolute
    paper: str
    artifacts: tuple[str, ...]
    datasets: tuple[str, ...]
    choices: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    description: str = ""
    #: declarative checks of the notebook's knobs (see :func:`pain_lib.params.check_constraint`)
    constraints: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Parameter:
    name: str
    annotation: str  # as written, e.g. "int", "list[int]", "str | None"
    default: Any
    help: str


@dataclass(frozen=True)
class Registry:
    notebooks: tuple[NotebookEntry, ...]
    diagrams: tuple[tuple[str, str], ...]  # (paper, artifact) drawn, not computed

    def ids(self) -> list[str]:
        return [e.id for e in self.notebooks]


def load_registry(root: Path | None = None) -> Registry:
    root = Path(root) if root is not None else repo_root()
    path = root / "notebooks" / "registry.yaml"
    if not path.exists():
        raise RegistryError(f"no notebook registry at {path}; run from the project folder or set PAIN_LIB_ROOT")
    raw = yaml.safe_load(path.read_text()) or {}
    entries = []
    seen = set()
    for i, e in enumerate(raw.get("notebooks", [])):
        missing = {"id", "path", "paper", "artifacts", "datasets"} - set(e)
        if missing:
            raise RegistryError(f"{path}: entry {i} ({e.get('id', '?')}) lacks {sorted(missing)}")
        if e["id"] in seen:
            raise RegistryError(f"{path}: notebook id {e['id']!r} registered twice")
        seen.add(e["id"])
        nb_path = (root / "notebooks" / e["path"]).resolve()
        entries.append(
            NotebookEntry(
                id=e["id"],
                path=nb_path,
                paper=e["paper"],
                artifacts=tuple(e["artifacts"]),
                datasets=tuple(e["datasets"]),
                choices={k: tuple(v) for k, v in (e.get("choices") or {}).items()},
                description=e.get("description", ""),
                constraints=_constraints(path, e),
            )
        )
    diagrams = []
    for d in raw.get("diagrams", []):
        paper, _, art = d.partition(":")
        diagrams.append((paper, art))
    return Registry(tuple(entries), tuple(diagrams))


#: keys a constraint may use (``each`` holds a constraint for every item of a list)
CONSTRAINT_KEYS = frozenset({"allowed", "min", "max", "odd", "pattern", "means", "non_empty", "unique", "same", "each"})


def _constraints(path: Path, e: dict) -> dict[str, dict[str, Any]]:
    raw = e.get("constraints") or {}
    if not isinstance(raw, dict):
        raise RegistryError(f"{path}: {e['id']}: 'constraints' must map parameter names to constraints")

    def check(name: str, spec: Any) -> None:
        if not isinstance(spec, dict):
            raise RegistryError(f"{path}: {e['id']}: constraint of {name!r} must be a mapping, got {spec!r}")
        unknown = set(spec) - CONSTRAINT_KEYS
        if unknown:
            raise RegistryError(
                f"{path}: {e['id']}: constraint of {name!r} has unknown keys {sorted(unknown)}; "
                f"known: {', '.join(sorted(CONSTRAINT_KEYS))}"
            )
        if "each" in spec:
            check(f"{name} items", spec["each"])

    for name, spec in raw.items():
        check(name, spec)
    return dict(raw)


def get_entry(notebook_id: str, root: Path | None = None) -> NotebookEntry:
    reg = load_registry(root)
    for e in reg.notebooks:
        if e.id == notebook_id or e.id == notebook_id.removesuffix(".ipynb"):
            return e
    raise RegistryError(
        f"no registered notebook {notebook_id!r}; registered: {', '.join(reg.ids())} "
        "(see notebooks/registry.yaml, or `pain-lib list`)"
    )


def _parameters_cell(nb_path: Path) -> str:
    nb = json.loads(Path(nb_path).read_text())
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise RegistryError(f"{nb_path}: {len(cells)} cells tagged 'parameters'; a notebook needs exactly one")
    src = cells[0]["source"]
    return "".join(src) if isinstance(src, list) else src


@functools.lru_cache(maxsize=256)
def _declared_cached(nb_path: str, mtime: float) -> tuple[Parameter, ...]:
    source = _parameters_cell(Path(nb_path))
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    params = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name) or node.value is None:
            raise RegistryError(
                f"{nb_path}: the parameters cell may hold only annotated literal assignments "
                f"(`name: type = value  # help`); line {node.lineno} is not one"
            )
        try:
            default = ast.literal_eval(node.value)
        except ValueError:
            raise RegistryError(
                f"{nb_path}: parameter {node.target.id!r} must have a literal default (line {node.lineno})"
            ) from None
        params.append(
            Parameter(
                name=node.target.id,
                annotation=ast.unparse(node.annotation),
                default=default,
                help=comments.get(node.lineno, ""),
            )
        )
    return tuple(params)


def declared_parameters(nb_path: Path) -> dict[str, Parameter]:
    """Parameters declared in a notebook's ``parameters`` cell, by name, in order."""
    nb_path = Path(nb_path)
    return {p.name: p for p in _declared_cached(str(nb_path), nb_path.stat().st_mtime)}

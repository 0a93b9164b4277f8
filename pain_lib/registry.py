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


def _read_text(path: Path, what: str) -> str:
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise RegistryError(f"{what} {path} is a folder, not a file") from None
    except OSError as exc:
        raise RegistryError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{what} {path} is not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); "
                            "is it a binary or damaged file?") from None


def _str_list(path: Path, where: str, key: str, value: Any, *, non_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RegistryError(f"{path}: {where}: {key!r} must be a list of strings, got {value!r}"[:400])
    if non_empty and not value:
        raise RegistryError(f"{path}: {where}: {key!r} is empty; list at least one")
    return tuple(value)


def load_registry(root: Path | None = None) -> Registry:
    """The registry, validated: a YAML syntax error names the file, line and column; a wrong
    shape (not a mapping, an entry that is not one, a field of the wrong type) names the file,
    the entry and the field; a registry without notebooks says so."""
    root = Path(root) if root is not None else repo_root()
    path = root / "notebooks" / "registry.yaml"
    if not path.exists():
        raise RegistryError(f"no notebook registry at {path}; run from the project folder or set PAIN_LIB_ROOT")
    text = _read_text(path, "notebook registry")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RegistryError(f"{path}:{at}: YAML syntax error: {problem}; fix the registry there") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RegistryError(f"{path}: the registry must be a mapping with a 'notebooks:' list, "
                            f"got a {type(raw).__name__}")
    listed = raw.get("notebooks")
    if listed is None or listed == []:
        raise RegistryError(f"{path} registers no notebooks: add entries under 'notebooks:'")
    if not isinstance(listed, list):
        raise RegistryError(f"{path}: 'notebooks' must be a list of entries, got a {type(listed).__name__}")
    entries = []
    seen = set()
    for i, e in enumerate(listed):
        if not isinstance(e, dict):
            raise RegistryError(f"{path}: entry {i} must be a mapping (id, path, paper, artifacts, datasets), "
                                f"got {e!r}"[:400])
        missing = {"id", "path", "paper", "artifacts", "datasets"} - set(e)
        if missing:
            raise RegistryError(f"{path}: entry {i} ({e.get('id', '?')}) lacks {sorted(missing)}")
        for key in ("id", "path", "paper"):
            if not isinstance(e[key], str) or not e[key]:
                raise RegistryError(f"{path}: entry {i}: {key!r} must be a non-empty string, got {e[key]!r}"[:400])
        where = e["id"]
        if e["id"] in seen:
            raise RegistryError(f"{path}: notebook id {e['id']!r} registered twice")
        seen.add(e["id"])
        choices = e.get("choices") or {}
        if not isinstance(choices, dict) or not all(isinstance(v, list) for v in choices.values()):
            raise RegistryError(f"{path}: {where}: 'choices' must map parameter names to lists, got {choices!r}"[:400])
        description = e.get("description", "")
        if not isinstance(description, str):
            raise RegistryError(f"{path}: {where}: 'description' must be a string")
        nb_path = (root / "notebooks" / e["path"]).resolve()
        entries.append(
            NotebookEntry(
                id=e["id"],
                path=nb_path,
                paper=e["paper"],
                artifacts=_str_list(path, where, "artifacts", e["artifacts"]),
                datasets=_str_list(path, where, "datasets", e["datasets"], non_empty=True),
                choices={k: tuple(v) for k, v in choices.items()},
                description=description,
                constraints=_constraints(path, e),
            )
        )
    diagrams = []
    for d in _str_list(path, "diagrams", "diagrams", raw.get("diagrams") or []):
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


def _parameters_cell(nb_path: Path) -> tuple[str, int]:
    """The source of a notebook's ``parameters`` cell and its index, after checking the
    notebook is one (valid JSON, a ``cells`` list of cell mappings)."""
    nb_path = Path(nb_path)
    if not nb_path.exists():
        raise RegistryError(f"notebook {nb_path} does not exist (registered in notebooks/registry.yaml)")
    text = _read_text(nb_path, "notebook")
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryError(f"notebook {nb_path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                            "truncated or damaged? restore it (git checkout) or save it again") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        got = type(nb).__name__ if not isinstance(nb, dict) else f"'cells': {type(nb.get('cells')).__name__}"
        raise RegistryError(f"notebook {nb_path} is not a Jupyter notebook (needs a mapping with a 'cells' list, got {got})")
    for i, c in enumerate(nb["cells"]):
        if not isinstance(c, dict) or not isinstance(c.get("source", ""), (str, list)):
            raise RegistryError(f"notebook {nb_path}: cell {i} is not a notebook cell (a mapping with a 'source')")
    cells = [(i, c) for i, c in enumerate(nb["cells"])
             if isinstance(c.get("metadata"), dict) and "parameters" in (c["metadata"].get("tags") or [])]
    if len(cells) != 1:
        raise RegistryError(f"{nb_path}: {len(cells)} cells tagged 'parameters'; a notebook needs exactly one")
    index, cell = cells[0]
    src = cell.get("source", "")
    return ("".join(map(str, src)) if isinstance(src, list) else src), index


@functools.lru_cache(maxsize=256)
def _declared_cached(nb_path: str, mtime: float) -> tuple[Parameter, ...]:
    source, index = _parameters_cell(Path(nb_path))
    where = f"{nb_path}: parameters cell (cell {index})"
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise RegistryError(f"{where}, line {exc.lineno}: syntax error: {exc.msg}") from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise RegistryError(f"{where}: cannot be parsed ({type(exc).__name__})") from None
    comments: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, SyntaxError) as exc:  # pragma: no cover - ast.parse fails first
        raise RegistryError(f"{where}: {exc}") from None
    params = []
    for node in tree.body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name) or node.value is None:
            raise RegistryError(
                f"{where}, line {node.lineno}: the parameters cell may hold only annotated literal assignments "
                f"(`name: type = value  # help`); line {node.lineno} is not one"
            )
        try:
            default = ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise RegistryError(
                f"{where}, line {node.lineno}: parameter {node.target.id!r} must have a literal default"
            ) from None
        params.append(
            Parameter(
                name=node.target.id,
                annotation=node.annotation.value if isinstance(node.annotation, ast.Constant) and isinstance(node.annotation.value, str) else ast.unparse(node.annotation),
                default=default,
                help=comments.get(node.lineno, ""),
            )
        )
    return tuple(params)


def declared_parameters(nb_path: Path) -> dict[str, Parameter]:
    """Parameters declared in a notebook's ``parameters`` cell, by name, in order."""
    nb_path = Path(nb_path)
    if not nb_path.exists():
        raise RegistryError(f"notebook {nb_path} does not exist (registered in notebooks/registry.yaml)")
    try:
        mtime = nb_path.stat().st_mtime
    except OSError as exc:
        raise RegistryError(f"notebook {nb_path} cannot be read ({exc.strerror or exc}; registered in "
                            "notebooks/registry.yaml)") from None
    return {p.name: p for p in _declared_cached(str(nb_path), mtime)}

"""Strict checking of notebook parameters against their declared annotations.

papermill only *warns* about parameters a notebook does not declare and never checks types;
this module makes both an error that names the parameter, what was given and what is
allowed. The annotations understood are the ones a parameters cell uses: ``str``, ``int``,
``float``, ``bool``, ``list[T]``, ``tuple[T, ...]``, ``dict``, and ``X | None``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .config import DATASETS, PROFILES
from .errors import shorten
from .registry import NotebookEntry, Parameter

__all__ = [
    "ParameterError",
    "check_type",
    "check_constraint",
    "describe_constraint",
    "validate_parameters",
    "parse_cli_value",
    "MAX_VALUE_CHARS",
    "INT_RANGE",
    "SEED_RANGE",
]

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")

#: the longest ``-p`` value parsed (longer ones are refused before parsing)
MAX_VALUE_CHARS = 4096
#: the integers a notebook can use: numpy and torch take 64-bit integers ...
INT_RANGE = (-(2**63), 2**63 - 1)
#: ... and a seed also seeds PYTHONHASHSEED and NumPy's legacy generator: 32 bits
SEED_RANGE = (0, 2**32 - 1)
SEED_PARAMETERS = ("seed", "synth_seed")


class ParameterError(ValueError):
    """A notebook parameter that is unknown, ill-typed or out of range."""


def _split_union(annotation: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in annotation:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "|" and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


def check_type(value: Any, annotation: str) -> bool:
    """Whether ``value`` fits ``annotation`` (an int is accepted for ``float``)."""
    options = _split_union(annotation)
    if len(options) > 1:
        return any(check_type(value, opt) for opt in options)
    ann = options[0]
    if ann == "None":
        return value is None
    opt = re.fullmatch(r"Optional\[(.*)\]", ann)
    if opt:  # papermill reads `Optional[X]` (not `X | None`) in a parameters cell
        return value is None or check_type(value, opt.group(1))
    if ann == "Any":
        return True
    if ann == "bool":
        return isinstance(value, bool)
    if ann == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if ann == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ann == "str":
        return isinstance(value, str)
    if ann == "dict" or ann.startswith("dict["):
        return isinstance(value, dict)
    m = re.fullmatch(r"(list|tuple)\[(.*)\]", ann)
    if m:
        kind, inner = m.groups()
        if not isinstance(value, (list, tuple)):
            return False
        inner = inner.removesuffix(", ...").strip()
        return all(check_type(v, inner) for v in value)
    if ann in ("list", "tuple"):
        return isinstance(value, (list, tuple))
    raise ParameterError(f"unsupported parameter annotation {ann!r}")


def _describe(params: Iterable[Parameter]) -> str:
    return "\n".join(f"  {p.name}: {p.annotation} = {p.default!r}  # {p.help}" for p in params)


def validate_parameters(
    values: Mapping[str, Any],
    declared: Mapping[str, Parameter],
    entry: NotebookEntry | None = None,
) -> dict[str, Any]:
    """Check ``values`` (name -> value) against ``declared`` and the registry entry.

    Unknown names, wrong types and invalid values raise :class:`ParameterError`; the
    message lists the valid parameters. Returns the full parameter dict (declared defaults
    filled in for names not given).
    """
    where = f"notebook {entry.id!r}" if entry else "this notebook"
    unknown = [k for k in values if k not in declared]
    if unknown:
        raise ParameterError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(shorten(k) for k in unknown)} "
            f"for {where}. Valid parameters:\n{_describe(declared.values())}"
        )
    out = {name: p.default for name, p in declared.items()}
    out.update(values)
    for name, value in out.items():
        p = declared[name]
        try:
            fits = check_type(value, p.annotation)
        except ParameterError as exc:
            raise ParameterError(f"parameter {name!r} of {where}: {exc}") from None
        if not fits:
            raise ParameterError(
                f"parameter {name!r} of {where} must be {p.annotation}, got {shorten(value)} "
                f"({type(value).__name__}). {p.help}"
            )
        lo, hi = SEED_RANGE if name in SEED_PARAMETERS else INT_RANGE
        for v in _ints(value):
            if not lo <= v <= hi:
                raise ParameterError(
                    f"invalid value for parameter {name!r}: {shorten(v)} is out of range; allowed: "
                    f"{'an int' if name in SEED_PARAMETERS else 'integers'} from {lo} to {hi}"
                )
    _check_values(out, entry)
    return out


def _ints(value: Any) -> Iterable[int]:
    """Every integer in ``value`` (nested lists, tuples and dict values included)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _ints(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _ints(v)


def _check_values(params: Mapping[str, Any], entry: NotebookEntry | None) -> None:
    def bad(name: str, allowed: str) -> ParameterError:
        return ParameterError(f"invalid value for parameter {name!r}: {shorten(params[name])}; allowed: {allowed}")

    if "profile" in params and params["profile"] not in PROFILES:
        raise bad("profile", ", ".join(PROFILES))
    if "device" in params and not _DEVICE.match(str(params["device"])):
        raise bad("device", "auto, cpu, cuda, cuda:N, mps")
    if "dataset" in params:
        allowed = list(entry.datasets) if entry else list(DATASETS)
        if params["dataset"] not in allowed:
            raise bad("dataset", ", ".join(allowed))
    if entry:
        for name, choices in entry.choices.items():
            if name in params and params[name] not in choices:
                raise bad(name, ", ".join(map(repr, choices)))
        for name, spec in entry.constraints.items():
            if name in params:
                problem = check_constraint(params[name], spec)
                if problem:
                    raise ParameterError(
                        f"invalid value for parameter {name!r}: {shorten(params[name])} ({shorten(problem, 200, raw=True)}); "
                        f"allowed: {describe_constraint(spec)}"
                    )


# --------------------------------------------------------------------------- constraints
# A constraint (``constraints:`` of a notebook in notebooks/registry.yaml) is a mapping:
#   allowed: [..]     the value is one of these          min / max: bounds (inclusive)
#   odd: true         an odd integer                     pattern: a regular expression (strings)
#   means: "..."      how messages describe the rule (instead of the generated text)
# and for a list:
#   non_empty: true   at least one item                  unique: true   no item twice
#   same: [[39, 41]]  values that count as one item for ``unique`` (aliases)
#   each: {..}        a constraint every item must meet (nests: a list of lists)


def _fmt(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _same_groups(spec: Mapping[str, Any]) -> dict[Any, tuple[Any, ...]]:
    out: dict[Any, tuple[Any, ...]] = {}
    for group in spec.get("same") or ():
        for v in group:
            out[_key(v)] = tuple(group)
    return out


def _key(value: Any) -> Any:
    return tuple(_key(v) for v in value) if isinstance(value, (list, tuple)) else value


def check_constraint(value: Any, spec: Mapping[str, Any]) -> str | None:
    """What is wrong with ``value`` under the constraint ``spec``, or None when it fits."""
    if isinstance(value, (list, tuple)):
        if spec.get("non_empty") and len(value) == 0:
            return "the list is empty"
        if spec.get("unique"):
            groups = _same_groups(spec)
            seen: dict[Any, Any] = {}
            for v in value:
                k = groups.get(_key(v), _key(v))
                if k in seen:
                    first = seen[k]
                    return (f"{v!r} is given twice" if _key(first) == _key(v)
                            else f"{first!r} and {v!r} are the same ({_fmt(groups[_key(v)])} count as one)")
                seen[k] = v
        if "each" in spec:
            for v in value:
                problem = check_constraint(v, spec["each"])
                if problem:
                    return f"item {v!r}: {problem}"
        return None
    if "allowed" in spec and value not in spec["allowed"]:
        return f"{value!r} is not one of {_fmt(spec['allowed'])}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "min" in spec and value < spec["min"]:
            return f"{value!r} is below {spec['min']}"
        if "max" in spec and value > spec["max"]:
            return f"{value!r} is above {spec['max']}"
        if spec.get("odd") and (not float(value).is_integer() or int(value) % 2 == 0):
            return f"{value!r} is not odd"
    if "pattern" in spec and not (isinstance(value, str) and re.fullmatch(spec["pattern"], value)):
        return f"{value!r} does not match {spec.get('means') or spec['pattern']}"
    return None


def describe_constraint(spec: Mapping[str, Any]) -> str:
    """What ``spec`` allows, in words: ``"a non-empty list of unique items, each one of 26, 50"``."""
    if spec.get("means"):
        return str(spec["means"])
    list_keys = {"non_empty", "unique", "same", "each"} & set(spec)
    if list_keys:
        text = ("a non-empty list" if spec.get("non_empty") else "a list (may be empty)")
        if spec.get("unique"):
            text += " of unique items"
            if spec.get("same"):
                text += " (" + "; ".join(f"{_fmt(g)} count as one" for g in spec["same"]) + ")"
        if "each" in spec:
            text += ", each " + describe_constraint(spec["each"])
        return text
    parts = []
    if "allowed" in spec:
        parts.append(f"one of {_fmt(spec['allowed'])}")
    if "min" in spec and "max" in spec:
        parts.append(f"from {spec['min']} to {spec['max']}")
    elif "min" in spec:
        parts.append(f">= {spec['min']}")
    elif "max" in spec:
        parts.append(f"<= {spec['max']}")
    if spec.get("odd"):
        parts.append("odd")
    if "pattern" in spec:
        parts.append(f"matching {spec['pattern']}")
    return " and ".join(parts) or "any value"


def parse_cli_value(text: str, name: str = "") -> Any:
    """``-p name=value`` values: a Python literal when it parses as one, else the string.

    A value longer than :data:`MAX_VALUE_CHARS` is refused before parsing, and one too deeply
    nested to parse is refused too (:class:`ParameterError` naming ``name``)."""
    label = f"-p {name}=" if name else "-p value "
    if len(text) > MAX_VALUE_CHARS:
        raise ParameterError(f"{label}{shorten(text, 40)} is too long for parameter {name!r}: "
                             f"{len(text)} characters, at most {MAX_VALUE_CHARS} are read")
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError):
        return text
    except (MemoryError, RecursionError):
        raise ParameterError(f"{label}{shorten(text, 40)}: parameter {name!r} is nested too deeply to parse "
                             "as a Python literal") from None

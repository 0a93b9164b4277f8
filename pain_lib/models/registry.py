"""Model registry: builders registered by name, ``get_model(name, **cfg)``, ``list_models()``.

Every model built through :func:`get_model` remembers how it was built in
``model.model_spec = {"name": ..., "cfg": {...}}``; checkpoints store it, so a checkpoint alone
rebuilds its model (:func:`pain_lib.train.load_checkpoint`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch.nn as nn

__all__ = ["register_model", "get_model", "list_models", "model_builder", "model_args", "COMMON_ARGS"]

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}

#: keyword arguments every VideoNet builder forwards to :class:`~pain_lib.models.VideoNet`
COMMON_ARGS: dict[str, str] = {
    "head": "regression | frame | classification | none (default regression)",
    "num_outputs": "outputs of the head: 1 for PSPI regression, n for n classes (default 1)",
    "dropout": "dropout before the output layer (default 0.0)",
    "head_hidden": "hidden fully-connected layers of the head (default: none; C3D/VGG3D: fc6, fc7)",
    "zero_init_residual": "zero-initialise the last BatchNorm of every residual block (default True)",
}


def register_model(fn: Callable[..., nn.Module] | None = None, *, name: str | None = None):
    """Decorator registering a builder under ``name`` (default: the function's name)."""

    def deco(f: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or f.__name__
        if key in _BUILDERS and _BUILDERS[key] is not f:
            raise ValueError(f"a model called {key!r} is already registered")
        _BUILDERS[key] = f
        return f

    return deco(fn) if fn is not None else deco


def list_models() -> list[str]:
    """Names of every registered model, sorted."""
    return sorted(_BUILDERS)


def model_builder(name: str) -> Callable[..., nn.Module]:
    """The builder registered as ``name`` (``ValueError`` listing the valid names otherwise)."""
    try:
        return _BUILDERS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(list_models())}") from None


def model_args(name: str) -> dict[str, Any]:
    """The keyword arguments model ``name`` accepts, with their defaults (common ones included)."""
    sig = inspect.signature(model_builder(name))
    args = {
        p.name: p.default
        for p in sig.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        for k in COMMON_ARGS:
            args.setdefault(k, inspect.Parameter.empty)
    return args


def get_model(name: str, **cfg: Any) -> nn.Module:
    """Build the registered model ``name`` with keyword arguments ``cfg``.

    Unknown names and unknown arguments raise errors that list what is valid. The result's
    ``model_spec`` holds ``{"name": name, "cfg": cfg}``.

    Build on the meta device (no memory, for parameter counts)::

        with torch.device("meta"):
            model = get_model("scn", depth=101)
    """
    builder = model_builder(name)
    allowed = model_args(name)
    unknown = sorted(set(cfg) - set(allowed))
    if unknown:
        raise TypeError(
            f"model {name!r} got unknown argument(s) {', '.join(unknown)}; "
            f"valid arguments: {', '.join(sorted(allowed))}"
        )
    model = builder(**cfg)
    model.model_spec = {"name": name, "cfg": dict(cfg)}
    return model

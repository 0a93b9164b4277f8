"""The recipe contract: what an experiment fits on a training fold and how it predicts a test fold.

A recipe is a small dataclass (its fields are its parameters, as scikit-learn's estimator
parameters) with three methods::

    fit(samples, y, ctx) -> Fitted          # train on the training fold's samples
    predict(fitted, samples, y, ctx) -> dict  # arrays: y_true, y_pred | y_score, sample
    score(outputs) -> dict[str, float]         # metrics of (a subset of) the outputs

``y`` is one label per sample (classification) or ``None`` (the recipe reads its targets from
the samples, e.g. frame PSPI). ``predict``'s ``sample`` array indexes the samples it was given;
the runner maps it to the dataset and adds the subject of every output row, so any metric can be
recomputed per test subject (noise bands, per-subject tables).

Everything else is the engine's (:mod:`pain_lib.experiments.cv`): folds, the content-addressed
store and its key (the recipe's :meth:`Recipe.identity`, the data, the protocol, the seed),
resume, seeds, progress, timings and summaries. A recipe that needs a sub-computation that other
configurations share (a pretext stage, a 2D pre-training, a codebook) asks the context for it:
``ctx.stage(name, identity, compute)`` computes it once per identity and files it in the store.

Fitted state is saved with the fold: :class:`Fitted` ``model`` may be a network built by
:func:`pain_lib.models.get_model`, or a dict of such networks, arrays and plain values; the
default :meth:`Recipe.save_fitted` / :meth:`Recipe.load_fitted` handle both.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from ..data.base import Sample
from ..train import plain
from .store import Entry, Store

__all__ = ["Recipe", "Fitted", "FitContext", "pack", "unpack"]


@dataclass
class Fitted:
    """What :meth:`Recipe.fit` returns: the fitted ``model`` (a network, or a dict of networks,
    arrays and values), its learning curve and scalar facts about the fit (epochs, seconds, ...)."""

    model: Any
    history: pd.DataFrame | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class FitContext:
    """What the engine gives a recipe for one fold."""

    device: torch.device
    seed: int
    fold: str
    store: Store
    entry: Entry
    #: on-disk cache of decoded face crops (shared by every configuration of a dataset)
    cache_dir: Path | None = None
    progress: bool = False
    #: per-epoch training checkpoint of this fold (resume after an interruption)
    checkpoint: Path | None = None
    #: fingerprints of the cached inputs the fold used (recorded in the store)
    inputs: dict[str, str] = field(default_factory=dict)

    #: unlabelled samples of the fold's pretext role (a cross-dataset protocol: the source
    #: dataset, plus a share of the target's training subjects); empty otherwise
    unlabelled: list = field(default_factory=list)

    def stage(self, name: str, identity: Any, compute: Callable[[], Any], *, version: int = 1) -> Any:
        """The result of ``compute()`` for ``identity``, computed once and filed in the store's
        shared ``stages/`` folder (:meth:`Store.stage`: locked, checksummed, identity recorded):
        a pretext model, a pre-trained 2D network, a codebook, shared by every configuration
        that asks with the same identity. The key is the stage's ``name``, its code ``version``
        and ``identity`` only -- pass exactly what the stage's result depends on. The value is
        what :func:`pack` accepts: networks from ``get_model``, tensors, arrays, plain values,
        and dicts or lists of them."""
        value, key = self.store.stage(name, identity, compute, version=version,
                                      save=lambda v, fh: torch.save(pack(v), fh),
                                      load=lambda p: unpack(torch.load(p, map_location="cpu", weights_only=True)))
        self.inputs[f"stage:{name}"] = key
        return value


def pack(obj: Any) -> Any:
    """``obj`` as plain containers and tensors that ``torch.load(weights_only=True)`` reads:
    a network built by :func:`~pain_lib.models.get_model` becomes its spec and state dict."""
    if isinstance(obj, nn.Module):
        spec = getattr(obj, "model_spec", None)
        if spec is None:
            raise ValueError(f"cannot save a {type(obj).__name__} that was not built by pain_lib.models.get_model "
                             "(register its builder, or override Recipe.save_fitted/load_fitted)")
        return {"__module__": {"name": spec["name"], "cfg": plain(spec["cfg"])},
                "state": {k: v.detach().cpu() for k, v in obj.state_dict().items()}}
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, Mapping):
        return {str(k): pack(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(pack(v) for v in obj)
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def unpack(obj: Any) -> Any:
    """The inverse of :func:`pack` (networks rebuilt with ``get_model`` on the CPU)."""
    if isinstance(obj, dict):
        if "__module__" in obj:
            from ..models import get_model

            spec = obj["__module__"]
            net = get_model(spec["name"], **spec["cfg"])
            net.load_state_dict(obj["state"])
            return net
        if "__ndarray__" in obj:
            return obj["__ndarray__"].numpy()
        return {k: unpack(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(unpack(v) for v in obj)
    return obj


class Recipe:
    """Base class of every experiment recipe (see the module docstring).

    Subclasses are frozen dataclasses; :attr:`name` names their store folders. ``identity()``
    is every field (with model-builder defaults filled in by subclasses that build networks),
    so two recipes with equal identities share their store entry.
    """

    #: short name used in store folder names and tables
    name: ClassVar[str] = "recipe"
    #: bump when what the recipe computes changes (part of its store key, with STORE_VERSION)
    version: ClassVar[int] = 1

    def identity(self) -> dict[str, Any]:
        """What identifies this recipe in the store (its class, code version and every field)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)} if dataclasses.is_dataclass(self) else {}
        return {"recipe": f"{type(self).__module__}.{type(self).__qualname__}", "version": self.version, **fields}

    def label(self) -> str:
        """A readable name of this configuration (store folder prefix)."""
        return self.name

    def prepare(self, samples: Sequence[Sample], cache_dir: Path | None) -> None:
        """Fill on-disk caches this recipe reads (e.g. decoded face crops) before several
        processes run it at once; optional."""

    # -- the contract ------------------------------------------------------------------
    def fit(self, samples: Sequence[Sample], y: np.ndarray | None, ctx: FitContext) -> Fitted:
        raise NotImplementedError

    def predict(self, fitted: Fitted, samples: Sequence[Sample], y: np.ndarray | None,
                ctx: FitContext) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def score(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        raise NotImplementedError

    # -- persistence (override for fitted state that pack() cannot hold) --------------
    def save_fitted(self, fitted: Fitted, fh: IO[bytes]) -> None:
        torch.save(pack(fitted.model), fh)

    def load_fitted(self, path: Path) -> Fitted:
        return Fitted(unpack(torch.load(path, map_location="cpu", weights_only=True)))


def profile_fields(cls: type, profile: Any, **mapped: Any) -> dict[str, Any]:
    """The values of the dataclass ``cls``'s fields that ``profile`` has under the same name,
    then ``mapped`` (fields the profile names differently, e.g. ``size=profile.image_size``)."""
    return {**{f.name: getattr(profile, f.name) for f in dataclasses.fields(cls) if hasattr(profile, f.name)},
            **mapped}


def load_trunk(net: nn.Module, state: Mapping[str, torch.Tensor] | None) -> int:
    """Load every tensor of ``state`` into ``net`` but the head's (a new task's head keeps its
    initialisation) and those that do not fit; returns how many were loaded."""
    if state is None:
        return 0
    own = net.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape and not k.startswith("head.")}
    net.load_state_dict(usable, strict=False)
    return len(usable)


def filled_cfg(model: str, cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``cfg`` with every builder argument left at its default filled in, so ``{"depth": 26}``
    and ``{"depth": 26, "spatial_size": 3}`` identify the same network."""
    from ..models import model_args

    defaults = {k: v for k, v in model_args(model).items() if v is not inspect.Parameter.empty}
    return {**defaults, **dict(cfg)}


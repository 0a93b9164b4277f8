"""Model registry: builders registered by name and family, ``get_model(name, **cfg)``, ``list_models()``.

Every builder belongs to a **family** whose builders share common keyword arguments:

==========  =====================================  ===========================================
family      what                                   common keyword arguments
==========  =====================================  ===========================================
``video``   3D networks, clips ``(N, C, T, H, W)``  :data:`COMMON_ARGS` (head, num_outputs,
            (:class:`~pain_lib.models.VideoNet`)    dropout, head_hidden, zero_init_residual)
``image``   2D networks, images ``(B, C, H, W)``    :data:`IMAGE_COMMON_ARGS` (head, num_outputs,
            (:class:`~pain_lib.models.ImageNet`)    dropout, weights, in_channels)
==========  =====================================  ===========================================

Builders may record the smallest input size (``H = W``) their network accepts,
``register_model(..., min_size=n)``; :func:`min_input_size` returns it (the 2D family records it
for every model), so profiles can pick an input size per family.

Every model built through :func:`get_model` remembers how it was built in
``model.model_spec = {"name": ..., "cfg": {...}}``; checkpoints store it, so a checkpoint alone
rebuilds its model (:func:`pain_lib.train.load_checkpoint`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch.nn as nn

__all__ = [
    "register_model",
    "get_model",
    "list_models",
    "model_builder",
    "model_args",
    "model_family",
    "min_input_size",
    "COMMON_ARGS",
    "IMAGE_COMMON_ARGS",
    "FAMILIES",
]

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}
_FAMILY_OF: dict[str, str] = {}
_MIN_SIZE: dict[str, int] = {}

#: keyword arguments every VideoNet builder (family ``"video"``) forwards to
#: :class:`~pain_lib.models.VideoNet`
COMMON_ARGS: dict[str, str] = {
    "head": "regression | frame | classification | none (default regression)",
    "num_outputs": "outputs of the head: 1 for PSPI regression, n for n classes (default 1)",
    "dropout": "dropout before the output layer (default 0.0)",
    "head_hidden": "hidden fully-connected layers of the head (default: none; C3D/VGG3D: fc6, fc7)",
    "zero_init_residual": "zero-initialise the last BatchNorm of every residual block (default True)",
}

#: keyword arguments every 2D builder (family ``"image"``) forwards to
#: :func:`~pain_lib.models.image_nets.torchvision_net` / :func:`~pain_lib.models.image_nets.timm_net`
IMAGE_COMMON_ARGS: dict[str, str] = {
    "head": "regression | classification | none (= pooled features) (default regression)",
    "num_outputs": "outputs of the head: 1 for PSPI regression, n for n classes (default 1)",
    "dropout": "dropout before the output layer; replaces the architecture's own (default 0.0)",
    "weights": "none (random init, default) | auto (the library's default weights if already in the "
    "local cache, else random; never downloads) | imagenet (as auto, but a missing file is an error)",
    "in_channels": "input channels (default 3); the first conv's weights are adapted from RGB",
}

#: the families and their common keyword arguments (``image-sequence``: a 2D backbone over a
#: sequence of images, pooled over time -- :mod:`pain_lib.models.temporal_pooling`;
#: ``dual-branch``: clips to several outputs at once, the hrg paper's network -- :mod:`pain_lib.models.hrg_net`)
FAMILIES: dict[str, dict[str, str]] = {"video": COMMON_ARGS, "image": IMAGE_COMMON_ARGS, "image-sequence": {},
                                       "dual-branch": {}}


def register_model(
    fn: Callable[..., nn.Module] | None = None,
    *,
    name: str | None = None,
    family: str = "video",
    min_size: int | None = None,
):
    """Decorator registering a builder under ``name`` (default: the function's name) in
    ``family`` (``"video"`` or ``"image"``, see :data:`FAMILIES`).

    Builders take keyword-only, typed arguments plus ``**common`` (the family's common
    arguments, see :data:`FAMILIES`). ``min_size``: the smallest input height = width the
    network accepts (an architecture limit, whatever the width; see :func:`min_input_size`)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; families: {', '.join(FAMILIES)}")
    if min_size is not None and (not isinstance(min_size, int) or min_size < 1):
        raise ValueError(f"min_size must be a positive int, got {min_size!r}")

    def deco(f: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or f.__name__
        if key in _BUILDERS and _BUILDERS[key] is not f:
            raise ValueError(f"a model called {key!r} is already registered")
        _BUILDERS[key] = f
        _FAMILY_OF[key] = family
        if min_size is not None:
            _MIN_SIZE[key] = int(min_size)
        return f

    return deco(fn) if fn is not None else deco


def list_models(family: str | None = None) -> list[str]:
    """Names of every registered model (of one ``family`` when given), sorted."""
    if family is None:
        return sorted(_BUILDERS)
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; families: {', '.join(FAMILIES)}")
    return sorted(k for k, f in _FAMILY_OF.items() if f == family)


def model_builder(name: str) -> Callable[..., nn.Module]:
    """The builder registered as ``name`` (``ValueError`` listing the valid names otherwise)."""
    try:
        return _BUILDERS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(list_models())}") from None


def model_family(name: str) -> str:
    """The family (``"video"`` / ``"image"``) of the registered model ``name``."""
    model_builder(name)  # clear error for unknown names
    return _FAMILY_OF[name]


def min_input_size(name: str) -> int:
    """The smallest input height = width (pixels) model ``name`` accepts, as registered
    (``register_model(..., min_size=...)``): the forward pass fails one pixel below it. An
    architecture limit, not a recommendation (a training-mode BatchNorm at the smallest sizes
    also needs batches > 1); ViT-B/16 also needs a multiple of 16. ``ValueError`` for a model
    that records none (the video family)."""
    model_builder(name)  # clear error for unknown names
    if name not in _MIN_SIZE:
        raise ValueError(f"model {name!r} records no minimum input size; models that do: {', '.join(sorted(_MIN_SIZE))}")
    return _MIN_SIZE[name]


def model_args(name: str) -> dict[str, Any]:
    """The keyword arguments model ``name`` accepts, with their defaults (its family's common
    ones included, with ``inspect.Parameter.empty`` as default)."""
    sig = inspect.signature(model_builder(name))
    args = {
        p.name: p.default
        for p in sig.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        for k in FAMILIES[model_family(name)]:
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

"""Parameter counts (built and analytic) and Table-3-style architecture descriptions.

Paper-width networks are large (SCN-152: ~600 M parameters); build them on the ``meta``
device, which allocates nothing::

    count_parameters_meta("scn", depth=101, num_outputs=1000)      # -> int, in milliseconds
    describe_architecture("scn", depth=101)                         # -> Table 3 as a DataFrame
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import torch
import torch.nn as nn

from .blocks import pointwise_pair
from .registry import COMMON_ARGS, get_model, model_args
from .zoo import BottleneckPlan, bottleneck_plan

__all__ = [
    "count_parameters",
    "count_parameters_meta",
    "analytic_parameter_count",
    "parameter_count_table",
    "describe_architecture",
]


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters (BatchNorm running statistics are buffers and not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_parameters_meta(name: str, **cfg: Any) -> int:
    """Build ``get_model(name, **cfg)`` on the meta device and count its parameters."""
    with torch.device("meta"):
        model = get_model(name, **cfg)
    return count_parameters(model)


def _conv(i: int, o: int, k: Sequence[int]) -> int:
    return i * o * math.prod(k)


def _bn(c: int) -> int:
    return 2 * c


def _plan_count(plan: BottleneckPlan, head: str, num_outputs: int, head_hidden: Sequence[int]) -> int:
    total = _conv(plan.in_channels, plan.stem_channels, plan.stem_kernel) + _bn(plan.stem_channels)
    c = plan.stem_channels
    for stage in plan.stages:
        kw = stage.block_kwargs
        (p1, p2), s = pointwise_pair(kw["pointwise_temporal"]), kw["spatial_size"]
        tds = kw["temporal_depths"]
        ratios = kw["branch_widths"] or (1.0,) * len(tds)
        for j, w in enumerate(stage.widths):
            out = plan.expansion * w
            bws = [max(1, round(w * r)) for r in ratios]
            total += _conv(c, w, (p1, 1, 1)) + _bn(w)
            total += sum(_conv(w, b, (t, s, s)) + _bn(b) for t, b in zip(tds, bws))
            total += _conv(sum(bws), out, (p2, 1, 1)) + _bn(out)
            stride = stage.stride if j == 0 else (1, 1, 1)
            if c != out or any(x != 1 for x in stride):
                total += _conv(c, out, (1, 1, 1)) + _bn(out)
            c = out
    for h in head_hidden:
        total += c * h + h
        c = h
    if head != "none":
        total += c * num_outputs + num_outputs
    return total


def analytic_parameter_count(name: str, **cfg: Any) -> int:
    """Parameter count of a ``res3d`` / ``scn`` configuration from arithmetic alone (no modules).

    Takes the same keyword arguments as the builder. Per bottleneck block with input ``c``,
    width ``w``, branch widths ``b_k``, pointwise kernels ``1×1×p₁`` and ``1×1×p₂`` and branch
    kernels ``s×s×t_k``: ``p₁·c·w + Σ_k s²·t_k·w·b_k + p₂·(Σ_k b_k)·4w`` weights, ``2·`` channels per
    BatchNorm, plus ``c·4w`` (+BN) for a projection shortcut; stem ``3·7·7·C_in·w₀``; head
    ``C·n + n``.
    """
    defaults = {k: v for k, v in model_args(name).items() if v is not inspect.Parameter.empty}
    cfg = {**defaults, **cfg}
    head = cfg.pop("head", "regression")
    num_outputs = cfg.pop("num_outputs", 1)
    head_hidden = tuple(cfg.pop("head_hidden", ()))
    for k in COMMON_ARGS:
        cfg.pop(k, None)
    if name == "res3d":
        cfg["temporal_depths"] = (cfg.pop("temporal_depth", 3),)
    elif name != "scn":
        raise ValueError(f"analytic parameter counts exist for 'res3d' and 'scn' only, got {name!r}")
    return _plan_count(bottleneck_plan(**cfg), head, num_outputs, head_hidden)


def parameter_count_table(specs: Iterable[tuple[str, dict[str, Any]]], *, analytic: bool = True) -> pd.DataFrame:
    """One row per ``(name, cfg)``: built (meta-device) parameter count, in millions, and the
    analytic count where one exists (``res3d``/``scn``)."""
    rows = []
    for name, cfg in specs:
        n = count_parameters_meta(name, **cfg)
        row: dict[str, Any] = {"model": name, **{k: v for k, v in cfg.items()}, "params": n, "params_millions": n / 1e6}
        if analytic and name in ("res3d", "scn"):
            row["analytic_params"] = analytic_parameter_count(name, **cfg)
        rows.append(row)
    return pd.DataFrame(rows)


def _on_meta(model: nn.Module) -> bool:
    return any(p.is_meta for p in model.parameters())


def describe_architecture(
    model: nn.Module | str, *, input_shape: Sequence[int] = (3, 32, 112, 112), **cfg: Any
) -> pd.DataFrame:
    """A Table-3-style description of a :class:`~pain_lib.models.VideoNet`, generated from the
    built network: one row per stem / stage / head with its output size for an input clip of
    ``input_shape = (C, T, H, W)``, its block structure in the paper's ``s×s×t`` notation, the
    number of blocks and the parameters.

    ``model`` is a built model or a registered name (then built on the meta device with
    ``cfg``). A real (non-meta) model is described through a meta-device copy, so describing a
    paper-size input costs nothing.

    Columns: ``layer, spatial_output, output_size (T×H×W), channels, structure, blocks, params``.
    """
    if isinstance(model, str):
        with torch.device("meta"):
            model = get_model(model, **cfg)
    elif cfg:
        raise TypeError("cfg is only used when model is given by name")
    elif not _on_meta(model):
        spec = getattr(model, "model_spec", None)
        if spec is not None:
            with torch.device("meta"):
                model = get_model(spec["name"], **spec["cfg"])
        else:
            model = copy.deepcopy(model).to("meta")
    shapes: dict[str, tuple[int, ...]] = {}
    parts: list[tuple[str, nn.Module]] = [("stem", model.stem), *model.stages.named_children()]
    hooks = [
        m.register_forward_hook(lambda _m, _i, out, key=key: shapes.__setitem__(key, tuple(out.shape)))
        for key, m in parts
    ]
    try:
        with torch.no_grad():
            model.forward_features(torch.empty((1, *input_shape), device="meta"))
    finally:
        for h in hooks:
            h.remove()
    rows = []
    for key, m in parts:
        _, c, t, h, w = shapes[key]
        is_stem = key == "stem"
        rows.append(
            {
                "layer": (model.stem.name if is_stem else key).capitalize(),
                "spatial_output": f"{h} × {w}",
                "output_size": f"{t}×{h}×{w}",
                "channels": c,
                "structure": m.describe() if is_stem else m[0].describe(),
                "blocks": 1 if is_stem else len(m),
                "params": count_parameters(m),
            }
        )
    rows.append(
        {
            "layer": "Pooling",
            "spatial_output": "1 × 1",
            "output_size": "1×1×1",
            "channels": model.head.num_features,
            "structure": model.head.describe(),
            "blocks": 1,
            "params": count_parameters(model.head),
        }
    )
    return pd.DataFrame(rows)

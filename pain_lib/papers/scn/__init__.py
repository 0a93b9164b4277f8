"""Paper ``scn`` (Tavakolian & Hadid, IJCV 2019): its recipes, grids and notebook helpers.

* recipes: every network of the paper's tables is a :class:`~pain_lib.experiments.ClipRecipe`;
  :func:`recipe` gives the one a table cell needs -- by default starting from the knowledge
  transfer's weights (:class:`~.transfer.TransferClipRecipe`), as the paper's headline numbers
  do (Table 1's SCN-101 98.53 % and Res3D-101 91.05 % are Table 6's "with transfer" values);
* grids: the sweep values are read from the transcribed tables themselves
  (``paper_tables/scn.csv``), so the rows this library computes carry exactly the paper's labels;
  profiles with ``Profile.claims_only`` compute only the cells the claims compare and show the
  others as "run at full" (:func:`~pain_lib.experiments.select_cells`); the sweeps' network size
  is derived from the profile's width (:func:`profile_sweep_depth`: the paper's 101 at paper width, else 26);
* helpers: Table 3 from the built networks, Table 9's timings and parameter-count readings, the
  sequences of Figures 9 and 10.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...experiments import ClipRecipe, ClipSetup, FramePSPI, Target
from ...report import paper_table
from .. import shared_notes
from .transfer import TransferClipRecipe, TransferSetup

__all__ = [
    "MODEL_OF_LABEL",
    "SPEEDS",
    "notes",
    "clip_setup",
    "recipe",
    "sweep_depth",
    "profile_sweep_depth",
    "speed_classes",
    "model_label",
    "depth_label",
    "paper_depths",
    "kernel_grid",
    "kernel_cell",
    "scaled_resolution",
    "table3_rows",
    "parameter_readings",
    "timing_rows",
    "pick_by_speed",
    "TransferClipRecipe",
    "TransferSetup",
]

#: row label in the paper -> registered model name
MODEL_OF_LABEL = {"Res3D": "res3d", "SCN": "scn", "VGG3D": "vgg3d", "Inception3D": "inception3d", "C3D": "c3d"}
SPEEDS = ("slow", "medium", "sudden")


def notes(*keys: str):
    """The shared fidelity notes ``keys`` (sections of ``NOTES.md`` beside this module: ``auc``,
    ``targets``, ``protocol``, ``training``, ``transfer``, ``store``, ``depth39``, ``pointwise``,
    ``bands``, ``synthetic``) as Markdown for a notebook to display."""
    return shared_notes(__package__, keys)


def clip_setup(run: Any, **overrides: Any) -> ClipSetup:
    """The profile's clip geometry and schedule (:meth:`ClipSetup.from_profile`)."""
    return ClipSetup.from_profile(run.profile, **overrides)


def recipe(run: Any, model: str, cfg: Mapping[str, Any] | None = None, *, transfer: bool = True,
           setup: ClipSetup | None = None, target: Target | None = None) -> ClipRecipe:
    """The recipe of one table cell: ``model`` at the profile's width (``cfg`` overrides), the
    profile's clip setup, the ``target`` (default frame PSPI; e.g. ``ClassPair(4, 0)`` on BioVid),
    and -- with ``transfer`` -- the knowledge transfer's initial weights."""
    cfg = {"base_width": run.profile.base_width, **dict(cfg or {})}
    model, cfg = _as_res3d(model, cfg)
    common = {"model": model, "cfg": cfg, "setup": setup or clip_setup(run), "target": target or FramePSPI()}
    if transfer:
        return TransferClipRecipe(**common, transfer=TransferSetup.from_profile(run.profile))
    return ClipRecipe(**common)


def _as_res3d(model: str, cfg: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """SCN with one parallel kernel of temporal depth 3 in every stage (Table 2's "K = 1, [3]"
    cell) *is* Res3D's bottleneck network -- the builders make the same modules with the same
    initial weights -- so its cell is Res3D's configuration: computed once, read from the store
    by every table that has it. Any other configuration is returned unchanged."""
    if model != "scn" or cfg.get("branch_widths") is not None:
        return model, cfg
    depths = cfg.get("temporal_depths")
    stages = [depths] if depths and not isinstance(depths[0], (tuple, list)) else list(depths or [])
    if not stages or any(tuple(stage) != (3,) for stage in stages):
        return model, cfg
    same = {k: v for k, v in cfg.items() if k not in ("temporal_depths", "branch_widths")}
    return "res3d", {**same, "temporal_depth": 3}


#: the paper's network size of the sweeps after Table 1, and the smallest size of Table 1
PAPER_SWEEP_DEPTH, SMALL_SWEEP_DEPTH = 101, 26


def profile_sweep_depth(profile: Any) -> int:
    """The sweeps' network size at a profile: the paper's 101 where the profile trains
    paper-width networks (``base_width`` >= 64), else 26 (the smallest size of Table 1, which the
    narrower CPU and GPU profiles can train in their budget)."""
    return PAPER_SWEEP_DEPTH if profile.base_width >= 64 else SMALL_SWEEP_DEPTH


def sweep_depth(run: Any, network_size: int | None = 0) -> int:
    """The network size of the sweeps after Table 1: the notebook's ``network_size`` when set,
    else the profile's (:func:`profile_sweep_depth`)."""
    return int(network_size) if network_size else profile_sweep_depth(run.profile)


def model_label(name: str) -> str:
    return {v: k for k, v in MODEL_OF_LABEL.items()}[name]


def depth_label(depth: int) -> str:
    """Table 1 column label: the paper prints the second size as 39 (Tables 3 and 9: 41)."""
    return f"Network size = {39 if depth == 41 else depth}"


def paper_depths() -> list[int]:
    """Network sizes of Table 1 (39 read as 41, the depth its Table 3 block counts give)."""
    cols = paper_table("scn", "Table 1")["column"].unique()
    depths = [int(re.search(r"\d+", c).group()) for c in cols]
    return [41 if d == 39 else d for d in depths]


def kernel_grid() -> list[tuple[int, list[int], str, str]]:
    """Table 2's grid: ``(K, temporal depths, row label, column label)`` for every cell."""
    t = paper_table("scn", "Table 2")
    out = []
    for _, r in t.iterrows():
        k = int(re.search(r"= (\d+)", r["row"]).group(1))
        spec = r["column"].split("=", 1)[1].strip()
        depths = ast.literal_eval(spec)
        depths = [depths] if isinstance(depths, int) else list(depths)
        out.append((k, depths, r["row"], r["column"]))
    return out


def kernel_cell(grid: Sequence[tuple[int, list[int], str, str]], depths: Sequence[int]) -> tuple[str, str] | None:
    """The ``(row, column)`` of Table 2's cell with these temporal depths in ``grid`` (the
    :func:`kernel_grid` a notebook ran), or ``None`` when the profile cut it."""
    for _, d, row, col in grid:
        if list(d) == list(depths):
            return row, col
    return None


def scaled_resolution(paper_px: int, run: Any) -> int:
    """A paper input resolution scaled to the profile (paper 112 -> ``profile.image_size``)."""
    return max(16, int(round(paper_px * run.profile.image_size / 112 / 8)) * 8)


def table3_rows(depths: Sequence[int], *, input_shape: Sequence[int] = (3, 32, 112, 112), **cfg: Any) -> pd.DataFrame:
    """Table 3 generated from the built SCN (meta device): per stage its spatial output, block
    structure and, per network size, the number of blocks -- in the paper's row/column labels."""
    from ...models import describe_architecture

    def spaced(text: str) -> str:
        return re.sub(r"\s*×\s*", " × ", text)

    rows = []
    for i, d in enumerate(depths):
        desc = describe_architecture("scn", input_shape=input_shape, depth=d, **cfg)
        for _, r in desc.iterrows():
            layer = r["layer"]
            if i == 0:
                rows.append({"row": layer, "column": "Spatial output", "metric": "output_size",
                             "value": spaced(r["spatial_output"])})
                rows.append({"row": layer, "column": "Structure", "metric": "structure", "value": spaced(r["structure"])})
            if layer.startswith("Conv") and layer != "Conv1":
                rows.append({"row": layer, "column": f"Number of layers = {d}", "metric": "blocks",
                             "value": float(r["blocks"])})
    return pd.DataFrame(rows)


#: readings of the bottleneck's pointwise kernels and temporal depths (Table 9's parameter counts)
READINGS: dict[str, dict[str, Any]] = {
    "Table 3 as printed: 1×1×3 first and last": {"pointwise_temporal": 3},
    "1×1×1 first, 1×1×3 last, Table 3's depths (built)": {"pointwise_temporal": (1, 3)},
    "1×1×3 first, 1×1×1 last, depths 3/5/9 in every stage": {"pointwise_temporal": (3, 1), "temporal_depths": (3, 5, 9)},
    "1×1×1 first and last (2D ResNet pointwise)": {"pointwise_temporal": 1},
}


def parameter_readings(depths: Sequence[int]) -> pd.DataFrame:
    """Parameter counts (millions, Table 3's 1000-way classifier, paper width) of SCN and Res3D
    under each reading of the pointwise kernels, next to Table 9: ``model, depth, reading,
    params_millions, paper, deviation_pct``. Exact counts (built on the meta device) equal the
    analytic formula."""
    from ...models import analytic_parameter_count, count_parameters_meta

    t = paper_table("scn", "Table 9")
    paper = {r["row"]: r["value"] for _, r in t[t["metric"] == "params_millions"].iterrows()}
    rows = []
    for label, name in (("SCN", "scn"), ("Res3D", "res3d")):
        for reading, cfg in READINGS.items():
            if name == "res3d":
                cfg = {k: v for k, v in cfg.items() if k != "temporal_depths"}
            for d in depths:
                args = {"depth": d, "base_width": 64, "head": "classification", "num_outputs": 1000, **cfg}
                n = count_parameters_meta(name, **args)
                if n != analytic_parameter_count(name, **args):
                    raise AssertionError(f"{name}-{d} {reading}: built and analytic counts differ")
                p = paper.get(f"{label} | {d} layers", np.nan)
                rows.append({"model": label, "depth": d, "reading": reading, "params_millions": n / 1e6,
                             "paper": p, "deviation_pct": 100 * (n / 1e6 / p - 1)})
    return pd.DataFrame(rows)


def timing_rows(scratch: Mapping[int, Any], transfer: Mapping[int, Any], *, label: str) -> pd.DataFrame:
    """Table 9's seconds for one network at each depth, from the grid results of the same
    configuration trained from scratch (``scratch[depth]``) and from transferred weights
    (``transfer[depth]``), first fold:

    * Train without transfer: the wall-clock seconds of training from scratch.
    * Train with transfer: fine-tuning from transferred weights until the training loss reaches
      the from-scratch model's final training loss (every epoch if it never does).
    * Test: seconds per test sequence (sliding clips).
    * The pretext's own seconds (not in the paper).
    """
    rows = []
    for d in scratch:
        s, t = scratch[d], transfer[d]
        f0 = s.folds.iloc[0]
        hist = t.histories[t.folds["fold"].iloc[0]]
        reached = np.flatnonzero(hist["train_loss"].to_numpy() <= float(f0["final_train_loss"]))
        upto = int(reached[0]) + 1 if len(reached) else len(hist)
        n_test = max(1, len(np.unique(s.outputs[f0["fold"]]["sample"])))
        row = f"{label} | {d} layers"
        rows += [
            {"row": row, "column": "Train: Without transfer learning", "metric": "seconds",
             "value": float(f0["train_s"]), "unit": "s"},
            {"row": row, "column": "Train: With transfer learning", "metric": "seconds",
             "value": float(hist["seconds"].iloc[:upto].sum()), "unit": "s"},
            {"row": row, "column": "Test", "metric": "seconds", "value": float(f0["test_s"]) / n_test, "unit": "s"},
            {"row": row, "column": "Transfer pretext (not in the paper)", "metric": "seconds",
             "value": float(t.folds["pretext_s"].iloc[0]), "unit": "s"},
        ]
    return pd.DataFrame(rows)


def speed_classes(samples: Sequence[Any], *, window: int = 5) -> list[str | None]:
    """Each sequence's speed of facial change, from its frame PSPI labels only (a real copy of
    UNBC has no other record of it): the largest PSPI rise over ``window`` frames, relative to
    the sequence's peak, split into tertiles over the sequences with pain (peak PSPI >= 1):
    ``slow``, ``medium``, ``sudden``; ``None`` for a sequence without pain."""
    from ...data.labels import frame_pspi

    rate = []
    for s in samples:
        p = frame_pspi(s)
        peak = float(p.max(initial=0))
        if peak < 1 or len(p) <= 1:
            rate.append(np.nan)
            continue
        w = min(window, len(p) - 1)
        rate.append(float((p[w:] - p[:-w]).max(initial=0)) / peak)
    rate = np.asarray(rate)
    ok = np.isfinite(rate)
    if not ok.any():
        return [None] * len(samples)
    lo, hi = np.quantile(rate[ok], [1 / 3, 2 / 3])
    return [None if not np.isfinite(r) else SPEEDS[int(r > lo) + int(r > hi)] for r in rate]


def pick_by_speed(samples: Sequence[Any]) -> dict[str, Any]:
    """One sequence per speed class (:func:`speed_classes`): the one with the most pain; when no
    sequence shows pain, ``{"no pain": <the first sequence>}`` (a trace is still drawn)."""
    from ...data.labels import frame_pspi

    by_speed: dict[str, list] = {}
    for s, speed in zip(samples, speed_classes(samples)):
        if speed is not None:
            by_speed.setdefault(speed, []).append(s)
    if not by_speed:
        return {"no pain": samples[0]} if len(samples) else {}
    return {sp: max(by_speed[sp], key=lambda s: float(frame_pspi(s).max())) for sp in SPEEDS if sp in by_speed}

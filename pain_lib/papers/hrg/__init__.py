"""Paper ``hrg`` (pseudo-physiological heart-rate gain, dual-branch R(2+1)D with attention,
probabilistic fusion): its recipes, grids and notebook helpers.

* recipe: :class:`~.recipe.HRGRecipe` -- Algorithm 1's two stages on the network of Table I
  (:func:`pain_lib.models.hrg_net.hrg_dual`), the HRG analyzer (:mod:`.analyzer`) and a fusion;
  :func:`recipe` gives the one a table cell needs at the profile's scale;
* labels: :class:`~.heart_rate.TrialHeartRateGain` (HRG from the ECG, else rPPG over seconds of
  the trial's recording);
* clips: :class:`~.sampling.KeyFrameSkip` (key frames, then frame skipping);
* grids: the tasks of Table II (read from the transcribed table), fusion strategies, attention
  positions;
* helpers: Table I from the built network, per-subject accuracies and the t-test stars of Tables
  IV-VI (:mod:`.stats`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ...experiments import ClipSetup, Target, target_from_task
from ...report import paper_table
from .. import shared_notes
from .analyzer import GaussianAnalyzer, HRGScale, eq10_gradient, fuse_log_probabilities
from .figures import (
    attention_maps,
    attention_positions,
    plot_gaussians,
    plot_histograms,
    plot_posteriors,
    training_labels,
)
from .heart_rate import (
    TrialHeartRateGain,
    context_segments,
    context_trace,
    heart_rate_error,
    segments_heart_rate,
    trial_sweeps,
)
from .recipe import FUSIONS, FusionLoss, HRGRecipe, Stage1Loss, fused_scores
from .sampling import KeyFrameSkip
from .stats import star, two_sample_ttest

__all__ = [
    "HRGRecipe", "FUSIONS", "FusionLoss", "Stage1Loss", "fused_scores", "GaussianAnalyzer", "HRGScale",
    "eq10_gradient", "fuse_log_probabilities", "TrialHeartRateGain", "context_trace", "heart_rate_error",
    "trial_sweeps", "context_segments", "segments_heart_rate", "KeyFrameSkip", "star", "two_sample_ttest", "notes", "clip_setup", "hrg_target", "recipe",
    "stage2_epochs", "paper_tasks", "task_label", "CONV_COLUMNS", "table1_rows", "per_subject_accuracy",
    "significance_rows", "fitted_analyzer", "FUSION_LABELS", "attention_maps", "attention_positions",
    "table1_split", "POOLING_ROW", "plot_gaussians", "plot_histograms", "plot_posteriors", "training_labels", "first_clip",
]

#: Table II's column label of each convolution type
CONV_COLUMNS = {"c3d": "C3D", "r3d": "R3D", "r2plus1d": "R(2+1)D"}
#: Fig. 15's label of each fusion strategy
FUSION_LABELS = {"none": "Without", "feature": "Feature", "decision": "Decision", "probability": "Probability"}


def notes(*keys: str):
    """The shared fidelity notes ``keys`` (sections of ``NOTES.md`` beside this module) as
    Markdown for a notebook to display (all of them without keys)."""
    return shared_notes(__package__, keys)


def clip_setup(run: Any, *, key_frame_window: int = 6, frame_skip: int = 2, **overrides: Any) -> ClipSetup:
    """The profile's clip geometry and schedule with Sec. III-A's clips: key frames in windows of
    ``key_frame_window`` (2i, i = 3) frames, then every ``frame_skip``-th key frame."""
    p = run.profile
    sampler = KeyFrameSkip(p.clip_len, window=key_frame_window, skip=frame_skip)
    return ClipSetup.from_profile(p, **{"sampler": sampler, **overrides})


def hrg_target(*, context_s: float = 6.0, source: str = "auto") -> TrialHeartRateGain:
    """The HRG labels: from the ECG where the dataset has one, else rPPG (POS) over
    ``context_s`` seconds of the trial's recording."""
    return TrialHeartRateGain(source=source, context_s=float(context_s))


def stage2_epochs(profile: Any) -> int:
    """Epochs of stage 2's joint fine-tuning at a profile: a third of stage 1's (at least one)."""
    return max(1, int(profile.epochs) // 3)


def recipe(run: Any, task: str | Target, *, conv_type: str = "r2plus1d", attention_position: int = 5,
           shared: str = "partial", fusion: str = "probability", stage1_weights: tuple[float, float] = (1.0, 1.0),
           setup: ClipSetup | None = None, hrg: TrialHeartRateGain | None = None,
           base_width: int | None = None) -> HRGRecipe:
    """The recipe of one table cell: ``task`` (``"4-0"``, ``"all-all"`` or a target) on the
    network of Table I at the profile's width, with the given convolution type, attention
    position, sharing and fusion."""
    target = target_from_task(task) if isinstance(task, str) else task
    cfg = {"base_width": int(base_width or run.profile.base_width), "conv_type": conv_type,
           "attention_position": int(attention_position), "shared": shared}
    return HRGRecipe(cfg=cfg, setup=setup or clip_setup(run), target=(target, hrg or hrg_target()),
                     fusion=fusion, stage2_epochs=stage2_epochs(run.profile), stage1_weights=tuple(stage1_weights))


def task_label(task: str) -> str:
    """``"4-0"`` -> ``"[4-0]"`` (the tables' row labels)."""
    return f"[{task}]"


def paper_tasks() -> list[str]:
    """Table II's tasks in the paper's order (``"4-0"`` ... ``"1-0"``, ``"all-all"``)."""
    rows = paper_table("hrg", "Table II")["row"].drop_duplicates()
    return [re.sub(r"[\[\]]", "", r) for r in rows]


#: Table I's pooling row as transcribed (its layer name is missing from the extraction)
POOLING_ROW = "Visual/Physiological Branch | (pooling row; layer name not in extraction)"


def table1_split(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`table1_rows` as ``(the cells Table I prints, the rest)``: parameters and the filters of
    the attention and fc layers (which Table I leaves empty) go to the second frame."""
    extra = (rows["metric"] == "params") | ((rows["metric"] == "filters")
                                            & rows["row"].str.endswith(("| Attention", "| fc")))
    return rows[~extra].reset_index(drop=True), rows[extra].reset_index(drop=True)


def _size(t: int, h: int, w: int, clip_len: int) -> str:
    frac = clip_len // t if t else 0
    lt = "L" if frac == 1 else f"L/{frac}"
    return f"{lt}×{h}×{w}"


def table1_rows(*, base_width: int = 64, clip_len: int = 32, size: int = 112, conv_type: str = "r2plus1d",
                attention_position: int = 5) -> pd.DataFrame:
    """Table I generated from the built network (meta device): per layer its output size (``L``
    = input frames), its filters per branch (with each (2+1)D conv's mid-width ``M_i``) and its
    parameters: ``row, column, metric, value``."""
    from ...models import get_model
    from ...models.hrg_net import HRGBlock, SpatioTemporalAttention

    with torch.device("meta"):
        net = get_model("hrg_dual", classes=5, base_width=base_width, conv_type=conv_type,
                        attention_position=attention_position)
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [m.register_forward_hook(lambda _m, _i, out, key=name: shapes.__setitem__(key, tuple(out.shape)))
             for name, m in net.named_modules() if name and name.count(".") <= 1]
    with torch.no_grad():
        net.forward_features(torch.empty((1, 3, clip_len, size, size), device="meta"))
    for h in hooks:
        h.remove()

    def filters(m) -> str:
        if isinstance(m, HRGBlock):
            if conv_type == "r2plus1d":
                return "; ".join(f"[3×3×1, {s.out_channels}; 1×1×3, {t.out_channels}]" for s, t in m.factorised_convs())
            return m.describe()
        if isinstance(m, SpatioTemporalAttention):
            return m.describe()
        return "1×1×1, " + str(m.out_channels)

    rows = []

    def add(row, key, module, columns):
        _, c, t, h, w = shapes[key]
        rows.append({"row": row, "column": "output size", "metric": "output_size", "value": _size(t, h, w, clip_len)})
        for col, mod in columns:
            rows.append({"row": row, "column": col, "metric": "filters", "value": filters(mod)})
        rows.append({"row": row, "column": "parameters", "metric": "params",
                     "value": float(sum(p.numel() for mod in {id(m): m for _, m in columns}.values()
                                        for p in mod.parameters()))})

    label = CONV_COLUMNS[conv_type]
    for name, m in net.shared_blocks.named_children():
        _, c, t, h, w = shapes[f"shared_blocks.{name}"]
        kind = "Conv3D" if name == "conv3d" else ("Attention" if name == "attention" else label)
        add(f"Shared Blocks | {kind} ({_size(t, h, w, clip_len)})" if kind != "Conv3D" else "Shared Blocks | Conv3D",
            f"shared_blocks.{name}", m, [("filters", m)])
    # branch layers: hook only the top level of each branch -> describe its parts from a shape pass
    z = torch.empty((1, 3, clip_len, size, size), device="meta")
    with torch.no_grad():
        x = net.shared_blocks(z)
        parts = [("block1", f"{label}"), ("attention", "Attention"), ("block2", f"{label}")]
        for attr, kind in parts:
            mv, mp = getattr(net.visual, attr), getattr(net.physiological, attr)
            x = mv(x)
            if not isinstance(mv, (HRGBlock, SpatioTemporalAttention)):
                continue
            _, c, t, h, w = x.shape
            key = f"branch.{attr}"
            shapes[key] = tuple(x.shape)
            add(f"Visual/Physiological Branch | {kind} ({_size(t, h, w, clip_len)})" if kind != "Attention"
                else "Visual/Physiological Branch | Attention", key, mv,
                [("filters: Visual Branch", mv), ("filters: Physiological Branch", mp)])
    rows.append({"row": POOLING_ROW, "column": "output size",
                 "metric": "output_size", "value": "1×1×1"})
    rows.append({"row": "Visual/Physiological Branch | fc", "column": "output size", "metric": "output_size",
                 "value": "1×1×1"})
    rows.append({"row": "Visual/Physiological Branch | fc", "column": "filters: Visual Branch", "metric": "filters",
                 "value": f"{net.num_features} -> K classes (P_v)"})
    rows.append({"row": "Visual/Physiological Branch | fc", "column": "filters: Physiological Branch",
                 "metric": "filters", "value": f"{net.num_features} -> 1 (HRG h)"})
    rows.append({"row": "Total", "column": "parameters", "metric": "params",
                 "value": float(sum(p.numel() for p in net.parameters()))})
    return pd.DataFrame(rows)


def per_subject_accuracy(res: Any, metric: str = "accuracy") -> pd.Series:
    """Each test subject's accuracy of a cross-validated result (the samples behind the paper's
    mean ± std over subjects and its t-tests)."""
    return res.per_subject(metric).astype(float)


def significance_rows(ours: Any, others: Mapping[str, Any], *, metric: str = "accuracy",
                      alpha: float = 0.05) -> pd.DataFrame:
    """The two-sample t-test (:func:`.stats.two_sample_ttest`) of this method's per-subject
    ``metric`` against each other method's: ``method, mean_ours, mean_other, t, p, star``."""
    a = per_subject_accuracy(ours, metric)
    rows = []
    for label, res in others.items():
        b = per_subject_accuracy(res, metric)
        t = two_sample_ttest(a.to_numpy(), b.to_numpy())
        rows.append({"method": label, "mean_ours": float(a.mean()), "mean_other": float(b.mean()),
                     "t": t["statistic"], "p": t["pvalue"], "n": int(t["n_a"]),
                     "star": star(a.to_numpy(), b.to_numpy(), alpha=alpha)})
    return pd.DataFrame(rows)


def fitted_analyzer(res: Any, fold: int = 0) -> tuple[GaussianAnalyzer, HRGScale]:
    """The analyzer (and HRG scale) fitted on a fold's training set of an :class:`HRGRecipe` result."""
    m = res.fitted(fold)
    return GaussianAnalyzer.from_state(m["analyzer"]), HRGScale(*np.asarray(m["scale"], float))


def first_clip(samples: Sequence[Any], setup: ClipSetup, *, cache_dir=None) -> tuple[torch.Tensor, np.ndarray]:
    """The first evaluation clip of ``samples[0]`` as the network reads it ``(C, T, H, W)`` and its
    frames ``(T, H, W, 3)`` uint8 (for Fig. 8)."""
    from ...experiments.clips import clip_batches

    batches = clip_batches(samples[:1], setup, train=False, device="cpu", cache_dir=cache_dir)
    batch = next(iter(batches))
    x = batch[0] if isinstance(batch, (tuple, list)) else batch["clip"]
    clip = x[0].float()
    frames = clip.permute(1, 2, 3, 0).numpy()
    lo, hi = frames.min(), frames.max()
    return clip, np.clip((frames - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8)

"""Figures of the hrg paper from this run's labels and networks: HRG histograms and Gaussians
per pain level (Figs. 10-13), the analyzer's posterior at given HRGs (Fig. 14), attention maps
over input frames (Fig. 8)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ...data.base import Sample
from ...experiments.protocols import splits
from ...experiments.targets import sample_class
from .analyzer import GaussianAnalyzer, HRGScale

__all__ = ["training_labels", "plot_histograms", "plot_gaussians", "plot_posteriors", "attention_maps",
           "attention_positions"]


def attention_positions(profile: Any) -> list[int]:
    """Figure 7's positions at a profile: every position (0-5) where the profile trains
    paper-width networks (``base_width`` >= 64), else none (0) and Table I's place (5)."""
    return list(range(6)) if profile.base_width >= 64 else [0, 5]


def training_labels(samples: Sequence[Sample], target: Any, *, cv: str, seed: int = 0,
                    fold: int = 0) -> tuple[np.ndarray, np.ndarray, HRGScale, list[str]]:
    """The training set of ``fold`` of ``cv``: its HRG labels on the [0, 1] scale of that
    training set, their pain levels, the scale, and the training subjects (the analyzer's
    inputs; the paper counts Figs. 10-13 on the training sets)."""
    chosen = target.select(samples)
    split = splits(chosen, cv, seed)[fold]
    train = [chosen[i] for i in split.train]
    raw = np.asarray(target.values(train), np.float64)
    scale = HRGScale(float(raw.min()), float(raw.max()))
    h = scale(torch.as_tensor(raw)).numpy()
    return h, np.array([sample_class(s) for s in train]), scale, sorted({s.subject for s in train})


def plot_histograms(ax, h: np.ndarray, levels: np.ndarray, *, bins: int = 12) -> None:
    """Fig. 10/11: one histogram of HRG per pain level."""
    edges = np.linspace(min(0.0, h.min()), max(1.0, h.max()), bins + 1)
    for lv in sorted(set(levels.tolist())):
        ax.hist(h[levels == lv], bins=edges, alpha=0.45, label=f"PI = {lv}", density=False)
    ax.set_xlabel("HRG (normalised to [0, 1] on the training set)")
    ax.set_ylabel("videos")
    ax.legend(fontsize=7)


def plot_gaussians(ax, analyzer: GaussianAnalyzer) -> None:
    """Fig. 12/13: the analyzer's Gaussian of each pain level."""
    x = torch.linspace(-0.2, 1.2, 281)
    lik = analyzer.likelihood(x).numpy()
    for i in range(analyzer.n_levels):
        ax.plot(x.numpy(), lik[:, i], label=f"PI = {i}  (µ {analyzer.mu[i]:.2f}, σ {analyzer.sigma[i]:.2f})")
    ax.set_xlabel("HRG (normalised)")
    ax.set_ylabel("Pr(H = h | PI)")
    ax.legend(fontsize=7)


def plot_posteriors(ax, analyzer: GaussianAnalyzer, values: Sequence[float] = (0.2, 0.8)) -> np.ndarray:
    """Fig. 14: ``P_h`` of every level (Eq. 4) at each HRG of ``values``; returns ``(len(values), K)``."""
    post = analyzer.posterior(torch.tensor(list(values), dtype=torch.float32)).numpy()
    k = analyzer.n_levels
    width = 0.8 / len(values)
    for j, v in enumerate(values):
        ax.bar(np.arange(k) + (j - (len(values) - 1) / 2) * width, post[j], width, label=f"HRG = {v}")
    ax.set_xticks(range(k))
    ax.set_xlabel("pain intensity PI")
    ax.set_ylabel("P_h(PI | H = h)")
    ax.legend(fontsize=7)
    return post


def attention_maps(net: torch.nn.Module, clip: torch.Tensor) -> dict[str, np.ndarray]:
    """The attention maps of one clip ``(C, T, H, W)`` (float, as the network reads it) scaled to
    the input's ``T × H × W``: ``{"visual": (T, H, W), "physiological": ...}`` (or ``"shared"``)."""
    net.eval()
    with torch.no_grad():
        net(clip[None])
    out = {}
    for name, m in net.attention_modules().items():
        a = F.interpolate(m.last_map, size=tuple(clip.shape[1:]), mode="trilinear", align_corners=False)
        out[name] = a[0, 0].numpy()
    return out

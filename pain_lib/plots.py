"""Figures every paper's notebooks draw: this run next to the paper, grouped bars, learning curves.

Each function takes a side-by-side table (:meth:`pain_lib.notebook.Run.save_table`) or a
:class:`~pain_lib.experiments.CVResult` and returns the matplotlib axes it drew on, with
labelled axes; error bars are this run's 90 % noise band when the table has one (``lo``,
``hi``), else the spread over folds (``std``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_vs_paper", "grouped_bars", "learning_curves", "error_bars", "series", "baseline_lines",
           "configurations"]


def error_bars(g: pd.DataFrame) -> Any:
    """``yerr`` for matplotlib: the band ``[value - lo, hi - value]`` when present, else ``std``."""
    v = pd.to_numeric(g["value"], errors="coerce")
    if {"lo", "hi"} <= set(g.columns) and pd.to_numeric(g["lo"], errors="coerce").notna().any():
        lo, hi = pd.to_numeric(g["lo"], errors="coerce"), pd.to_numeric(g["hi"], errors="coerce")
        return np.vstack([(v - lo).clip(lower=0).to_numpy(), (hi - v).clip(lower=0).to_numpy()])
    return pd.to_numeric(g.get("std", pd.Series(np.nan, index=g.index)), errors="coerce").to_numpy()


def _first(g: pd.DataFrame, col: str) -> str:
    return str(g[col].dropna().iloc[0]) if col in g and g[col].notna().any() else ""


def _baseline_mask(table: pd.DataFrame) -> pd.Series:
    """Which rows of ``table`` are baselines (``baseline`` True, from ``run_grid``)."""
    if "baseline" not in table:
        return pd.Series(False, index=table.index)
    return table["baseline"].astype("boolean").fillna(False).astype(bool)


def _is_baseline(g: pd.DataFrame) -> bool:
    return bool(_baseline_mask(g).any())


def _short(row: str) -> str:
    """A baseline's row label without its description (``Trivial baseline: ...`` -> ``Trivial baseline``)."""
    return row.split(":", 1)[0] if "baseline" in row.lower() else row


def configurations(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table`` that are configurations, not baselines."""
    return table[~_baseline_mask(table)]


def baseline_lines(table: pd.DataFrame, *, ax) -> None:
    """Each baseline of ``table`` (its rows with ``baseline`` True) as a grey horizontal line at
    its value (a baseline is computed once per dataset and target, so every column has the same)."""
    for row, g in table[_baseline_mask(table)].groupby("row", sort=False):
        v = pd.to_numeric(g["value"], errors="coerce")
        if v.notna().any():
            ax.axhline(float(v.mean()), ls=":" if row.startswith("Trivial") else "-.", color="0.45", lw=1,
                       label=_short(row))


def series(table: pd.DataFrame, x: Any, *, ax, label: str = "this run"):
    """The configurations of ``table`` (its non-baseline rows, one per ``x``) as one line with
    noise-band error bars, and each baseline (``baseline`` True; one row per ``x`` as well) as a
    grey line."""
    nets = configurations(table)
    ax.errorbar(x, pd.to_numeric(nets["value"], errors="coerce"), yerr=error_bars(nets), marker="o", capsize=3,
                label=label)
    baseline_lines(table, ax=ax)
    return ax


def plot_vs_paper(table: pd.DataFrame, *, ax=None, xlabel: str = "", ylabel: str = "", title: str = ""):
    """This run's values (solid, with noise-band error bars) next to the paper's (dashed) for each
    table row, over the table's columns; baseline rows (``baseline`` True) as grey dotted lines."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    cols = list(dict.fromkeys(table["column"]))
    x = np.arange(len(cols))
    nets = 0
    for row, g in table.groupby("row", sort=False):
        if _is_baseline(g):
            v = pd.to_numeric(g.set_index("column").reindex(cols)["value"], errors="coerce")
            style = {"ls": ":" if row.startswith("Trivial") else "-.", "color": "0.45", "label": f"{_short(row)} (this run)"}
            if v.dropna().nunique() == 1:  # one value for every column (the usual case): a line across the panel
                ax.axhline(float(v.dropna().iloc[0]), lw=1, **style)
            elif v.notna().any():
                ax.plot(x, v, marker="x", **style)
            continue
        g = g.set_index("column").reindex(cols)
        colour = f"C{nets}"
        nets += 1
        run_v = pd.to_numeric(g["value"], errors="coerce")
        if run_v.notna().any():
            ax.errorbar(x, run_v, yerr=error_bars(g), marker="o", color=colour, capsize=3,
                        label=f"{row} (this run, {_first(g, 'dataset')})")
        paper_v = pd.to_numeric(g["paper_value"], errors="coerce")
        if paper_v.notna().any():
            ax.plot(x, paper_v, ls="--", marker="s", mfc="none", color=colour, alpha=0.7,
                    label=f"{row} (paper, {_first(g, 'paper_dataset')})")
    ax.set_xticks(x)
    ax.set_xticklabels([c.split("=", 1)[-1].strip() for c in cols], rotation=30 if len(cols) > 6 else 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="best")
    return ax


def grouped_bars(table: pd.DataFrame, value: str = "value", *, ax=None, xlabel: str = "", ylabel: str = ""):
    """Bars of ``value`` per table row (x) and column (colour), with the band as error bars for
    this run's values; NaN cells are left empty."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    rows = list(dict.fromkeys(table["row"]))
    cols = list(dict.fromkeys(table["column"]))
    width = 0.8 / max(1, len(cols))
    for j, col in enumerate(cols):
        sub = table[table["column"] == col].set_index("row").reindex(rows)
        v = pd.to_numeric(sub[value], errors="coerce").to_numpy()
        yerr = error_bars(sub) if value == "value" else None
        ax.bar(np.arange(len(rows)) + (j - (len(cols) - 1) / 2) * width, v, width, label=col, yerr=yerr, capsize=2)
    ax.set_xticks(np.arange(len(rows)))
    ax.set_xticklabels([_short(r) for r in rows])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return ax


def learning_curves(results: Mapping[Any, Any], *, ax=None, title: str = "learning curves"):
    """Training (solid) and validation (dashed) loss per epoch of every fold of each result
    (``label -> CVResult``); a marker shows the epoch whose weights were kept."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    for i, (label, res) in enumerate(results.items()):
        curves = res.learning_curves()
        for k, (_fold, h) in enumerate(curves.groupby("fold", sort=False)):
            name = label if k == 0 else None
            ax.plot(h["epoch"], h["train_loss"], color=f"C{i}", lw=1, label=f"{name} (train)" if name else None)
            if "val_loss" in h and h["val_loss"].notna().any():
                ax.plot(h["epoch"], h["val_loss"], color=f"C{i}", lw=1, ls="--",
                        label=f"{name} (validation)" if name else None)
                b = int(h["val_loss"].idxmin())
                ax.plot(h.loc[b, "epoch"], h.loc[b, "val_loss"], "o", color=f"C{i}", ms=4)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (standardised units)")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return ax

"""The result plots draw what the tables hold: baselines visible beside the networks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pain_lib import plots  # noqa: E402


def _table(base_values):
    cols = ["Network size = 26", "Network size = 39"]
    rows = [{"row": "SCN", "column": c, "value": v, "lo": v - 2, "hi": v + 2, "paper_value": 90.0,
             "baseline": False, "dataset": "synth-unbc", "paper_dataset": "UNBC-McMaster"}
            for c, v in zip(cols, (80.0, np.nan))]
    rows += [{"row": "Trivial baseline: training-fold mean / majority class (not in the paper)", "column": c,
              "value": v, "lo": v, "hi": v, "paper_value": np.nan, "baseline": True, "dataset": "synth-unbc",
              "paper_dataset": ""} for c, v in zip(cols, base_values)]
    return pd.DataFrame(rows)


def _baseline_lines(ax):
    return [ln for ln in ax.get_lines() if ln.get_label().startswith("Trivial")]


def test_a_baseline_computed_in_one_column_is_a_line_across_the_panel():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    plots.plot_vs_paper(_table([50.0, np.nan]), ax=ax)  # the second column was not run
    (line,) = _baseline_lines(ax)
    assert list(line.get_ydata()) == [50.0, 50.0] and list(line.get_xdata()) == [0, 1]  # axes-wide
    plt.close("all")


def test_a_baseline_that_differs_by_column_follows_the_columns():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    plots.plot_vs_paper(_table([50.0, 60.0]), ax=ax)
    (line,) = _baseline_lines(ax)
    assert list(line.get_ydata()) == [50.0, 60.0] and line.get_marker() == "x"
    plt.close("all")

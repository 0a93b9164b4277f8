"""Paper ``scn`` (Tavakolian & Hadid, IJCV 2019): the experiment grid of its tables.

The sweep values are read from the transcribed tables themselves (``paper_tables/scn.csv``)
so the rows this library computes carry exactly the paper's labels. Profiles shrink the
sweeps (``tiny`` keeps two values of each, to show a trend in seconds); the ``paper``
profile runs them whole.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..config import Profile
from ..report import paper_table

__all__ = [
    "depth_label",
    "paper_depths",
    "kernel_grid",
    "reduce_sweep",
    "scaled_resolution",
    "auc_table",
    "model_label",
    "MODEL_OF_LABEL",
]

#: row label in the paper -> registered model name
MODEL_OF_LABEL = {"Res3D": "res3d", "SCN": "scn", "VGG3D": "vgg3d", "Inception3D": "inception3d", "C3D": "c3d"}


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


def reduce_sweep(values: Sequence[Any], profile: Profile, *, keep: int = 2) -> list[Any]:
    """All values for ``standard``/``paper``; for ``tiny`` the first and last ``keep``."""
    values = list(values)
    if profile.name != "tiny" or len(values) <= keep:
        return values
    idx = np.unique(np.linspace(0, len(values) - 1, keep).round().astype(int))
    return [values[i] for i in idx]


def scaled_resolution(paper_px: int, profile: Profile) -> int:
    """A paper input resolution scaled to the profile (paper 112 -> ``profile.image_size``)."""
    return max(16, int(round(paper_px * profile.image_size / 112 / 8)) * 8)


def auc_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Long results (row, column, value=AUC fraction, std, n) with AUC in % like the paper."""
    df = pd.DataFrame(rows)
    df["value"] = df["value"] * 100
    if "std" in df:
        df["std"] = df["std"] * 100
    df["metric"] = "AUC"
    df["unit"] = "%"
    return df


def sweep_depth(profile: Profile, network_size: int | None) -> int:
    """The network size of the sweeps after Table 1: the paper's 101, or 26 on the CPU
    profiles (tiny/standard) unless the notebook parameter says otherwise (0 or None: default)."""
    if network_size:
        return network_size
    return 101 if profile.name == "paper" else 26


def wins(table: pd.DataFrame, better: str, worse: str) -> str:
    """How often row ``better`` beats row ``worse`` over the shared columns, in this run and in
    the paper (higher is better), as a sentence computed from the side-by-side table."""
    def count(col: str) -> tuple[int, int]:
        w = table.pivot_table(index="column", columns="row", values=col, aggfunc="first")
        if better not in w or worse not in w:
            return 0, 0
        w = w[[better, worse]].apply(pd.to_numeric, errors="coerce").dropna()
        return int((w[better] > w[worse]).sum()), len(w)

    rw, rn = count("value")
    pw, pn = count("paper_value")
    return f"{better} above {worse} in {rw} of {rn} settings in this run; in the paper: {pw} of {pn}."


def percent(table: pd.DataFrame, metric: str = "AUC") -> pd.DataFrame:
    """Rows of ``metric`` from :func:`pain_lib.experiments.run_grid`, fractions -> % (paper units)."""
    out = table[table["metric"] == metric].copy()
    out["value"] = out["value"] * 100
    out["std"] = out["std"] * 100
    out["unit"] = "%"
    return out.reset_index(drop=True)


def table3_rows(depths: Sequence[int], *, input_shape: Sequence[int] = (3, 32, 112, 112), **cfg: Any) -> pd.DataFrame:
    """Table 3 generated from the built SCN (meta device): per stage its spatial output, block
    structure and, per network size, the number of blocks -- in the paper's row/column labels."""
    from ..models import describe_architecture

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


def plot_vs_paper(table: pd.DataFrame, *, ax=None, xlabel: str = "", ylabel: str = "", title: str = ""):
    """This run's values (solid, ± std bars) next to the paper's (dashed) for each table row,
    over the table's columns (a side-by-side table written by ``run.save_table``)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    cols = list(dict.fromkeys(table["column"]))
    x = np.arange(len(cols))
    for i, (row, g) in enumerate(table.groupby("row", sort=False)):
        g = g.set_index("column").reindex(cols)
        colour = f"C{i}"
        run_v = pd.to_numeric(g["value"], errors="coerce")
        if run_v.notna().any():
            ax.errorbar(x, run_v, yerr=pd.to_numeric(g["std"], errors="coerce"), marker="o", color=colour,
                        capsize=3, label=f"{row} (this run, {g['dataset'].dropna().iloc[0] if g['dataset'].notna().any() else ''})")
        paper_v = pd.to_numeric(g["paper_value"], errors="coerce")
        if paper_v.notna().any():
            ax.plot(x, paper_v, ls="--", marker="s", mfc="none", color=colour, alpha=0.7,
                    label=f"{row} (paper, {g['paper_dataset'].dropna().iloc[0] if g['paper_dataset'].notna().any() else ''})")
    ax.set_xticks(x)
    ax.set_xticklabels([c.split("=", 1)[-1].strip() for c in cols], rotation=30 if len(cols) > 6 else 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="best")
    return ax


# --------------------------------------------------------------------------- notebook helpers
def face_images(samples: Sequence[Any], *, size: int, cache_dir: Any = None, every: int = 4) -> tuple[np.ndarray, list[str]]:
    """Face crops ``(N, size, size, 3)`` uint8 of every ``every``-th frame, and their subjects
    (identities), for pre-training the 2D network on face identity."""
    from ..data.clips import ClipDataset

    ds = ClipDataset(list(samples), mode="center", clip_len=1, size=size, target="none", cache_dir=cache_dir)
    images, ids = [], []
    for si, s in enumerate(ds.samples):
        faces = ds.faces(si)[::every]
        images.append(faces)
        ids += [s.subject] * len(faces)
    return np.concatenate(images), ids


def face_backbone(samples: Sequence[Any], *, setup: Any, run: Any, name: str = "resnet18") -> tuple[Any, dict]:
    """The frozen 2D network of the knowledge transfer, with its provenance.

    Torchvision weights from the local cache when present (never downloaded); otherwise the
    network is trained on face identity over ``samples``' subjects (saved in ``run.cache_dir``
    so later notebooks reuse it).
    """
    import torch

    from ..models import load_2d_backbone, pretrain_2d_identity

    backbone, prov = load_2d_backbone(name, weights="auto")
    if prov.get("source") != "random-init":
        return backbone, prov
    path = run.cache_dir / f"face-identity-{name}-{setup.size}px-seed{run.seed}.pt"
    if path.exists():
        backbone.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return backbone, {**prov, "source": "face identity on the synthetic subjects (cached)", "file": str(path)}
    images, ids = face_images(samples, size=setup.size, cache_dir=run.cache_dir)
    info = pretrain_2d_identity(backbone, images, ids, epochs=max(2, run.profile.epochs), device=run.device,
                                seed=run.seed, progress=False, dataset=f"{run.dataset} faces")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(backbone.state_dict(), path)
    return backbone, {**prov, **info}


def timing_rows(samples: Sequence[Any], depths: Sequence[int], *, setup: Any, run: Any, backbone: Any) -> pd.DataFrame:
    """Table 9's seconds for SCN and Res3D at each depth, measured on one subject-grouped fold.

    * Train without transfer: the wall-clock seconds of training from scratch for the
      profile's epochs (the first fold of the configuration in the experiment store: Table 1
      trains the same networks, so this reads the seconds measured then).
    * Train with transfer: fine-tuning from transferred weights until the training loss
      reaches the from-scratch model's final loss (all epochs if it never does).
    * Test: seconds to estimate one query video (sliding clips over a test sequence).
    """
    import time

    from ..data.splits import make_splits
    from ..experiments import (
        centre_pspi,
        clip_dataset,
        head_config,
        run_grid,
        stored_fold_model,
        to_memory_format,
        train_clip_model,
        transfer_pretrain,
    )
    from ..train import make_loader, predict

    split = make_splits(samples, run.profile.cv, run.seed)[0]
    train = [samples[i] for i in split.train]
    test = [samples[i] for i in split.test]
    rows = []
    for label, name in (("SCN", "scn"), ("Res3D", "res3d")):
        for d in depths:
            cfg = {"depth": d, "base_width": run.profile.base_width}
            _, res = run_grid(samples, [{"row": label, "column": d, "model": name, "cfg": cfg}], setup=setup,
                              run=run, max_folds=1, progress=False)
            scratch = res[(label, d)].folds.iloc[0]
            net = stored_fold_model(res[(label, d)])
            state, pretext = transfer_pretrain(name, cfg, train, setup=setup, backbone=backbone,
                                               epochs=max(1, setup.epochs), seed=run.seed, device=run.device,
                                               cache_dir=run.cache_dir)
            _, tuned = train_clip_model(train, model=name, cfg={**cfg, **head_config("pspi")}, setup=setup,
                                        seed=run.seed, device=run.device, cache_dir=run.cache_dir, init_state=state)
            reached = np.flatnonzero(tuned["train_loss"].to_numpy() <= float(scratch["final_train_loss"]))
            upto = int(reached[0]) + 1 if len(reached) else len(tuned)
            ds = clip_dataset(test, setup, mode="sliding", target=centre_pspi, cache_dir=run.cache_dir)
            net = to_memory_format(net, setup)
            predict(net, make_loader(ds, batch_size=8), run.device)  # warm-up (face crops cached)
            t0 = time.perf_counter()
            predict(net, make_loader(ds, batch_size=8), run.device)
            per_video = (time.perf_counter() - t0) / max(1, len(test))
            row = f"{label} | {d} layers"
            rows += [
                {"row": row, "column": "Train: Without transfer learning", "metric": "seconds",
                 "value": float(scratch["train_s"]), "unit": "s"},
                {"row": row, "column": "Train: With transfer learning", "metric": "seconds",
                 "value": float(tuned["seconds"].iloc[:upto].sum()), "unit": "s"},
                {"row": row, "column": "Test", "metric": "seconds", "value": per_video, "unit": "s"},
                {"row": row, "column": "Transfer pretext (not in the paper)", "metric": "seconds",
                 "value": float(pretext["seconds"].sum()), "unit": "s"},
            ]
    return pd.DataFrame(rows)


def trace_models(samples: Sequence[Any], models: dict[str, tuple[str, dict]], *, setup: Any, run: Any):
    """The first fold's networks of each ``label -> (model, cfg)`` (trained, or read from the
    experiment store when another table already trained them, e.g. Table 7's SCN and Res3D),
    and the indices of that fold's held-out samples."""
    from ..data.splits import make_splits
    from ..experiments import run_grid, stored_fold_model

    grid = [{"row": label, "column": "trace", "model": name, "cfg": {**cfg, "base_width": run.profile.base_width}}
            for label, (name, cfg) in models.items()]
    _, results = run_grid(samples, grid, setup=setup, run=run, max_folds=1, progress=False)
    nets = {label: stored_fold_model(results[(label, "trace")]) for label in models}
    split = make_splits(samples, run.profile.cv, run.seed)[0]
    return nets, list(split.test)


SPEEDS = ("slow", "medium", "sudden")


def pick_by_speed(samples: Sequence[Any]) -> dict[str, Any]:
    """One sequence per expression speed with the most pain (simulator ground truth); without
    that truth (real data), sequences ranked by their largest frame-to-frame PSPI change."""
    from ..data.labels import frame_pspi

    def peak(s):
        return float(frame_pspi(s).max())

    truth_speed = {}
    for s in samples:
        truth = s.meta.get("truth")
        speed = truth.get("speed") if truth is not None and hasattr(truth, "get") else None
        if speed is not None:
            truth_speed.setdefault(str(speed), []).append(s)
    if truth_speed:
        return {sp: max(truth_speed[sp], key=peak) for sp in SPEEDS if sp in truth_speed}
    ranked = sorted(samples, key=lambda s: float(np.abs(np.diff(frame_pspi(s))).max(initial=0)))
    picks = [ranked[0], ranked[len(ranked) // 2], ranked[-1]] if len(ranked) >= 3 else ranked
    return dict(zip(SPEEDS, picks))


def best(table: pd.DataFrame, label: str = "column", value: str = "value") -> str:
    """The ``label`` of the highest ``value`` (as text), or a note when no value is finite
    (e.g. a tiny fold whose test subjects never show pain, where AUC is undefined)."""
    v = pd.to_numeric(table[value], errors="coerce")
    if not v.notna().any():
        return "n/a (no finite value in this run)"
    return str(table.loc[v.idxmax(), label])


def grouped_bars(table: pd.DataFrame, value: str = "value", *, ax=None):
    """Bars of ``value`` per table row (x) and column (colour); NaN cells are left empty."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    rows = list(dict.fromkeys(table["row"]))
    cols = list(dict.fromkeys(table["column"]))
    width = 0.8 / max(1, len(cols))
    for j, col in enumerate(cols):
        sub = table[table["column"] == col].set_index("row").reindex(rows)
        v = pd.to_numeric(sub[value], errors="coerce").to_numpy()
        ax.bar(np.arange(len(rows)) + (j - (len(cols) - 1) / 2) * width, v, width, label=col)
    ax.set_xticks(np.arange(len(rows)))
    ax.set_xticklabels(rows)
    ax.legend(fontsize=8)
    return ax

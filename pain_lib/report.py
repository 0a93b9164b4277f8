"""The papers' printed numbers, side-by-side tables, figure style and results files.

The transcribed tables live in ``pain_lib/paper_tables/<slug>.csv`` (one row per printed
cell: ``paper, artifact, dataset, row, column, metric, value, std, unit, note``) and the
catalogue of every table and figure in ``artifacts.csv``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .io import atomic_write_text

__all__ = [
    "claim",
    "VERDICTS",
    "NOT_RUN",
    "not_run",
    "claims_table",
    "verdict_best",
    "verdict_better",
    "wins",
    "best",
    "percent",
    "reduce_sweep",
    "PAPERS",
    "artifact_slug",
    "artifacts",
    "paper_table",
    "paper_value",
    "side_by_side",
    "format_mean_std",
    "to_markdown",
    "write_index",
    "artifact_status",
]

PAPERS = ("hrg", "scn", "binary", "ahdi", "ssd")


_TABLE_COLUMNS = ["paper", "artifact", "dataset", "row", "column", "metric", "value", "std", "unit", "note"]


# --------------------------------------------------------------------------- paper values
def _tables_dir():
    return resources.files("pain_lib") / "paper_tables"


@functools.cache
def _load_paper(paper: str) -> pd.DataFrame:
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; papers: {', '.join(PAPERS)}")
    with (_tables_dir() / f"{paper}.csv").open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    missing = set(_TABLE_COLUMNS) - set(df.columns)
    if missing:  # pragma: no cover - guards the shipped data
        raise ValueError(f"paper table {paper}.csv lacks columns {sorted(missing)}")
    return df


@functools.lru_cache(maxsize=1)
def artifacts() -> pd.DataFrame:
    """The catalogue of every table and figure of the five papers (69 rows)."""
    with (_tables_dir() / "artifacts.csv").open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    df["slug"] = df["artifact"].map(artifact_slug)
    return df


def artifact_slug(artifact: str) -> str:
    """File-name form of an artifact label: ``"Table II"`` -> ``"table-ii"``."""
    slug = re.sub(r"[^a-z0-9]+", "-", artifact.strip().lower()).strip("-")
    if not slug:
        raise ValueError(f"cannot make a file name from artifact {artifact!r}")
    return slug


def _to_float(text: str) -> float:
    text = (text or "").replace(",", "").strip()
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return math.nan


def paper_table(
    paper: str,
    artifact: str | None = None,
    *,
    dataset: str | None = None,
    numeric: bool = True,
) -> pd.DataFrame:
    """The transcribed cells of one paper, optionally of one artifact and one dataset.

    With ``numeric=True`` the ``value`` and ``std`` columns are floats (NaN where the paper
    printed N/A or a configuration string); the printed text stays in ``value_text``.
    """
    df = _load_paper(paper)
    if artifact is not None:
        known = df["artifact"].unique().tolist()
        if artifact not in known:
            raise KeyError(
                f"paper {paper!r} has no transcribed values for {artifact!r}; "
                f"artifacts with values: {', '.join(known)}"
            )
        df = df[df["artifact"] == artifact]
    if dataset is not None:
        df = df[df["dataset"] == dataset]
    df = df.copy()
    if numeric:
        df["value_text"] = df["value"]
        df["value"] = df["value"].map(_to_float)
        df["std"] = df["std"].map(_to_float)
    return df.reset_index(drop=True)


def paper_value(
    paper: str,
    artifact: str,
    row: str,
    column: str,
    dataset: str | None = None,
    *,
    metric: str | None = None,
) -> float:
    """One printed number, looked up by (paper, artifact, row, column, dataset).

    Raises ``KeyError`` naming the near matches when the cell does not exist or is ambiguous.
    """
    df = paper_table(paper, artifact)
    sel = (df["row"] == row) & (df["column"] == column)
    if dataset is not None:
        sel &= df["dataset"] == dataset
    if metric is not None:
        sel &= df["metric"] == metric
    hit = df[sel]
    if len(hit) == 1:
        return float(hit["value"].iloc[0])
    if hit.empty:
        rows = sorted(df["row"].unique())[:12]
        cols = sorted(df["column"].unique())[:12]
        raise KeyError(
            f"no cell ({row!r}, {column!r}, dataset={dataset!r}) in {paper} {artifact}; "
            f"rows include {rows}; columns include {cols}"
        )
    raise KeyError(
        f"{len(hit)} cells match ({row!r}, {column!r}) in {paper} {artifact}; "
        f"pass dataset= or metric= (datasets: {sorted(hit['dataset'].unique())}, "
        f"metrics: {sorted(hit['metric'].unique())})"
    )


# --------------------------------------------------------------------------- tables
def format_mean_std(value: float, std: float | None = None, *, digits: int = 2) -> str:
    """``0.123, 0.01`` -> ``"0.12 ± 0.01"``; NaN -> ``"–"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:.{digits}f}"
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        text += f" ± {std:.{digits}f}"
    return text


def side_by_side(
    results: pd.DataFrame,
    *,
    paper: str,
    artifact: str,
    run_dataset: str,
    paper_dataset: str | None,
) -> pd.DataFrame:
    """Join this run's numbers with the paper's printed numbers of the same cells.

    ``results`` is long format with columns ``row, column, value`` and optionally ``metric``,
    ``std``, ``n`` (folds), ``unit``, ``dataset`` (defaults to ``run_dataset``). Cells are
    matched on (row, column[, metric]) within the paper's ``paper_dataset`` (or any dataset
    when that is None or the artifact has no dataset column). A table spanning several
    datasets gives each result row its own ``paper_dataset`` column, which joins too. Paper cells this run did not
    compute are kept, with an empty run value, so the table shows what is still missing.

    ``lo`` and ``hi`` (optional) are this run's noise band (a bootstrap interval over test
    subjects, :func:`pain_lib.experiments.run_grid`).

    Returns the tidy table: ``paper, artifact, row, column, metric, unit, paper_dataset,
    paper_value, paper_std, paper_note, dataset, value, std, lo, hi, n``.
    """
    required = {"row", "column", "value"}
    missing = required - set(results.columns)
    if missing:
        raise ValueError(f"results table lacks columns {sorted(missing)}; it needs row, column, value")
    res = results.copy()
    for col, default in (("metric", ""), ("std", math.nan), ("lo", math.nan), ("hi", math.nan), ("n", math.nan),
                         ("unit", ""), ("dataset", run_dataset)):
        if col not in res.columns:
            res[col] = default
    res["row"] = res["row"].astype(str)
    res["column"] = res["column"].astype(str)
    res["metric"] = res["metric"].fillna("").astype(str)
    res["_pos"] = range(len(res))

    try:
        ref = paper_table(paper, artifact)
    except KeyError:
        ref = pd.DataFrame(columns=_TABLE_COLUMNS + ["value_text"])
    per_row_dataset = "paper_dataset" in res.columns
    if per_row_dataset:
        res["paper_dataset"] = res["paper_dataset"].fillna("").astype(str)
    elif paper_dataset is not None and not ref.empty and (ref["dataset"] == paper_dataset).any():
        ref = ref[(ref["dataset"] == paper_dataset) | (ref["dataset"] == "")]
    ref = ref.rename(
        columns={"value": "paper_value", "std": "paper_std", "note": "paper_note", "dataset": "paper_dataset"}
    )
    ref = ref[["row", "column", "metric", "unit", "paper_dataset", "paper_value", "paper_std", "paper_note", "value_text"]]
    ref = ref.assign(_ppos=range(len(ref)))

    keys = ["row", "column"] + (["paper_dataset"] if per_row_dataset else [])
    use_metric = bool((res["metric"] != "").any())
    if use_metric:
        keys.append("metric")
    ref_keyed = ref.drop_duplicates(subset=keys, keep="first")
    merged = res.merge(ref_keyed, on=keys, how="outer", suffixes=("", "_paper"), indicator=True)
    if "metric_paper" in merged.columns:
        merged["metric"] = merged["metric"].where(merged["metric"].astype(str) != "", merged["metric_paper"])
    if "unit_paper" in merged.columns:
        merged["unit"] = merged["unit"].where(merged["unit"].astype(str).str.len() > 0, merged["unit_paper"])
    merged["paper"] = paper
    merged["artifact"] = artifact
    merged["dataset"] = merged["dataset"].fillna("")
    # Non-numeric paper cells (architecture strings) keep their printed text.
    merged["paper_value"] = merged.apply(
        lambda r: r["paper_value"]
        if isinstance(r["paper_value"], float) and not math.isnan(r["paper_value"])
        else (r["value_text"] if isinstance(r.get("value_text"), str) and r["value_text"] else math.nan),
        axis=1,
    )
    # Keep the run's row order, then the paper's cells this run did not compute.
    merged["_order"] = merged["_merge"].map({"both": 0, "left_only": 0, "right_only": 1})
    cols = [
        "paper", "artifact", "row", "column", "metric", "unit", "paper_dataset", "paper_value",
        "paper_std", "paper_note", "dataset", "value", "std", "lo", "hi", "n",
    ] + [c for c in ("learned", "baseline", "run_note") if c in merged.columns]  # from run_grid: kept
    merged["_pos"] = merged["_pos"].fillna(merged["_ppos"])
    out = merged.sort_values(["_order", "_pos"], kind="stable")[cols].reset_index(drop=True)
    out["paper_dataset"] = out["paper_dataset"].fillna("")
    out["paper_note"] = out["paper_note"].fillna("")
    out["unit"] = out["unit"].fillna("")
    return out


def _cell(value: Any, std: Any = None, digits: int = 4) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(std, float) and not math.isnan(std):
        return f"{value:.{digits}g} ± {std:.{digits}g}"
    return f"{value:.{digits}g}"


def _md(text: Any) -> str:
    """A Markdown table cell: ``|`` inside a label would start a new column."""
    return str(text).replace("|", "\\|")


def to_markdown(table: pd.DataFrame, *, title: str = "", caption: str = "") -> str:
    """Readable Markdown of a side-by-side table: paper value next to this run's value (with its
    noise band ``[lo, hi]`` when the table has one)."""
    lines = []
    if title:
        lines += [f"### {title}", ""]
    if caption:
        lines += [caption, ""]
    header = ["row", "column", "metric", "paper (dataset)", "this run ± std over folds [90 % band] (dataset)", "folds"]
    flags = "learned" in table
    if flags:
        header.append("learned (band excludes the trivial baseline)")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for _, r in table.iterrows():
        pd_name = r.get("paper_dataset", "") or "–"
        paper_cell = _cell(r.get("paper_value"), r.get("paper_std"))
        if r.get("paper_note"):
            paper_cell += f" {r['paper_note']}" if len(str(r["paper_note"])) <= 3 else ""
        run_ds = r.get("dataset", "") or "–"
        run_cell = _cell(r.get("value"), r.get("std"))
        note = r.get("run_note")
        if run_cell == "–" and isinstance(note, str) and note:
            run_cell, run_ds = note, "–"  # a cell this profile shows without computing it
        lo, hi = r.get("lo"), r.get("hi")
        if isinstance(lo, float) and isinstance(hi, float) and not (math.isnan(lo) or math.isnan(hi)):
            run_cell += f" [{lo:.4g}, {hi:.4g}]"
        n = r.get("n")
        n_text = "" if n is None or (isinstance(n, float) and math.isnan(n)) else str(int(n))
        unit = f" {r['unit']}" if r.get("unit") else ""
        flag = ""
        if flags:
            v = r.get("learned")
            flag = " yes |" if v is True or v == "True" else (" **no** |" if v is False or v == "False" else " – |")
        lines.append(
            f"| {_md(r['row'])} | {_md(r['column'])} | {_md(r.get('metric', ''))}{unit} | {_md(paper_cell)} "
            f"({_md(pd_name)}) | {_md(run_cell)} ({_md(run_ds)}) | {n_text} |{flag}"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- results index
def artifact_status(
    results_dir: Path,
    registry_artifacts: dict[tuple[str, str], str],
    diagrams: Iterable[tuple[str, str]] = (),
) -> pd.DataFrame:
    """Status of every artifact of ``artifacts.csv`` as found under ``results_dir``.

    ``registry_artifacts`` maps (paper, artifact) -> notebook id for the artifacts some
    registered notebook regenerates. Status is ``regenerated`` (provenance JSON present and
    successful), ``failed`` / ``interrupted`` (the last run of its notebook failed / was
    stopped with Ctrl-C), ``unrecorded`` (its provenance names a run that ``runs.jsonl`` does
    not hold as successful), ``damaged`` (a provenance file that does not parse), ``diagram-only`` (an
    architecture or pipeline drawing no notebook regenerates, listed in the registry's
    ``diagrams``) or ``not yet``.
    """
    from .config import PROFILES

    results_dir = Path(results_dir)
    diagrams = set(diagrams)
    unfinished, ok_runs = _read_runs(results_dir / "runs.jsonl")
    #: results of other profiles kept beside the main ones, e.g. results/full/ from a GPU
    others = [d for d in sorted(results_dir.iterdir()) if d.is_dir() and d.name in PROFILES] if results_dir.is_dir() else []
    rows = []
    for _, a in artifacts().iterrows():
        paper, artifact, slug = a["paper"], a["artifact"], a["slug"]
        provs = sorted((results_dir / paper).glob(f"{slug}.json")) + sorted(
            (results_dir / paper).glob(f"{slug}-*.json")
        )
        nb = registry_artifacts.get((paper, artifact), "")
        status, profile, dataset, link = "not yet", "", "", ""
        if provs:
            records = [_read_provenance(p) for p in provs]
            prov = records[0] or {}
            status = "regenerated"
            if any(r is None for r in records):
                status = "damaged"  # a provenance file that does not parse
            elif any(r.get("run_id") and r["run_id"] not in ok_runs for r in records):
                status = "unrecorded"  # written by a run that runs.jsonl does not hold as ok
            profile = prov.get("profile", "")
            dataset = ", ".join(sorted({(r or {}).get("dataset", "") for r in records}))
            files = sorted(
                p.name for pattern in (f"{slug}.*", f"{slug}-*") for p in (results_dir / paper).glob(pattern)
                if p.suffix in {".md", ".png"}
            )
            link = " ".join(f"[{f}]({paper}/{f})" for f in files)
        also = []
        for d in others:
            found = sorted((d / paper).glob(f"{slug}.md")) + sorted((d / paper).glob(f"{slug}.png"))
            if found:
                also.append(f"[{d.name}]({d.name}/{paper}/{found[0].name})")
        if nb and nb in unfinished:
            status = unfinished[nb]
        elif not provs and (paper, artifact) in diagrams:
            status = "diagram-only"
        rows.append(
            {
                "paper": paper,
                "artifact": artifact,
                "kind": a["kind"],
                "title": a["title"],
                "status": status,
                "notebook": nb,
                "profile": profile,
                "dataset": dataset,
                "files": link,
                "other profiles": " ".join(also),
            }
        )
    return pd.DataFrame(rows)


def _read_provenance(path: Path) -> dict | None:
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def run_records(runs_jsonl: Path) -> list[dict]:
    """The records of ``results/runs.jsonl`` in order; a missing or unreadable file is empty and
    a line that does not parse (a cut-off write of an old runner) is skipped."""
    path = Path(runs_jsonl)
    try:
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


def _read_runs(runs_jsonl: Path) -> tuple[dict[str, str], set[str]]:
    """Notebook id -> ``failed`` / ``interrupted`` for those whose last run did not finish, and
    the run ids of the successful runs (records of any age: absolute or relative paths, with or
    without a ``run_id``)."""
    last: dict[str, str] = {}
    ok: set[str] = set()
    for rec in run_records(runs_jsonl):
        last[str(rec.get("id", ""))] = rec.get("status", "")
        if rec.get("status") == "ok" and rec.get("run_id"):
            ok.add(str(rec["run_id"]))
    return {k: v for k, v in last.items() if v in ("failed", "interrupted")}, ok


def write_index(
    results_dir: Path,
    registry_artifacts: dict[tuple[str, str], str],
    diagrams: Iterable[tuple[str, str]] = (),
) -> Path:
    """Regenerate ``results/README.md``: one row per artifact with status and links."""
    status = artifact_status(results_dir, registry_artifacts, diagrams)
    counts = status["status"].value_counts().to_dict()
    lines = [
        "# Results",
        "",
        "Generated by `pain-lib index` — do not edit by hand.",
        "",
        "Every table and figure of the five papers (`pain_lib/paper_tables/artifacts.csv`), with "
        "what this repository has regenerated. **Numbers computed on synthetic data (`synth-*` "
        "datasets) are not reproductions of the papers' real-data numbers**: each table names the "
        "dataset it ran on next to the paper's value.",
        "",
        "Status counts: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) + f" (total {len(status)})",
        "",
        "`profile` names the profile of the files linked; `other profiles` links the same artifact "
        "computed with another profile, kept in a folder of that name (e.g. `full/`: one GPU, every "
        "fold, trained until the validation loss stops improving -- where the papers' claims are tested).",
        "",
        "| paper | artifact | kind | status | notebook | profile | dataset | files | other profiles |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in status.iterrows():
        lines.append(
            f"| {r['paper']} | {r['artifact']} | {r['kind']} | {r['status']} | {r['notebook']} "
            f"| {r['profile']} | {r['dataset']} | {r['files']} | {r['other profiles']} |"
        )
    path = Path(results_dir) / "README.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def registry_artifact_map(entries: Iterable[dict]) -> dict[tuple[str, str], str]:
    """(paper, artifact) -> notebook id, from registry entries. Entries may regenerate
    artifacts of another paper with the ``"paper:Artifact"`` form (e.g. ``"hrg:Figure 5"``)."""
    out: dict[tuple[str, str], str] = {}
    for e in entries:
        for art in e.get("artifacts", []):
            paper, _, name = art.partition(":") if ":" in art else (e["paper"], "", art)
            out[(paper, name)] = e["id"]
    return out


def printed_table(paper: str, artifact: str) -> pd.DataFrame:
    """A transcribed table laid out as printed: one row per printed row, one column per
    (dataset, column), cells ``value ± std`` with the paper's markers (``*``, ``†``)."""
    df = paper_table(paper, artifact, numeric=False)
    if df.empty:
        return pd.DataFrame()

    def cell(r: pd.Series) -> str:
        text = r["value"] or "–"
        if r["std"]:
            text += f" ± {r['std']}"
        if r["note"] in ("*", "†"):
            text += f" {r['note']}"
        return text

    df = df.assign(
        cell=df.apply(cell, axis=1),
        header=df.apply(lambda r: f"{r['dataset']}: {r['column']}" if r["dataset"] else r["column"], axis=1),
    )
    rows = list(dict.fromkeys(df["row"]))
    cols = list(dict.fromkeys(df["header"]))
    table = df.drop_duplicates(["row", "header"]).pivot(index="row", columns="header", values="cell")
    return table.reindex(index=rows, columns=cols).fillna("")


# --------------------------------------------------------------------------- helpers for notebooks
def reduce_sweep(values: Sequence[Any], profile: Any, *, keep: int | None = None) -> list[Any]:
    """The values of a sweep a profile runs: all of them, or the first ``profile.sweep_keep`` (or
    ``keep``) -- the papers list sweeps from the cheapest setting (26 layers first), so a cut
    sweep still shows a comparison in seconds."""
    values = list(values)
    k = profile.sweep_keep if keep is None else keep
    return values if not k else values[:k]


def percent(table: pd.DataFrame, metric: str = "AUC") -> pd.DataFrame:
    """Rows of ``metric`` from :func:`pain_lib.experiments.run_grid`, fractions -> % (the papers'
    units); the noise band (``lo``, ``hi``) and the fold spread scale with it."""
    out = table[table["metric"] == metric].copy()
    for c in ("value", "std", "lo", "hi"):
        if c in out:
            out[c] = out[c] * 100
    out["unit"] = "%"
    return out.reset_index(drop=True)


def best(table: pd.DataFrame, label: str = "column", value: str = "value", *, lower: bool = False) -> str:
    """The ``label`` of the highest (``lower``: lowest) ``value``, as text -- with "(within the
    noise of <other>)" when the table's band (``lo``/``hi``) of the runner-up overlaps the best
    one's; or a note when no value is finite (e.g. a fold whose subjects never show pain).
    Baseline rows (``baseline`` True) never count as a setting."""
    table = _settings(table)
    v = pd.to_numeric(table[value], errors="coerce")
    if not v.notna().any():
        return "n/a (no finite value in this run)"
    order = (v if lower else -v).sort_values(kind="stable").index
    top = order[0]
    text = str(table.loc[top, label])
    if value == "value" and {"lo", "hi"} <= set(table.columns) and len(order) > 1:
        lo, hi = table.loc[top, "lo"], table.loc[top, "hi"]
        close = [str(table.loc[i, label]) for i in order[1:]
                 if pd.notna(table.loc[i, "value"]) and lo <= table.loc[i, "value"] <= hi]
        if close:
            text += f" (the value of {', '.join(close[:3])}{' …' if len(close) > 3 else ''} lies in its 90 % band)"
    return text


def wins(table: pd.DataFrame, better: str, worse: str, comparisons: pd.DataFrame | None = None) -> str:
    """How often row ``better`` beats row ``worse`` over the shared columns (higher is better), in
    this run and in the paper, as a sentence computed from a side-by-side table. With
    ``comparisons`` (:func:`pain_lib.experiments.compare_rows`: one paired bootstrap per column)
    it also says how many of the differences lie outside the noise band."""
    table = _settings(table)

    def count(col: str) -> tuple[int, int]:
        w = table.pivot_table(index="column", columns="row", values=col, aggfunc="first")
        if better not in w or worse not in w:
            return 0, 0
        w = w[[better, worse]].apply(pd.to_numeric, errors="coerce").dropna()
        return int((w[better] > w[worse]).sum()), len(w)

    rw, rn = count("value")
    pw, pn = count("paper_value")
    text = f"{better} above {worse} in {rw} of {rn} settings in this run"
    if comparisons is not None and len(comparisons):
        comparisons = comparisons.astype({"within_noise": bool})
        out = comparisons[~comparisons["within_noise"]]
        above = int((out["difference"] > 0).sum())
        text += (f" ({above} of them outside the 90 % noise band of the paired difference, "
                 f"{len(out) - above} significantly below, {int(comparisons['within_noise'].sum())} within the noise)")
    return text + f"; in the paper: {pw} of {pn}."


def _settings(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` without its baseline rows (``baseline`` True, added by ``run_grid``)."""
    if "baseline" in table:
        return table[~table["baseline"].astype("boolean").fillna(False).astype(bool)]
    return table


def _not_learned(flags: Any) -> bool:
    """Whether any of ``flags`` (a ``learned`` column) says False (None / NaN: not known)."""
    return any(f is False or (isinstance(f, (bool, np.bool_)) and not f) for f in list(flags))


# --------------------------------------------------------------------------- claims
#: what a run says about a claim of a paper; a claim about configurations that did not learn
#: (their band does not exclude the trivial baseline) is not tested
NOT_TESTED = "not tested (did not learn)"
#: a claim whose cells this profile does not compute (:func:`pain_lib.experiments.select_cells`)
NOT_RUN = "not tested (run at full)"
VERDICTS = ("agrees", "disagrees", "cannot tell", NOT_TESTED, NOT_RUN)


def _skipped(table: pd.DataFrame) -> pd.Series:
    """Which rows of ``table`` are cells this profile did not compute (``run_note`` set)."""
    if "run_note" not in table:
        return pd.Series(False, index=table.index)
    return table["run_note"].fillna("").astype(str) != ""


def not_run(table: pd.DataFrame, row: str | None = None) -> int:
    """How many settings (cells; of ``row`` only, when given) of a :func:`pain_lib.experiments.run_grid`
    table this profile did not compute (``run_note`` set, e.g. "run at full")."""
    t = table[_skipped(table)]
    if row is not None:
        t = t[t["row"] == row]
    return len(t.drop_duplicates(subset=[c for c in ("row", "column") if c in t] or None))


def verdict_better(comparisons: Any, *, lower_is_better: bool = False, not_run: int = 0) -> tuple[str, str]:
    """The verdict on "A beats B in every setting" from paired comparisons (a
    :class:`~pain_lib.experiments.Comparison`, or a frame with one row per setting:
    ``difference`` of A - B with its band ``lo``/``hi``, ``within_noise``): *disagrees* if B is
    significantly better anywhere, *agrees* if A is significantly better everywhere, else *cannot
    tell*; and the evidence in words. ``not_run``: settings of the claim this profile did not
    compute (:func:`not_run`); the verdict is about the settings run, and the evidence says how
    many more a larger profile tests -- with none run, the claim is *not tested (run at full)*."""
    if hasattr(comparisons, "within_noise") and hasattr(comparisons, "difference") and not hasattr(comparisons, "columns"):
        comparisons = pd.DataFrame([{"difference": comparisons.difference, "lo": comparisons.lo, "hi": comparisons.hi,
                                     "within_noise": comparisons.within_noise}])  # one Comparison
    if (comparisons is None or not len(comparisons)) and not_run:
        return NOT_RUN, f"this profile runs none of its {not_run} settings (run at full)"
    if comparisons is None or not len(comparisons):
        return "cannot tell", "no comparison computed"
    verdict, evidence = _better(comparisons, lower_is_better)
    if not_run:
        evidence += f"; {not_run} more setting{'s' if not_run > 1 else ''} run at full (not computed at this profile)"
    return verdict, evidence


def _better(comparisons: pd.DataFrame, lower_is_better: bool) -> tuple[str, str]:
    if "learned" in comparisons:  # only settings where both configurations learned test the claim
        flags = comparisons["learned"].tolist()
        keep = [f is not False and not (isinstance(f, (bool, np.bool_)) and not f) for f in flags]
        dropped = len(flags) - sum(keep)
        if not any(keep):
            return NOT_TESTED, f"in none of the {len(flags)} settings did both configurations learn (band vs the trivial baseline)"
        comparisons = comparisons[keep]
    else:
        dropped = 0
    comparisons = comparisons.astype({"within_noise": bool})
    sign = -1 if lower_is_better else 1
    d = comparisons["difference"] * sign
    better = (~comparisons["within_noise"]) & (d > 0)
    worse = (~comparisons["within_noise"]) & (d < 0)
    n = len(comparisons)
    evidence = (f"significantly better in {int(better.sum())} of {n} settings, significantly worse in "
                f"{int(worse.sum())}, within the 90 % noise band in {int(comparisons['within_noise'].sum())}"
                + (f"; {dropped} more not tested (a configuration did not learn)" if dropped else ""))
    if worse.any():
        return "disagrees", evidence
    if better.all():
        return "agrees", evidence
    return "cannot tell", evidence


def verdict_best(table: pd.DataFrame, expected: str, *, label: str = "column", lower: bool = False) -> tuple[str, str]:
    """The verdict on "``expected`` is the best setting": *agrees* if it is this run's best, or
    its value lies in the best one's 90 % band (``lo``/``hi``) -- then *cannot tell* unless it is
    the best itself -- and *disagrees* if it lies outside that band; *cannot tell* when it was not
    run or its value is not finite; *not tested (did not learn)* when the expected setting or the
    best one did not learn (``learned`` False). Baseline rows never count as a setting."""
    table = _settings(table)
    skipped = _skipped(table)
    if skipped.any():
        unrun = table[skipped]
        table = table[~skipped]
        if (unrun[label].astype(str) == expected).any():
            return NOT_RUN, f"{expected} is run at full (this profile runs {len(table)} of {len(table) + len(unrun)} settings)"
        verdict, evidence = verdict_best(table, expected, label=label, lower=lower)
        return verdict, evidence + f"; of the {len(table)} settings run ({len(unrun)} more run at full)"
    v = pd.to_numeric(table["value"], errors="coerce")
    if not v.notna().any():
        return "cannot tell", "no finite value in this run"
    top = (v.idxmin() if lower else v.idxmax())
    best_label = str(table.loc[top, label])
    rows = table[table[label].astype(str) == expected]
    if rows.empty:
        return "cannot tell", f"{expected!r} was not run (best: {best_label})"
    exp_v = float(pd.to_numeric(rows["value"], errors="coerce").iloc[0])
    if "learned" in table and _not_learned([rows["learned"].iloc[0], table.loc[top, "learned"]]):
        return NOT_TESTED, (f"{expected} or this run's best ({best_label}) did not learn: its band does not "
                            "exclude the trivial baseline")
    if math.isnan(exp_v):  # its metric is undefined (e.g. it did not learn): no evidence either way
        return "cannot tell", f"{expected} has no finite value in this run (best: {best_label}, {v[top]:.4g})"
    if best_label == expected:
        return "agrees", f"{expected} is this run's best ({exp_v:.4g})"
    lo, hi = table.loc[top, "lo"] if "lo" in table else np.nan, table.loc[top, "hi"] if "hi" in table else np.nan
    if pd.notna(lo) and lo <= exp_v <= hi:
        return "cannot tell", f"best is {best_label} ({v[top]:.4g}); {expected} ({exp_v:.4g}) lies in its 90 % band"
    return "disagrees", f"best is {best_label} ({v[top]:.4g} [{lo:.4g}, {hi:.4g}]); {expected}: {exp_v:.4g}"


def claim(text: str, paper: str, verdict: tuple[str, str]) -> dict[str, str]:
    """One tested claim: its ``text``, what the ``paper`` printed, and this run's
    ``(verdict, evidence)`` (from :func:`verdict_better` / :func:`verdict_best`)."""
    return {"claim": text, "paper": paper, "verdict": verdict[0], "evidence": verdict[1]}


def claims_table(claims: Sequence[dict[str, Any]], *, dataset: str = "") -> pd.DataFrame:
    """``claim, paper, verdict, evidence`` rows (plus the dataset this run used), one per claim of
    a paper that a notebook tested; verdicts are :data:`VERDICTS`."""
    df = pd.DataFrame(list(claims), columns=["claim", "paper", "verdict", "evidence"])
    bad = set(df["verdict"]) - set(VERDICTS)
    if bad:
        raise ValueError(f"unknown verdict(s) {sorted(bad)}; use {', '.join(VERDICTS)}")
    return df.assign(dataset=dataset)

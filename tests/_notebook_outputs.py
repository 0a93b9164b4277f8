"""What a notebook wrote, checked: :func:`check_outputs` (used by ``test_notebooks.py`` after
every run, and by ``test_notebook_outputs.py`` on hand-made outputs).

For every provenance ``.json`` the notebook wrote under the results folder:

* it names the run's ``profile`` and ``dataset`` and the files it lists exist;
* every ``.csv`` it lists is checked by its kind:

  - **side-by-side** tables (:func:`pain_lib.report.side_by_side`: ``paper, artifact, row,
    column, ..., paper_value, ..., value``): every cell of the paper's transcription for that
    artifact is present (the paper's labels, none dropped or renamed), and every other cell's
    row or column says ``(not in the paper)`` (the documented superset); a cell this run
    computed (its ``dataset`` is set) has a finite ``value`` -- or text where the paper printed
    text (a "text cell" / "as printed" configuration) -- and a band with ``lo <= hi``; a paper
    cell this run did not compute (the documented "not run" cells: ``dataset`` empty) has no
    value;
  - **claims** tables (``<artifact>-claims.csv``): the columns of
    :func:`pain_lib.report.claims_table`, at least one claim, every verdict in
    :data:`pain_lib.report.VERDICTS`, evidence given, the run's dataset;
  - **long** tables of a figure or a named sub-table (``row, column, value``; figures print no
    table to transcribe): rows and columns match the paper's labels in :data:`LONG_LABELS`
    (its axes and legends), values finite;
  - **plain** tables the papers do not print (:data:`PLAIN_TABLES`): their columns, numbers
    finite.

A ``.csv`` of no known kind fails, so a new table comes with its rule here.

Tables made from a grid (``run_grid``: a ``baseline`` column) show both baselines in every column
where a network was computed, and every network row's ``learned`` flag is True, False or empty
(not known); the tables of :data:`WITH_BASELINES` must be such tables.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from pain_lib import report
from pain_lib.experiments import RUN_AT_FULL

SIDE_BY_SIDE = ["paper", "artifact", "row", "column", "metric", "unit", "paper_dataset", "paper_value",
                "paper_std", "paper_note", "dataset", "value", "std", "lo", "hi", "n"]
CLAIMS = ["claim", "paper", "verdict", "evidence", "dataset"]
NOT_IN_PAPER = "(not in the paper)"


def _table9_rows():
    return set(report.paper_table("scn", "Table 9")["row"])


#: (paper, file stem) -> (rows, columns): a set of labels, a regular expression (full match), or a
#: callable returning a set (the paper's transcribed rows). From the papers' figure axes/legends.
LONG_LABELS = {
    # SCN Fig. 7: AUC by spatial kernel size (x axis), one line per set of temporal depths (Table 2's labels)
    ("scn", "figure-7"): (r"Spatial size = (\d+) × \1", r"Temporal Depths = \[\d+(, \d+)*\]"),
    # SCN Fig. 8: AUC by input temporal depth
    ("scn", "figure-8"): ({"AUC"}, r"Input temporal depth = \d+"),
    # SCN Fig. 10: trace errors by expression speed, SCN vs Res3D
    ("scn", "figure-10-trace-errors"): ({"slow", "medium", "sudden"}, {"SCN", "Res3D"}),
    # SCN Table 9's parameter counts under each reading of Table 3: Table 9's rows, one column per reading
    ("scn", "table-9-parameter-readings"): (_table9_rows, r".+"),
    # hrg Fig. 7: accuracy by attention position, one group per task
    ("hrg", "figure-7"): (r"Position = [0-5]", {"[4-0]", "[all-all]"}),
    # hrg Fig. 9: fully vs partially shared network
    ("hrg", "figure-9"): ({"Partially shared (proposed)", "Fully shared"}, {"Accuracy[4-0]", "Accuracy[all-all]"}),
    # hrg Fig. 15: the fusion strategies
    ("hrg", "figure-15"): ({"Without", "Feature", "Decision", "Probability"}, {"[4-0]", "[all-all]"}),
    # SSD Fig. 3: AUC by segment length and by neighbourhood size (the baselines beside them)
    ("ssd", "figure-3"): (r"Segment length = \d+ frames|Neighbourhood = \d+ × \d+|(Trivial|Linear) baseline.*", {"AUC"}),
    # SSD Table 3's test time per frame, measured by this run (beside the paper's seconds)
    ("ssd", "table-3-time"): ({"VGG16", "Inception-V1", "ResNet-18", "ResNet-50"}, {"2D: Time", "3D: Time"}),
    # binary Fig. 2: accuracy by frames per segment (x axis)
    ("binary", "figure-2"): ({"accuracy"}, r"\d+ frames per segment"),
    # binary text: accuracy by feature combination (the text's rows, raw features not reported)
    ("binary", "text-feature-combinations"): ({"raw features (not in the paper)", "all statistics (mean, variance, min, max)",
                                                "statistics + VLAD"}, {"accuracy"}),
    # binary, beyond the paper: accuracy by code length
    ("binary", "code-length"): ({"Our Proposed Method"}, r"q = \d+ bits"),
    # AHDI Fig. 5: accuracy by ResNet depth (x axis), without / with knowledge transfer (legend)
    ("ahdi", "figure-5"): ({"without knowledge transfer", "with knowledge transfer"}, r"ResNet-\d+"),
    # AHDI, beyond the paper: genuine vs posed accuracy by posed-onset speed-up, beside the opened dataset
    ("ahdi", "posed-onset"): ({"AHDI", "SDI", "raw frame"}, r"x\d+(\.\d+)?|.+: its own posed display"),
    # SSD, beyond the paper: cross-dataset AUC by imaging-domain gap, beside the real pair
    ("ssd", "domain-gap"): ({"RGB, supervised", "RGB, self-supervised", "SSD, supervised", "SSD, self-supervised"},
                            r"gap \d+(\.\d+)?|\S+ -> \S+"),
}

#: (paper, file stem) -> (columns it must have, columns that must be finite numbers)
PLAIN_TABLES = {
    ("hrg", "table-i-parameters"): (["row", "column", "metric", "value"], []),
    ("data", "dataset-summary"): (["dataset", "root", "synthetic", "subjects", "samples", "frames"],
                                  ["subjects", "samples", "frames"]),
    ("binary", "code-length-costs"): (["code", "accuracy", "references", "code_bytes", "float_bytes", "code_search_s",
                                        "float_search_s"], ["code_bytes", "float_bytes", "code_search_s", "float_search_s"]),
    ("ahdi", "posed-onset-thresholds"): (["representation", "tells posed from genuine", "x1 (null step)"], []),
    ("ssd", "domain-gap-advantage"): (["training", "gap", "SSD - RGB (AUC points)", "lo", "hi", "within_noise",
                                        "both learned"], ["SSD - RGB (AUC points)", "lo", "hi"]),
    ("overview", "artifact-status"): (["paper", "artifact", "kind", "title", "status", "notebook", "profile",
                                       "dataset"], []),
}
STATUSES = {"regenerated", "failed", "interrupted", "diagram-only", "not yet"}
#: (paper, file stem) of the tables that come from a grid of trained configurations, and so show
#: the trivial and the linear baseline beside the networks
WITH_BASELINES = {("scn", s) for s in ("table-1", "table-2", "table-4", "table-5", "table-6", "table-7", "table-8",
                                        "figure-7", "figure-8")}
WITH_BASELINES |= {("ssd", s) for s in ("figure-3", "table-2", "table-3", "table-4", "table-5", "table-6", "table-7",
                                        "domain-gap")}
WITH_BASELINES |= {("binary", s) for s in ("table-1", "figure-2", "text-feature-combinations", "code-length")}
WITH_BASELINES |= {("ahdi", s) for s in ("table-1", "table-2", "table-3", "table-4", "table-5", "table-6", "table-7", "table-8",
                                         "figure-5", "posed-onset")}
#: metrics a trivial baseline leaves undefined (a constant has no correlation)
UNDEFINED_FOR_BASELINES = frozenset({"PCC"})


def _not_run_rows(df: pd.DataFrame) -> pd.Series:
    """The cells a profile shows without computing them (``run_note``, e.g. "run at full")."""
    return df["run_note"].map(_is_set) if "run_note" in df else pd.Series(False, index=df.index)


def _baseline_rows(df: pd.DataFrame) -> pd.Series:
    return df["baseline"].isin(["True", "true", "1"]) if "baseline" in df else pd.Series(False, index=df.index)


def _check_baselines(df: pd.DataFrame, name: str, key: tuple[str, str], problems: list[str]) -> None:
    from pain_lib.experiments.baselines import LINEAR_LABEL, TRIVIAL_LABEL

    if "baseline" not in df or "learned" not in df:
        if key in WITH_BASELINES:
            problems.append(f"{name}: a grid's table without its baselines and learned flags")
        return
    base = _baseline_rows(df)
    computed = ~base & ~_not_run_rows(df) & (df["dataset"].map(_is_set) if "dataset" in df else True)
    for col in sorted(set(df.loc[computed, "column"])):
        have = set(df.loc[base & (df["column"] == col), "row"])
        missing = {TRIVIAL_LABEL, LINEAR_LABEL} - have
        if missing:
            problems.append(f"{name}: column {col!r} lacks the baseline rows {sorted(missing)}")
    bad = set(df.loc[computed, "learned"]) - {"True", "False", ""}
    if bad:
        problems.append(f"{name}: learned flags {sorted(bad)} are not True / False / empty")


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _is_set(x) -> bool:
    return isinstance(x, str) and x.strip() != ""


def _match(rule, label: str) -> bool:
    if callable(rule):
        rule = rule()
    if isinstance(rule, str):
        return re.fullmatch(rule, label) is not None
    return label in rule


def _undefined(r, undefined: frozenset[str]) -> bool:
    """An empty value of a metric that the run's data can leave undefined (``undefined``), or
    that a baseline leaves undefined."""
    is_base = str(r.get("baseline", "")) in ("True", "true", "1")
    return r["value"] == "" and (r.get("metric", "") in undefined
                                 or (is_base and r.get("metric", "") in UNDEFINED_FOR_BASELINES))


def _check_side_by_side(df: pd.DataFrame, name: str, prov: dict, problems: list[str],
                        undefined: frozenset[str]) -> None:
    paper, artifact = prov["paper"], prov["artifact"]
    if set(df["paper"]) != {paper} or set(df["artifact"]) != {artifact}:
        problems.append(f"{name}: paper/artifact {sorted(set(df['paper']))}/{sorted(set(df['artifact']))} "
                        f"are not the provenance's {paper} {artifact}")
    try:
        ref = report.paper_table(paper, artifact)
    except KeyError:
        ref = pd.DataFrame(columns=["row", "column"])
    ref_cells = set(zip(ref["row"], ref["column"]))
    cells = set(zip(df["row"], df["column"]))
    lost = ref_cells - cells
    if lost:
        problems.append(f"{name}: the paper's cells {sorted(lost)[:4]} are missing (rows or columns renamed?)")
    for r, c in sorted(cells - ref_cells):
        if NOT_IN_PAPER not in r and NOT_IN_PAPER not in c:
            problems.append(f"{name}: cell ({r!r}, {c!r}) is not one of the paper's labels for {artifact}")
    for _, r in df.iterrows():
        where = f"{name} ({r['row']!r}, {r['column']!r})"
        text_cell = _is_set(r["paper_value"]) and not _finite(r["paper_value"])
        if _is_set(r.get("run_note", "")):  # shown, not computed at this profile ("run at full")
            if _is_set(r["value"]):
                problems.append(f"{where}: a value {r['value']!r} in a cell noted {r['run_note']!r}")
            if r["run_note"] != RUN_AT_FULL:
                problems.append(f"{where}: unknown run note {r['run_note']!r}")
        elif _is_set(r["dataset"]):  # computed by this run
            if text_cell:
                if not _is_set(r["value"]):
                    problems.append(f"{where}: a text cell without text")
            elif not _finite(r["value"]) and not _undefined(r, undefined):
                problems.append(f"{where}: computed value {r['value']!r} is not finite")
            if _finite(r["lo"]) and _finite(r["hi"]) and float(r["lo"]) > float(r["hi"]):
                problems.append(f"{where}: band lo {r['lo']} > hi {r['hi']}")
        elif _is_set(r["value"]):  # a paper cell this run did not compute has no value
            problems.append(f"{where}: a value {r['value']!r} without the run's dataset")


def _check_claims(df: pd.DataFrame, name: str, dataset: str, problems: list[str]) -> None:
    if list(df.columns) != CLAIMS:
        problems.append(f"{name}: columns {list(df.columns)} are not {CLAIMS}")
        return
    if df.empty:
        problems.append(f"{name}: no claim")
    bad = set(df["verdict"]) - set(report.VERDICTS)
    if bad:
        problems.append(f"{name}: verdicts {sorted(bad)} are not among {report.VERDICTS}")
    if not df["evidence"].map(_is_set).all() or not df["claim"].map(_is_set).all():
        problems.append(f"{name}: a claim without its text or evidence")
    if set(df["dataset"]) != {dataset}:
        problems.append(f"{name}: dataset {sorted(set(df['dataset']))} is not the run's {dataset!r}")


def _check_long(df: pd.DataFrame, name: str, rule, problems: list[str], undefined: frozenset[str]) -> None:
    rows, cols = rule
    for r in sorted(set(df.loc[~_baseline_rows(df), "row"])):  # baseline rows are not the paper's
        if not _match(rows, r):
            problems.append(f"{name}: row {r!r} is not one of the paper's labels")
    for c in sorted(set(df["column"])):
        if not _match(cols, c):
            problems.append(f"{name}: column {c!r} is not one of the paper's labels")
    if df.empty:
        problems.append(f"{name}: empty")
    not_run = _not_run_rows(df)
    for i, r in df.iterrows():
        if not_run[i]:  # shown, not computed at this profile
            if _is_set(r["value"]):
                problems.append(f"{name} ({r['row']!r}, {r['column']!r}): a value in a cell noted {r['run_note']!r}")
            continue
        if not _finite(r["value"]) and not _undefined(r, undefined):
            problems.append(f"{name} ({r['row']!r}, {r['column']!r}): value {r['value']!r} is not finite")
        if "lo" in df and _finite(r["lo"]) and _finite(r["hi"]) and float(r["lo"]) > float(r["hi"]):
            problems.append(f"{name} ({r['row']!r}, {r['column']!r}): band lo > hi")


def _check_plain(df: pd.DataFrame, name: str, rule, problems: list[str]) -> None:
    need, numeric = rule
    missing = [c for c in need if c not in df.columns]
    if missing:
        problems.append(f"{name}: lacks columns {missing}")
        return
    if df.empty:
        problems.append(f"{name}: empty")
    for c in numeric:
        if not df[c].map(_finite).all():
            problems.append(f"{name}: column {c} has non-finite values {df[c][~df[c].map(_finite)].tolist()[:3]}")
    if "status" in df and not set(df["status"]) <= STATUSES:
        problems.append(f"{name}: statuses {sorted(set(df['status']) - STATUSES)} are not among {sorted(STATUSES)}")


def check_table(path: Path, prov: dict, dataset: str, problems: list[str],
                undefined: frozenset[str] = frozenset()) -> None:
    """Append to ``problems`` what is wrong with one written ``.csv`` (see the module docstring)."""
    name = f"{path.parent.name}/{path.name}"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    key = (path.parent.name, path.stem)
    cols = list(df.columns)
    if cols[:len(SIDE_BY_SIDE)] == SIDE_BY_SIDE and set(cols[len(SIDE_BY_SIDE):]) <= {"learned", "baseline", "run_note"}:
        _check_side_by_side(df, name, prov, problems, undefined)
        _check_baselines(df, name, key, problems)
    elif path.stem.endswith("-claims"):
        _check_claims(df, name, dataset, problems)
    elif key in LONG_LABELS:
        _check_long(df, name, LONG_LABELS[key], problems, undefined)
        _check_baselines(df, name, key, problems)
    elif key in PLAIN_TABLES:
        _check_plain(df, name, PLAIN_TABLES[key], problems)
    else:
        problems.append(f"{name}: a table of no known kind (columns {list(df.columns)[:6]}); give it a rule "
                        "in tests/_notebook_outputs.py")


def check_outputs(results_dir: Path, notebook: str, *, profile: str, dataset: str,
                  undefined: Mapping[str, str] | None = None) -> list[Path]:
    """Check every provenance file ``notebook`` wrote under ``results_dir`` and every table it
    lists; raise ``AssertionError`` listing every problem. Returns the provenance files.

    ``undefined``: metric label -> reason, the metrics whose computed cells may be empty because
    the run's data leaves them undefined (e.g. an AUC or a PCC of test subjects without pain);
    only empty, never another non-finite value, and no other metric."""
    undefined = frozenset(undefined or {})
    results_dir = Path(results_dir)
    problems: list[str] = []
    provs = []
    for path in sorted(results_dir.glob("*/*.json")):
        prov = json.loads(path.read_text())
        if prov.get("notebook") != notebook:
            continue
        provs.append(path)
        name = f"{path.parent.name}/{path.name}"
        if prov.get("profile") != profile or prov.get("dataset") != dataset:
            problems.append(f"{name}: profile {prov.get('profile')!r} / dataset {prov.get('dataset')!r}, "
                            f"not the run's {profile!r} / {dataset!r}")
        if not prov.get("files"):
            problems.append(f"{name}: lists no files")
        for f in prov.get("files", []):
            p = path.parent / f
            if not p.is_file():
                problems.append(f"{name}: lists {f}, which was not written")
            elif p.suffix == ".csv":
                check_table(p, prov, dataset, problems, undefined)
    assert not problems, f"{notebook} wrote {len(problems)} problem(s):\n  " + "\n  ".join(problems)
    return provs

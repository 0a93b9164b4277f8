"""A result table shown the way the paper prints it.

:meth:`pain_lib.notebook.Run.save_table` writes a *tidy* table, one line per cell (``paper,
artifact, row, column, metric, unit, paper_dataset, paper_value, paper_std, paper_note, dataset,
value, std, n``). :func:`paper_layout` turns it back into the paper's grid: the paper's rows
and columns in the paper's order, each cell ``paper | this run`` (``± std`` where there is
one), coloured by how far this run is from the paper, the datasets of both in the caption.
:func:`paper_layout_markdown` is the same grid as plain Markdown (no colours: the relative
difference is written in the cell instead). The tidy CSV on disk is unchanged.

Colours (relative difference ``|this run - paper| / |paper|``): up to 5 % green, 15 % yellow,
30 % orange, more red; grey where either side is missing. Text cells (an architecture string)
are shown as text: green when both sides read the same, red when they differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["PaperLayout", "layout", "paper_layout", "paper_layout_markdown", "show", "BINS"]

#: (upper bound of the relative difference, label, background colour)
BINS = (
    (0.05, "≤ 5 %", "#c7e9c0"),
    (0.15, "≤ 15 %", "#f7f7b5"),
    (0.30, "≤ 30 %", "#fdd49e"),
    (math.inf, "> 30 %", "#fcae91"),
)
MISSING_COLOUR = "#e0e0e0"


@dataclass
class PaperLayout:
    """The grid of a table: cell texts, relative differences and colours, rows x columns."""

    title: str
    caption: str
    paper_text: pd.DataFrame
    run_text: pd.DataFrame
    distance: pd.DataFrame  # relative difference; NaN: a side is missing; None: no such cell
    present: pd.DataFrame  # bool: the tidy table has this cell
    signed: pd.DataFrame  # signed relative difference (NaN unless both sides are numbers)

    @property
    def cells(self) -> pd.DataFrame:
        """``"paper | this run"`` per cell ("" where the paper's grid has no such cell)."""
        out = self.paper_text + " | " + self.run_text
        return out.where(self.present, "")

    @property
    def colours(self) -> pd.DataFrame:
        """Background colour per cell (CSS colour, "" where there is no cell)."""
        def colour(d: Any, present: bool) -> str:
            if not present:
                return ""
            if d is None or (isinstance(d, float) and math.isnan(d)):
                return MISSING_COLOUR
            return next(c for bound, _, c in BINS if d <= bound)

        return pd.DataFrame(
            [[colour(self.distance.iat[i, j], bool(self.present.iat[i, j])) for j in range(self.distance.shape[1])]
             for i in range(self.distance.shape[0])],
            index=self.distance.index, columns=self.distance.columns,
        )

    def styler(self):
        """A pandas ``Styler`` (HTML in a notebook) with the colours and the caption."""
        cells = self.cells
        css = self.colours.map(lambda c: f"background-color: {c}; color: #000" if c else "")
        sty = cells.style.apply(lambda _: css, axis=None)
        sty = sty.set_caption(f"<b>{_html(self.title)}</b><br>{_html(self.caption)}")
        return sty.set_table_styles([
            {"selector": "caption", "props": "caption-side: top; text-align: left; font-size: 0.9em;"},
            {"selector": "td", "props": "text-align: center; white-space: nowrap; padding: 2px 8px;"},
            {"selector": "th.row_heading", "props": "text-align: left;"},
        ])

    def markdown(self) -> str:
        """The grid as Markdown: cells ``paper | this run (±x %)`` (the pipe escaped)."""
        headers = ["", *map(str, self.distance.columns)]
        lines = [f"### {self.title}", "", self.caption, "",
                 "| " + " | ".join(_md(h) for h in headers) + " |", "|" + "---|" * len(headers)]
        for i, row in enumerate(self.distance.index):
            cells = []
            for j in range(self.distance.shape[1]):
                if not self.present.iat[i, j]:
                    cells.append("")
                    continue
                text = f"{self.paper_text.iat[i, j]} \\| {self.run_text.iat[i, j]}"
                d = self.distance.iat[i, j]
                signed = self.signed.iat[i, j]
                if isinstance(signed, float) and not math.isnan(signed):
                    text += f" ({signed:+.0%})"
                elif d == 0.0:
                    text += " (same)"
                elif d == 1.0 and not isinstance(signed, float):
                    text += " (differs)"
                cells.append(_md(text, escape_pipe=False))
            lines.append("| " + " | ".join([_md(str(row)), *cells]) + " |")
        return "\n".join(lines) + "\n"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _md(text: str, *, escape_pipe: bool = True) -> str:
    text = text.replace("\n", " ")
    return text.replace("|", "\\|") if escape_pipe else text


# --------------------------------------------------------------------------- values
def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _number(v: Any) -> float | None:
    """A float for numeric values and numeric text ("90.34"); None for text and missing."""
    if _missing(v) or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).replace(",", "").strip())
    except ValueError:
        return None


def _fmt(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e6:
        return str(int(v))
    a = abs(v)
    if a >= 100:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def _side(value: Any, std: Any, note: Any = "") -> tuple[str, float | str | None]:
    """Text of one side of a cell and what it is compared by (a number, a text or None)."""
    if _missing(value):
        return "–", None
    num = _number(value)
    if num is None:
        text = " ".join(str(value).split())
        return text, text
    text = _fmt(num)
    s = _number(std)
    if s is not None and not math.isnan(s):
        text += f" ± {_fmt(s)}"
    if isinstance(note, str) and note.strip() and len(note.strip()) <= 3:
        text += f" {note.strip()}"
    return text, num


def _distance(paper: Any, run: Any) -> tuple[float, float]:
    """(relative difference >= 0, signed relative difference) of the two sides; NaN if missing."""
    if paper is None or run is None:
        return math.nan, math.nan
    if isinstance(paper, float) and isinstance(run, float):
        if paper == 0:
            return (0.0, 0.0) if run == 0 else (math.inf, math.inf)
        signed = (run - paper) / abs(paper)
        return abs(signed), signed
    return (0.0 if str(paper) == str(run) else 1.0), math.nan


# --------------------------------------------------------------------------- layout
_TIDY = ["paper", "artifact", "row", "column", "metric", "unit", "paper_dataset", "paper_value", "paper_std",
         "paper_note", "dataset", "value", "std", "n"]


def _clean(table: pd.DataFrame) -> pd.DataFrame:
    missing = {"row", "column"} - set(table.columns)
    if missing:
        raise ValueError(f"a table to lay out needs the columns row and column (tidy columns: {', '.join(_TIDY)}); "
                         f"this one lacks {sorted(missing)}")
    t = table.copy()
    for col in _TIDY:
        if col not in t.columns:
            t[col] = math.nan if col in ("paper_value", "paper_std", "value", "std", "n") else ""
    for col in ("paper", "artifact", "row", "column", "metric", "unit", "paper_dataset", "paper_note", "dataset"):
        t[col] = t[col].map(lambda v: "" if _missing(v) else str(v))
    return t.reset_index(drop=True)


def _paper_order(t: pd.DataFrame, header: Any) -> tuple[list[str], list[str]]:
    """Rows and column headers in the order the paper prints them (those the paper lacks
    after, in the table's order)."""
    rows: list[str] = []
    headers: list[str] = []
    paper, artifact = (t["paper"].iloc[0], t["artifact"].iloc[0]) if len(t) else ("", "")
    try:
        from .report import PAPERS, paper_table

        ref = paper_table(paper, artifact) if paper in PAPERS and artifact else None
    except KeyError:
        ref = None
    if ref is not None and not ref.empty:
        datasets = set(t["paper_dataset"]) - {""}
        if datasets & set(ref["dataset"]):
            ref = ref[ref["dataset"].isin(datasets) | (ref["dataset"] == "")]
        ref = ref.rename(columns={"dataset": "paper_dataset"})
        rows = list(dict.fromkeys(ref["row"].astype(str)))
        headers = list(dict.fromkeys(header(r) for _, r in ref.iterrows()))
    rows += [r for r in dict.fromkeys(t["row"]) if r not in rows]
    headers += [h for h in dict.fromkeys(header(r) for _, r in t.iterrows()) if h not in headers]
    present_rows = set(t["row"])
    present_headers = {header(r) for _, r in t.iterrows()}
    return [r for r in rows if r in present_rows], [h for h in headers if h in present_headers]


def layout(table: pd.DataFrame, *, title: str | None = None) -> PaperLayout:
    """The paper's grid of a tidy table (as :meth:`Run.save_table` returns or writes it)."""
    t = _clean(table)
    multi_ds = len(set(t["paper_dataset"]) - {""}) > 1
    multi_metric = bool((t.groupby(["row", "column", "paper_dataset"])["metric"].nunique() > 1).any()) if len(t) else False

    def header(r: pd.Series) -> str:
        h = str(r["column"])
        if multi_ds and r.get("paper_dataset"):
            h = f"{r['paper_dataset']}: {h}"
        if multi_metric and r.get("metric"):
            h += f" ({r['metric']})"
        return h

    rows, headers = _paper_order(t, header)
    paper_text = pd.DataFrame("", index=rows, columns=headers, dtype=object)
    run_text = paper_text.copy()
    distance = pd.DataFrame(None, index=rows, columns=headers, dtype=object)
    signed = pd.DataFrame(math.nan, index=rows, columns=headers, dtype=object)
    present = pd.DataFrame(False, index=rows, columns=headers)
    ri, hi = {r: i for i, r in enumerate(rows)}, {h: j for j, h in enumerate(headers)}
    for _, r in t.iterrows():
        i, j = ri[r["row"]], hi[header(r)]
        if present.iat[i, j]:
            continue  # a duplicate cell: the first one wins, as in the paper's table
        ptext, pval = _side(r["paper_value"], r["paper_std"], r["paper_note"])
        rtext, rval = _side(r["value"], r["std"])
        note = r.get("run_note")
        if rval is None and isinstance(note, str) and note:
            rtext = note  # a cell this profile does not compute (e.g. "run at full")
        paper_text.iat[i, j], run_text.iat[i, j] = ptext, rtext
        distance.iat[i, j], signed.iat[i, j] = _distance(pval, rval)
        present.iat[i, j] = True
    return PaperLayout(title or _title(t), _caption(t), paper_text, run_text, distance, present, signed)


def _title(t: pd.DataFrame) -> str:
    if not len(t):
        return "(empty table)"
    return " ".join(x for x in (t["paper"].iloc[0], t["artifact"].iloc[0]) if x) or "table"


def _names(values: pd.Series) -> str:
    names = [v for v in dict.fromkeys(values) if v]
    return ", ".join(names) if names else "–"


def _caption(t: pd.DataFrame) -> str:
    measures = [f"{m} ({u})" if u else m for m, u in dict.fromkeys(zip(t["metric"], t["unit"])) if m]
    synthetic = any(d.startswith("synth-") for d in set(t["dataset"]))
    text = (
        f"Each cell: paper ({_names(t['paper_dataset'])}) | this run ({_names(t['dataset'])})"
        + (f"; values: {', '.join(measures)}" if measures else "")
        + ". Colour: relative difference |this run - paper| / |paper|: "
        + ", ".join(label.replace("≤", "up to").replace(">", "more than") + f" {name}"
                    for (_, label, _), name in zip(BINS, ("green", "yellow", "orange", "red")))
        + "; grey: one side missing; text cells green when they read the same."
    )
    if synthetic:
        text += " This run used synthetic data: its numbers are not a reproduction of the paper's real-data numbers."
    return text


def paper_layout(table: pd.DataFrame, *, title: str | None = None):
    """The table in the paper's layout as a coloured pandas ``Styler``."""
    return layout(table, title=title).styler()


def paper_layout_markdown(table: pd.DataFrame, *, title: str | None = None) -> str:
    """The table in the paper's layout as Markdown (the text fallback of :func:`paper_layout`)."""
    return layout(table, title=title).markdown()


def show(table: pd.DataFrame, *, title: str | None = None):
    """What a notebook displays: the ``Styler``, or Markdown where ``Styler`` cannot render
    (jinja2 missing)."""
    lay = layout(table, title=title)
    try:
        import jinja2  # noqa: F401  (Styler renders with it)

        return lay.styler()
    except ImportError:
        from IPython.display import Markdown

        return Markdown(lay.markdown())


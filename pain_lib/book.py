"""The companion book: a static site to read every notebook without running anything.

::

    pain-lib book [--results-dir results] [--out build/book]     (``make book``)

:func:`write_sources` lays out a Sphinx project (MyST Markdown and notebooks, read by myst-nb
with ``nb_execution_mode = "off"``: nothing executes during the build) and :func:`build` turns it
into HTML with sphinx-book-theme; MathJax is copied from the ``sphinx-mathjax-offline`` wheel
into the site, so the pages render offline (no CDN).

What a notebook's page is made of, for each *results set* (the results folder, and every
folder in it with its own ``runs.jsonl`` -- another profile's results, e.g. ``results/full/``):

* the executed notebook ``<set>/executed/<id>.ipynb`` when the set's last run of that notebook
  succeeded (after ``make reproduce``): its narrative, tables, figures and claims as the run
  showed them, code folded, progress bars and stderr dropped;
* otherwise (a fresh clone: executed notebooks are not committed) the committed notebook's
  narrative and code joined with the tables, claims and figures that the set's provenance files
  (``<set>/<paper>/<artifact>.json``) say this notebook wrote, and the fidelity notes its
  ``<paper>.notes(...)`` calls name.

Either way the page starts with the provenance of what it shows: artifact, profile, dataset
(beside the paper's), commit and date. An executed notebook with an error output is never used
(a failed run's page falls back to the committed results and says so).

The front page has the papers' one-line summaries (``paper_tables/papers.csv``) and links to
the artifact-status dashboard (``<results>/README.md``, from ``pain-lib index``).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["BookError", "ResultsSet", "results_sets", "write_sources", "build", "check_site", "MATHJAX_PARTS"]

#: the parts of MathJax 3 copied into the site: the TeX-to-HTML component, the TeX extensions it
#: loads on demand, its fonts and its menu (the speech engine and the other components are left out)
MATHJAX_PARTS = ("tex-chtml.js", "input/tex/extensions", "output/chtml", "ui", "a11y")

_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


class BookError(RuntimeError):
    """The book cannot be built (a missing extra, a Sphinx error); the message says what to do."""


# --------------------------------------------------------------------------- what the book reads
@dataclass
class ResultsSet:
    """A folder of results: ``label`` ('' for the main results folder, else its name)."""

    folder: Path
    label: str = ""
    runs: dict[str, dict] = field(default_factory=dict)  # notebook id -> its last runs.jsonl record
    provenance: dict[str, list[tuple[Path, dict]]] = field(default_factory=dict)  # notebook id -> files

    @property
    def title(self) -> str:
        return f"profile {self.label}" if self.label else f"the results folder (`{self.folder.name}/`)"

    def executed(self, notebook: str) -> Path | None:
        """The executed notebook of the set's last, successful run of ``notebook``, if kept."""
        rec = self.runs.get(notebook)
        if not rec or rec.get("status") != "ok":
            return None
        path = self.folder / (rec.get("executed") or f"executed/{notebook}.ipynb")
        return path if path.is_file() else None


def _read_runs(path: Path) -> dict[str, dict]:
    runs: dict[str, dict] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a cut line of an older writer
            if isinstance(rec, dict) and rec.get("id"):
                runs[rec["id"]] = rec
    return runs


def _read_set(folder: Path, label: str) -> ResultsSet:
    rs = ResultsSet(folder, label, runs=_read_runs(folder / "runs.jsonl"))
    for path in sorted(folder.glob("*/*.json")):
        if path.parent.name == "executed":
            continue
        try:
            prov = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(prov, dict) and prov.get("notebook") and prov.get("artifact"):
            rs.provenance.setdefault(prov["notebook"], []).append((path, prov))
    return rs


def results_sets(results_dir: Path) -> list[ResultsSet]:
    """The main results folder and every sub-folder with its own ``runs.jsonl`` (another profile)."""
    results_dir = Path(results_dir)
    sets = [_read_set(results_dir, "")]
    if results_dir.is_dir():
        for sub in sorted(p for p in results_dir.iterdir() if p.is_dir() and (p / "runs.jsonl").is_file()):
            sets.append(_read_set(sub, sub.name))
    return sets


def paper_summaries() -> list[dict[str, str]]:
    """One row per paper: ``paper, summary, datasets, artifacts`` (``paper_tables/papers.csv``)."""
    text = (resources.files("pain_lib") / "paper_tables" / "papers.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


# --------------------------------------------------------------------------- notebook cells
def _md(source: str) -> dict:
    import nbformat

    return nbformat.v4.new_markdown_cell(source)


def has_error(nb: Any) -> bool:
    """Whether any cell of ``nb`` shows an error (an ``error`` output, or a traceback on a stream)."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return True
            if out.get("output_type") == "stream" and "Traceback (most recent call last)" in str(out.get("text", "")):
                return True
    return False


def _clean_outputs(nb: Any) -> None:
    """Drop what reads badly in a static page: progress-bar widgets, stderr (progress bars and
    warnings; the run's log keeps them); fold the code (a reader opens it with a click)."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                continue
            if out.get("output_type") in ("display_data", "execute_result") and _WIDGET_MIME in out.get("data", {}):
                continue
            outs.append(out)
        cell["outputs"] = outs
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "hide-input" not in tags:
            tags.append("hide-input")


_NOTES_CALL = re.compile(r"\b(\w+)\.notes\(([^)]*)\)")


def _notes_markdown(paper: str, source: str) -> str | None:
    """The fidelity notes a code cell displays with ``<paper>.notes("a", "b")`` (its literal keys),
    as the paper package renders them; ``None`` when the cell has no such call."""
    m = _NOTES_CALL.search(source)
    if not m or m.group(1) != paper:
        return None
    keys = re.findall(r"""["']([^"']+)["']""", m.group(2))
    try:
        import importlib

        module = importlib.import_module(f"pain_lib.papers.{paper}")
        shown = module.notes(*keys)
    except Exception:  # noqa: BLE001 - a page without the notes beats no book; the page says so
        return None
    return getattr(shown, "data", shown)


def _provenance_markdown(rs: ResultsSet, notebook: str, *, executed: bool) -> str:
    provs = rs.provenance.get(notebook, [])
    rec = rs.runs.get(notebook)
    lines = []
    if executed:
        lines.append(f"*This page is the executed notebook of {rs.title} (run {rec.get('run_id', '?')}, "
                     f"profile `{rec.get('profile', '?')}`, device `{rec.get('device', '?')}`, "
                     f"{rec.get('duration_s', '?')} s, finished {str(rec.get('finished', '?'))[:19]} UTC).*")
    else:
        lines.append(f"*The notebook's narrative and code as committed; its outputs below are the tables, claims "
                     f"and figures of {rs.title} (the executed notebook is not kept in the repository: "
                     "`make reproduce` regenerates it).*")
        if rec and rec.get("status") not in (None, "ok"):
            lines.append(f"\n**The last run of this notebook {rec['status']}** ({rec.get('error') or 'see its log'}); "
                         "the results shown are the last successful ones.")
    if provs:
        lines += ["", "| artifact | profile | dataset (paper's) | commit | date |", "|---|---|---|---|---|"]
        for group in _by_artifact(provs).values():
            p = group[0][1]
            commit = str(p.get("git_commit") or "?")[:10]
            lines.append(f"| {p.get('paper', '')} {p['artifact']} | {p.get('profile', '?')} | "
                         f"{p.get('dataset', '?')} ({p.get('paper_dataset') or '–'}) | `{commit}` | "
                         f"{str(p.get('end') or p.get('start') or '?')[:10]} |")
        lines.append("\n*Numbers computed on synthetic data (`synth-*`) are not reproductions of the paper's "
                     "real-data numbers.*")
    elif not executed:
        lines.append("\n*No results of this notebook in this folder yet.*")
    return "\n".join(lines)


def _by_artifact(provs: list[tuple[Path, dict]]) -> dict[str, list[tuple[Path, dict]]]:
    """Provenance files grouped by the artifact they belong to (a table and its claims file)."""
    out: dict[str, list[tuple[Path, dict]]] = {}
    for path, prov in provs:
        out.setdefault(f"{prov.get('paper', path.parent.name)} {prov['artifact']}", []).append((path, prov))
    return out


def _has_images(nb: Any) -> bool:
    return any("image/png" in out.get("data", {}) or "image/svg+xml" in out.get("data", {})
               for cell in nb.cells for out in cell.get("outputs", []))


def _committed_results_cells(rs: ResultsSet, notebook: str, assets: Path, prefix: str, *,
                             figures_only: bool = False) -> list:
    """Markdown cells: every artifact this notebook wrote -- its tables (paper beside this run),
    claims with verdicts and figures -- copied from the set's folder into ``assets``
    (``figures_only``: the figures alone)."""
    cells = []
    for artifact, provs in _by_artifact(rs.provenance.get(notebook, [])).items():
        parts = [f"## {'Figures' if figures_only else 'Results'}: {artifact}"]
        files: list[Path] = []
        for path, prov in provs:
            has_md = any(str(f).endswith(".md") for f in prov.get("files", []))  # its Markdown has its caption
            if prov.get("caption") and prov["caption"] not in parts and not figures_only and not has_md:
                parts.append(prov["caption"])
            files += [path.parent / f for f in prov.get("files", [])]
        for f in sorted(dict.fromkeys(files), key=lambda f: ("claims" in f.name, f.suffix != ".md", f.name)):
            if not f.is_file():
                continue
            if f.suffix == ".md" and not figures_only:
                body = f.read_text(encoding="utf-8")
                body = re.sub(r"^#{1,3} .*\n", "", body, count=1)  # the artifact's own heading
                body = _relink(body, f.parent, rs.folder, assets, prefix)
                title = "Claims and verdicts" if "claims" in f.stem else f"Table ({f.stem})"
                parts.append(f"### {title}\n\n{body.strip()}")
            elif f.suffix == ".png":
                target = assets / f.parent.name / f.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, target)
                parts.append(f"![{artifact}: {f.stem}]({prefix}{f.parent.name}/{f.name})")
        if not figures_only or any(p.startswith("![") for p in parts):
            cells.append(_md("\n\n".join(parts)))
    return cells


def _relink(text: str, here: Path, results: Path, assets: Path, prefix: str) -> str:
    """Links of a committed Markdown file, made to work in the book: a table or figure is
    copied beside the page's assets (a Markdown table links to its CSV twin); any other link
    keeps only its label."""

    def link(m: re.Match) -> str:
        label, target = m.group(1), m.group(2)
        if target.startswith(("http:", "https:", "#")):
            return m.group(0)
        for base in (here, results):
            f = (base / target)
            if f.suffix == ".md":
                f = f.with_suffix(".csv")
            if f.is_file() and f.suffix in (".csv", ".png", ".svg"):
                rel = f.resolve().relative_to(results.resolve()) if f.resolve().is_relative_to(results.resolve()) \
                    else Path(f.name)
                dest = assets / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dest)
                return f"[{label}]({prefix}{rel.as_posix()})"
        return label

    return re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", link, text)


def _page(entry: Any, rs: ResultsSet, assets: Path, prefix: str) -> tuple[Any, str]:
    """The notebook of one page and how it was made (``executed`` or ``committed``)."""
    import nbformat

    executed = rs.executed(entry.id)
    nb = None
    if executed is not None:
        nb = nbformat.read(executed, as_version=4)
        if has_error(nb):
            nb = None  # never show an error cell: fall back to the committed results
    mode = "executed" if nb is not None else "committed"
    if nb is None:
        nb = nbformat.read(entry.path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell["outputs"], cell["execution_count"] = [], None
        cells = []
        for cell in nb.cells:
            cells.append(cell)
            notes = _notes_markdown(entry.paper, cell.source) if cell.cell_type == "code" else None
            if notes:
                cells.append(_md(notes))
        nb.cells = cells + _committed_results_cells(rs, entry.id, assets, prefix)
    elif not _has_images(nb):
        # run with a non-inline matplotlib backend (MPLBACKEND=Agg): the figures it saved instead
        nb.cells += _committed_results_cells(rs, entry.id, assets, prefix, figures_only=True)
    _clean_outputs(nb)
    head = 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0
    if head == 0:
        nb.cells.insert(0, _md(f"# {entry.id}"))
        head = 1
    nb.cells.insert(head, _md(_provenance_markdown(rs, entry.id, executed=mode == "executed")))
    nb.metadata.pop("widgets", None)
    return nb, mode


# --------------------------------------------------------------------------- the Sphinx project
_CONF = '''\
# Written by pain_lib.book (`pain-lib book`); rewritten on every build.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
project = "pain-lib: a companion to five facial-video pain-estimation papers"
author = "pain-lib"
extensions = ["myst_nb", "sphinx.ext.mathjax", "_mathjax_local"]
html_theme = "sphinx_book_theme"
html_title = "pain-lib companion"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_theme_options = {{
    "use_download_button": True,
    "use_fullscreen_button": False,
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
}}
html_last_updated_fmt = None
nb_execution_mode = "off"
nb_output_stderr = "remove"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
mathjax_path = "mathjax/tex-chtml.js"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]
mathjax_source = {mathjax!r}
'''

_MATHJAX_EXT = '''\
"""Copies MathJax from the sphinx-mathjax-offline wheel into the site (no CDN)."""
import shutil
from pathlib import Path

PARTS = {parts!r}


def _copy(app, exc):
    if exc is not None:
        return
    src = Path(app.config.mathjax_source)
    dest = Path(app.outdir) / "_static" / "mathjax"
    for part in PARTS:
        s, d = src / part, dest / part
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        else:
            shutil.copy2(s, d)


def setup(app):
    app.add_config_value("mathjax_source", "", "html")
    app.connect("build-finished", _copy)
    return {{"parallel_read_safe": True}}
'''

_CSS = """\
/* pain-lib book: wide tables scroll instead of overflowing the page */
.bd-article table { display: block; overflow-x: auto; max-width: 100%; font-size: 0.85em; }
.bd-article table td, .bd-article table th { padding: 0.2em 0.5em; }
.cell_output img { max-width: 100%; height: auto; }
/* the papers' tables are wide: the article takes the page's width */
.bd-page-width { max-width: 100%; }
@media (min-width: 1200px) {
  .bd-main .bd-content .bd-article-container { max-width: calc(100% - 15rem) !important; }
}
.bd-article { max-width: 72rem; }
.cell_output pre { white-space: pre-wrap; word-break: break-word; }
/* pandas tables (claims, verdicts) read left to right like the Markdown ones */
.cell_output table.dataframe th, .cell_output table.dataframe td { text-align: left; }
"""


def mathjax_source() -> Path:
    """The MathJax 3 folder of the ``sphinx-mathjax-offline`` wheel (the book extra)."""
    import importlib.util

    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise BookError("MathJax for offline pages is missing: install the book extra "
                        "(`make book`, or pip install -r requirements/book-lock.txt)")
    folder = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"
    if not (folder / "tex-chtml.js").is_file():
        raise BookError(f"{folder} has no tex-chtml.js: reinstall sphinx-mathjax-offline")
    return folder


def _status_page(results_dir: Path, pages: dict[str, str]) -> str:
    """``<results>/README.md`` as a page: notebook names link to their pages, files to downloads."""
    readme = results_dir / "README.md"
    if not readme.is_file():
        return "# Artifact status\n\nNo `results/README.md` yet: `pain-lib index` writes it.\n"
    text = readme.read_text(encoding="utf-8")
    text = text.replace("# Results\n", "# Artifact status\n", 1)

    def link(m: re.Match) -> str:
        label, target = m.group(1), m.group(2)
        if target.startswith(("http:", "https:", "#")):
            return m.group(0)
        path = (results_dir / target)
        if target.endswith(".md"):
            csv_twin = path.with_suffix(".csv")
            if csv_twin.is_file():
                return f"[{label}](_results/{Path(target).with_suffix('.csv').as_posix()})"
            return label
        return f"[{label}](_results/{target})" if path.is_file() else label

    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", link, text)
    # the notebook column: a link to its page
    for nb_id, page in sorted(pages.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(rf"\| {re.escape(nb_id)} \|", f"| [{nb_id}]({page}.ipynb) |", text)
    return text


def _copy_downloads(results_dir: Path, dest: Path) -> None:
    """The committed tables and figures, for the status page's links (csv, png, svg)."""
    for f in results_dir.rglob("*"):
        if f.is_file() and f.suffix in (".csv", ".png", ".svg") and "executed" not in f.relative_to(results_dir).parts:
            target = dest / f.relative_to(results_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)


def write_sources(src: Path, *, results_dir: Path, root: Path | None = None) -> dict[str, Any]:
    """Lay out the book's Sphinx project in ``src`` (emptied first). Returns a summary:
    ``pages`` (page path -> how it was made) and ``sets`` (the results sets' labels)."""
    import nbformat

    from .registry import load_registry

    src, results_dir = Path(src), Path(results_dir)
    if src.exists():
        shutil.rmtree(src)
    (src / "_static").mkdir(parents=True)
    reg = load_registry(root)
    entries = list(reg.notebooks)
    papers = {row["paper"]: row for row in paper_summaries()}
    sets = results_sets(results_dir)
    made: dict[str, str] = {}
    main_pages: dict[str, str] = {}
    set_pages: dict[str, list[str]] = {}
    for rs in sets:
        base = src / rs.label if rs.label else src
        groups: dict[str, list[str]] = {}
        for entry in entries:
            if rs.label and entry.id not in rs.runs and entry.id not in rs.provenance:
                continue  # another profile's set: only the notebooks it ran
            page = f"{rs.label + '/' if rs.label else ''}{entry.id}"
            depth = page.count("/")
            nb, mode = _page(entry, rs, src / "_assets" / (rs.label or "_main"),
                             "../" * depth + f"_assets/{rs.label or '_main'}/")
            if rs.label:
                nb.cells[0].source = nb.cells[0].source.replace("\n", f" ({rs.title})\n", 1) \
                    if "\n" in nb.cells[0].source else nb.cells[0].source + f" ({rs.title})"
            (src / page).parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, src / f"{page}.ipynb")
            made[page] = mode
            groups.setdefault(entry.paper, []).append(entry.id.split("/", 1)[1])
            if not rs.label:
                main_pages[entry.id] = page
        set_pages[rs.label] = []
        for paper, names in groups.items():
            info = papers.get(paper)
            title = f"{paper}: {info['summary'].split(':')[0]}" if info else {"overview": "Overview",
                                                                              "data": "Data and representations"}.get(paper, paper)
            body = [f"# {title}" + (f" ({rs.title})" if rs.label else ""), ""]
            if info:
                body += [info["summary"], "", f"Datasets in the paper: {info['datasets']}. Its artifacts: {info['artifacts']}.", ""]
            notes = _paper_notes(paper)
            if notes:
                body += ["```{toctree}", ":maxdepth: 1", "", *names, "notes", "```", ""]
                (base / paper / "notes.md").write_text(f"# {paper}: shared fidelity notes\n\n{notes}\n", encoding="utf-8")
            else:
                body += ["```{toctree}", ":maxdepth: 1", "", *names, "```", ""]
            (base / paper).mkdir(parents=True, exist_ok=True)
            (base / paper / "index.md").write_text("\n".join(body), encoding="utf-8")
            set_pages[rs.label].append(f"{paper}/index")
        if rs.label:
            (base / "index.md").write_text(
                "\n".join([f"# Results at {rs.title}", "",
                           f"The notebooks that ran at {rs.title} (results in `results/{rs.label}/`), beside the "
                           "main results.", "", "```{toctree}", ":maxdepth: 2", "", *set_pages[rs.label], "```", ""]),
                encoding="utf-8")
    _copy_downloads(results_dir, src / "_results")
    (src / "status.md").write_text(_status_page(results_dir, main_pages), encoding="utf-8")
    (src / "index.md").write_text(_front_page(papers, sets, set_pages), encoding="utf-8")
    (src / "conf.py").write_text(_CONF.format(mathjax=str(mathjax_source())), encoding="utf-8")
    (src / "_mathjax_local.py").write_text(_MATHJAX_EXT.format(parts=MATHJAX_PARTS), encoding="utf-8")
    (src / "_static" / "book.css").write_text(_CSS, encoding="utf-8")
    return {"pages": made, "sets": [rs.label for rs in sets]}


def _paper_notes(paper: str) -> str | None:
    try:
        return (resources.files("pain_lib") / "papers" / paper / "NOTES.md").read_text(encoding="utf-8") \
            .split("\n", 1)[1].replace("\n## ", "\n### ")
    except (OSError, IndexError, ModuleNotFoundError):
        return None


def _front_page(papers: dict[str, dict], sets: list[ResultsSet], set_pages: dict[str, list[str]]) -> str:
    lines = ["# pain-lib: a companion to five facial-video pain-estimation papers", "",
             "Every table and figure of the papers that this repository regenerates, with the notebook that "
             "regenerates it, read here without installing or running anything. Each notebook's page shows its "
             "fidelity notes (where the implementation had to choose), its tables with the paper's value beside "
             "this run's, its figures, the paper's claims with this run's verdicts, and the profile, dataset, "
             "commit and date they came from.", "",
             "**Numbers computed on synthetic data (`synth-*` datasets) are not reproductions of the papers' "
             "real-data numbers**: every table names its dataset beside the paper's.", "",
             "The [artifact-status dashboard](status.md) lists every table and figure of the five papers and "
             "what has been regenerated.", "", "## The papers", "",
             "| paper | what it contributes | datasets | artifacts |", "|---|---|---|---|"]
    for slug, row in papers.items():
        link = f"[`{slug}`]({slug}/index.md)" if f"{slug}/index" in set_pages.get("", []) else f"`{slug}` (no notebook yet)"
        lines.append(f"| {link} | {row['summary']} | {row['datasets']} | {row['artifacts']} |")
    lines += ["", "```{toctree}", ":maxdepth: 2", ":caption: Contents", "", "status", *set_pages.get("", []), "```", ""]
    others = [rs for rs in sets if rs.label]
    if others:
        lines += ["```{toctree}", ":maxdepth: 1", ":caption: Other profiles", "",
                  *[f"{rs.label}/index" for rs in others], "```", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- building and checking
def build(out: Path, *, results_dir: Path, root: Path | None = None, quiet: bool = True) -> dict[str, Any]:
    """Write the sources to ``out/src`` and the HTML to ``out/html``; returns the summary of
    :func:`write_sources` with ``html`` (the folder), ``warnings`` (Sphinx's) and ``seconds``."""
    import io
    import time

    try:
        import myst_nb  # noqa: F401
        import sphinx_book_theme  # noqa: F401
        from sphinx.cmd.build import build_main
    except ImportError as exc:
        raise BookError(f"the book extra is not installed ({exc.name} missing): `make book` installs it "
                        "(pip install --require-hashes -r requirements/book-lock.txt)") from None
    t0 = time.perf_counter()
    out = Path(out)
    summary = write_sources(out / "src", results_dir=results_dir, root=root)
    html = out / "html"
    if html.exists():
        shutil.rmtree(html)
    log = out / "sphinx-warnings.log"
    argv = ["-b", "html", "-j", "1", "-w", str(log), str(out / "src"), str(html)] + (["-q"] if quiet else [])
    err = io.StringIO()
    import contextlib

    with contextlib.redirect_stderr(err):
        rc = build_main(argv)
    if rc != 0:
        raise BookError(f"sphinx-build failed (exit {rc}): see {log}\n{err.getvalue()[-2000:]}")
    summary.update(html=html, warnings=log.read_text(encoding="utf-8") if log.exists() else "",
                   seconds=round(time.perf_counter() - t0, 1))
    return summary


_ERROR_MARKS = ("Traceback (most recent call last)", 'class="output traceback', "output error",
                "ename", "evalue")


def check_site(html: Path, pages: list[str]) -> list[str]:
    """Problems of a built site: a page missing for ``pages``, a page showing an error or a
    traceback, a page loading something from the network (a script, a stylesheet, a font)."""
    problems = []
    html = Path(html)
    for page in pages:
        f = html / f"{page}.html"
        if not f.is_file():
            problems.append(f"no page for {page}")
    for f in sorted(html.rglob("*.html")):
        text = f.read_text(encoding="utf-8", errors="replace")
        body = text.split('<article', 1)[-1]
        for mark in _ERROR_MARKS[:3]:
            if mark in body:
                problems.append(f"{f.relative_to(html)} shows an error ({mark!r})")
        for m in re.finditer(r"""<(?:script|link|img)[^>]+(?:src|href)=["'](https?:)?//[^"']+""", text):
            problems.append(f"{f.relative_to(html)} loads {m.group(0)[:120]} from the network")
    return problems

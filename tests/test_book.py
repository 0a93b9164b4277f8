"""The companion book (pain_lib/book.py) builds offline from what is committed: a page for every
registered notebook, the artifact-status page, MathJax served from the site, nothing loaded from
the network, and never an error cell (an executed notebook with one is not used).

The build from real tiny-profile executed notebooks is in tests/test_notebooks.py (it reuses
their run)."""

from __future__ import annotations

import json
import re
import shutil

import nbformat
import pytest

from pain_lib import book
from pain_lib.registry import load_registry, repo_root

pytest.importorskip("sphinx", reason="the book extra is not installed (`make book-setup` installs requirements/book-lock.txt)")
pytest.importorskip("myst_nb", reason="the book extra is not installed (`make book-setup`)")
pytest.importorskip("sphinx_book_theme", reason="the book extra is not installed (`make book-setup`)")

ENTRIES = load_registry().notebooks
GOOD, BROKEN = "scn/02_table2_parallel_kernels", "scn/01_table1_depth"


def _executed(entry_id: str, *, error: bool) -> nbformat.NotebookNode:
    """A stand-in for a run's executed notebook: the committed one with outputs."""
    entry = next(e for e in ENTRIES if e.id == entry_id)
    nb = nbformat.read(entry.path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[-1].outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": "**OUTPUT-MARKER-42**"}),
                        nbformat.v4.new_output("stream", name="stderr", text="STDERR-MARKER progress 100%"),
                        nbformat.v4.new_output("display_data", data={
                            "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2,
                                                                         "version_minor": 0},
                            "text/plain": "WIDGET-MARKER"})]
    if error:
        code[0].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="ERROR-MARKER",
                                                  traceback=["Traceback (most recent call last)", "ValueError"])]
    return nb


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The book of a copy of the committed results, with one good and one failed executed notebook."""
    results = tmp_path_factory.mktemp("results")
    shutil.copytree(repo_root() / "results", results, dirs_exist_ok=True, ignore=shutil.ignore_patterns("executed"))
    runs = []
    for nb_id, error in ((GOOD, False), (BROKEN, True)):
        path = results / "executed" / f"{nb_id}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(_executed(nb_id, error=error), path)
        runs.append({"id": nb_id, "status": "ok", "profile": "tiny", "device": "cpu", "duration_s": 1.0,
                     "executed": f"executed/{nb_id}.ipynb", "finished": "2026-01-01T00:00:00", "run_id": "r1"})
    with open(results / "runs.jsonl", "a", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in runs)
    out = tmp_path_factory.mktemp("book")
    return book.build(out, results_dir=results), results


def test_every_registered_notebook_has_a_page_and_none_shows_an_error(site):
    summary, _ = site
    html = summary["html"]
    assert set(summary["pages"]) >= {e.id for e in ENTRIES}
    problems = book.check_site(html, [e.id for e in ENTRIES])
    assert not problems, "\n".join(problems)
    assert (html / "index.html").is_file() and (html / "status.html").is_file()
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_an_executed_notebook_is_shown_cleaned_and_a_failed_one_is_not(site):
    summary, _ = site
    html = summary["html"]
    assert summary["pages"][GOOD] == "executed" and summary["pages"][BROKEN] == "committed"
    good = (html / f"{GOOD}.html").read_text()
    assert "OUTPUT-MARKER-42" in good
    assert "STDERR-MARKER" not in good and "WIDGET-MARKER" not in good
    assert "This page is the executed notebook" in good
    broken = (html / f"{BROKEN}.html").read_text()
    assert "ERROR-MARKER" not in broken and "Traceback" not in broken
    assert "as committed" in broken


def test_pages_from_the_committed_results_show_tables_claims_figures_and_provenance(site):
    summary, results = site
    html = summary["html"]
    page = (html / "scn" / "06_table6_transfer.html").read_text()
    prov = json.loads((results / "scn" / "table-6.json").read_text())
    assert summary["pages"]["scn/06_table6_transfer"] == "committed"
    for text in ("Results: scn Table 6", "Claims and verdicts", "paper (dataset)", prov["git_commit"][:10],
                 prov["dataset"], prov["profile"], "Shared fidelity notes"):
        assert text in page, text
    img = re.search(r'<img alt="scn Table 6: table-6" src="\.\./(_images/[^"]+)"', page)
    assert img and (html / img.group(1)).is_file()
    front = (html / "index.html").read_text()
    for row in book.paper_summaries():
        assert row["paper"] in front
    assert "IJCV 2019" in front
    status = (html / "status.html").read_text()
    assert "Status counts" in status and 'href="scn/02_table2_parallel_kernels.html"' in status


def test_another_profiles_results_get_their_own_pages(site):
    summary, results = site
    if not (results / "full" / "runs.jsonl").is_file():
        pytest.skip("no results/full/ committed")
    full = [p for p in summary["pages"] if p.startswith("full/")]
    assert full, summary["pages"]
    assert (summary["html"] / "full" / "index.html").is_file()
    assert "profile full" in (summary["html"] / f"{full[0]}.html").read_text()

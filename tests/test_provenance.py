"""Provenance names the commit a result came from; regenerated results do not make a tree dirty."""

from __future__ import annotations

import subprocess

from pain_lib.notebook import _git_commit


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_results_changes_do_not_make_a_tree_dirty(tmp_path, monkeypatch):
    monkeypatch.delenv("PAIN_LIB_GIT_COMMIT", raising=False)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "a@b")
    _git(tmp_path, "config", "user.name", "a")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "table.csv").write_text("a\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "x")
    clean = _git_commit(tmp_path)
    assert len(clean) == 40
    (tmp_path / "results" / "table.csv").write_text("b\n")  # a regenerated result
    assert _git_commit(tmp_path) == clean
    (tmp_path / "code.py").write_text("x = 2\n")  # changed code
    assert _git_commit(tmp_path) == clean + "+dirty"
    monkeypatch.setenv("PAIN_LIB_GIT_COMMIT", "abc123")  # a copied tree without .git
    assert _git_commit(tmp_path) == "abc123"

"""Shared fixtures. Notebook tests write to a temporary results folder, never to results/."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def tmp_results(tmp_path):
    d = tmp_path / "results"
    d.mkdir()
    return d

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


@pytest.fixture
def one_thread():
    """Tiny tensors: one intra-op thread is as fast and immune to CPU oversubscription."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

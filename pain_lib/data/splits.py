"""Subject-disjoint splits of one sample list: leave-one-subject-out and subject-grouped k-fold.

Protocols across two datasets (the cross-dataset roles) are built on these in
:mod:`pain_lib.experiments.protocols`.

A :class:`Split` holds index arrays into the sample list.  Every split is deterministic
(given ``seed``) and no subject is ever on both sides.

``make_splits(samples, "loso")`` / ``make_splits(samples, "group-kfold:5", seed=0)``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .base import Sample

__all__ = ["Split", "loso", "group_kfold", "make_splits", "parse_cv"]


@dataclass(frozen=True)
class Split:
    """One fold: ``train`` (labelled training) / ``test`` int64 index arrays, the held-out
    subjects, and ``pretext``: unlabelled samples a pretext stage may use (a cross-dataset
    protocol's source videos; empty otherwise)."""

    name: str
    train: np.ndarray
    test: np.ndarray
    test_subjects: tuple[str, ...]
    pretext: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def _subjects(samples: Sequence[Sample]) -> np.ndarray:
    return np.array([s.subject for s in samples])


def loso(samples: Sequence[Sample]) -> list[Split]:
    """One fold per subject (sorted by subject name), that subject held out."""
    subj = _subjects(samples)
    out = []
    for s in sorted(set(subj)):
        test = np.flatnonzero(subj == s)
        out.append(Split(f"loso:{s}", np.flatnonzero(subj != s), test, (s,)))
    return out


def group_kfold(samples: Sequence[Sample], k: int, seed: int = 0) -> list[Split]:
    """``k`` folds of whole subjects, balanced by sample count.

    Subjects are shuffled with ``seed``, then assigned greedily (largest first) to the fold
    with the fewest samples so far.
    """
    subj = _subjects(samples)
    names = sorted(set(subj))
    if not 2 <= k <= len(names):
        raise ValueError(f"group-kfold needs 2 <= k <= number of subjects ({len(names)}), got k={k}")
    rng = np.random.default_rng(seed)
    names = [names[i] for i in rng.permutation(len(names))]
    sizes = {n: int((subj == n).sum()) for n in names}
    order = sorted(names, key=lambda n: -sizes[n])  # stable: ties keep the shuffled order
    folds: list[list[str]] = [[] for _ in range(k)]
    load = np.zeros(k)
    for n in order:
        f = int(np.argmin(load))
        folds[f].append(n)
        load[f] += sizes[n]
    out = []
    for f, members in enumerate(folds):
        test = np.flatnonzero(np.isin(subj, members))
        train = np.flatnonzero(~np.isin(subj, members))
        out.append(Split(f"group-kfold:{k}:{f}", train, test, tuple(sorted(members))))
    return out


def parse_cv(cv: str) -> tuple[str, int | None]:
    """``"loso"`` -> ("loso", None); ``"group-kfold:K"`` -> ("group-kfold", K)."""
    if cv == "loso":
        return "loso", None
    m = re.fullmatch(r"group-kfold:(\d+)", cv)
    if not m:
        raise ValueError(f"unknown cross-validation {cv!r}: use 'loso' or 'group-kfold:K' (e.g. group-kfold:5)")
    return "group-kfold", int(m.group(1))


def make_splits(samples: Sequence[Sample], cv: str, seed: int = 0) -> list[Split]:
    """Folds of ``cv`` (``"loso"`` or ``"group-kfold:K"``) over ``samples``."""
    kind, k = parse_cv(cv)
    return loso(samples) if kind == "loso" else group_kfold(samples, k, seed)

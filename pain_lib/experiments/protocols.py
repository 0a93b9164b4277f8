"""Evaluation protocols: which samples train, which test, and -- across two datasets -- which
feed a pretext without their labels. One place for every split the engine runs.

* ``"loso"`` and ``"group-kfold:K"`` (:func:`splits`): subject-disjoint folds of one sample list
  (:mod:`pain_lib.data.splits`);
* :class:`CrossDataset`: two datasets in one sample list (:func:`two_datasets`), three roles
  kept apart in every fold:

  ==========  ===================================================================================
  role        samples
  ==========  ===================================================================================
  pretext     the source dataset's samples (their labels unused), plus ``pretext_fraction`` of
              the fold's *training* target subjects -- unlabelled (``ctx.unlabelled`` in ``fit``)
  train       the target's training subjects of the fold, labelled (``fit``'s samples); with
              ``source_role="train"`` the source's samples join them, labelled (a supervised
              cross-dataset pre-training)
  test        the target's held-out subjects of the fold: no stage has seen them
  ==========  ===================================================================================

  The folds over the target's subjects are ``target_cv`` (``"group-kfold:K"`` or ``"loso"``).
  A label space the two datasets share (e.g. :class:`~pain_lib.experiments.targets.PainPresence`:
  UNBC's PSPI and BioVid's classes read as pain / no pain) is the target's business, stated in
  the notes of the notebook that uses it.

A protocol object has ``split(samples) -> list[Split]`` and a ``__fingerprint__`` (it is part of
the store key); :func:`~pain_lib.experiments.cross_validate` accepts it as ``cv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.base import Sample
from ..data.splits import Split, group_kfold, loso, make_splits, parse_cv

__all__ = ["splits", "CrossDataset", "two_datasets", "roles", "loso", "group_kfold"]


def splits(samples: Sequence[Sample], cv: str | Any, seed: int = 0) -> list[Split]:
    """The folds of ``cv``: a protocol string (``"loso"``, ``"group-kfold:K"``) or an object with
    ``split(samples)`` (e.g. :class:`CrossDataset`)."""
    if isinstance(cv, str):
        return make_splits(samples, cv, seed)
    if hasattr(cv, "split"):
        return list(cv.split(samples))
    raise TypeError(f"cv must be 'loso', 'group-kfold:K' or a protocol with .split(samples), got {cv!r}")


@dataclass(frozen=True)
class CrossDataset:
    """The cross-dataset protocol of the module docstring.

    Args:
        source: sample ids of the source dataset in the sample list (:func:`two_datasets` makes
            both the list and this protocol); every other sample is the target's.
        target_cv: folds over the target's subjects.
        pretext_fraction: share (0 <= f < 1) of each fold's training target subjects whose
            videos join the pretext, unlabelled (the SSD paper's 0 / 10 / 30 / 50 %).
        source_role: ``"pretext"`` (unlabelled) or ``"train"`` (labelled).
        seed: the folds' and the fraction's draws.
    """

    source: frozenset[str]
    target_cv: str = "group-kfold:3"
    pretext_fraction: float = 0.0
    source_role: str = "pretext"
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.pretext_fraction < 1:
            raise ValueError(f"pretext_fraction must be in [0, 1), got {self.pretext_fraction}")
        if self.source_role not in ("pretext", "train"):
            raise ValueError(f"source_role must be 'pretext' or 'train', got {self.source_role!r}")
        parse_cv(self.target_cv)

    def split(self, samples: Sequence[Sample]) -> list[Split]:
        ids = np.array([s.sample_id for s in samples])
        is_src = np.isin(ids, list(self.source))
        if not is_src.any():
            raise ValueError("no sample of the source dataset is in the sample list: build both with two_datasets()")
        tgt_idx = np.flatnonzero(~is_src)
        if not len(tgt_idx):
            raise ValueError("no sample of the target dataset is in the sample list")
        src_idx = np.flatnonzero(is_src)
        target = [samples[i] for i in tgt_idx]
        pct = int(round(100 * self.pretext_fraction))
        out = []
        for fold in make_splits(target, self.target_cv, self.seed):
            train = tgt_idx[fold.train]
            train_subjects = sorted({samples[i].subject for i in train})
            rng = np.random.default_rng([self.seed, len(out)])
            n_take = int(round(self.pretext_fraction * len(train_subjects)))
            take = {train_subjects[i] for i in rng.permutation(len(train_subjects))[:n_take]}
            shared = np.array([i for i in train if samples[i].subject in take], np.int64)
            pretext = np.concatenate([src_idx, shared]) if self.source_role == "pretext" else shared
            labelled = np.concatenate([src_idx, train]) if self.source_role == "train" else train
            out.append(Split(f"cross-{pct}pct-{fold.name}", np.sort(labelled), tgt_idx[fold.test],
                             fold.test_subjects, np.sort(pretext)))
        return out

    def __fingerprint__(self) -> dict:
        return {"protocol": "cross-dataset", "source": sorted(self.source), "target_cv": self.target_cv,
                "pretext_fraction": self.pretext_fraction, "source_role": self.source_role, "seed": self.seed}


def two_datasets(source: Sequence[Sample], target: Sequence[Sample], **protocol: Any) -> tuple[list[Sample], CrossDataset]:
    """``(samples, protocol)``: the source's and the target's samples in one list and the
    :class:`CrossDataset` protocol over it (``protocol``: its other arguments)."""
    src_ids = {s.sample_id for s in source}
    clash = src_ids & {s.sample_id for s in target}
    if clash:
        raise ValueError(f"{len(clash)} sample ids are in both datasets (e.g. {sorted(clash)[0]!r}): a cross-dataset "
                         "run needs two different datasets")
    return list(source) + list(target), CrossDataset(source=frozenset(src_ids), **protocol)


def roles(samples: Sequence[Sample], split: Split) -> dict[str, set[tuple[str, str]]]:
    """The ``(sample_id, subject)`` pairs of each role of a fold: ``pretext``, ``train``, ``test``
    (for checks and for the notes a notebook prints)."""
    def of(idx: np.ndarray) -> set[tuple[str, str]]:
        return {(samples[i].sample_id, samples[i].subject) for i in idx}

    return {"pretext": of(split.pretext), "train": of(split.train), "test": of(split.test)}

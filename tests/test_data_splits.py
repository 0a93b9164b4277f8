"""Subject-disjoint, deterministic splits."""

from __future__ import annotations

import numpy as np
import pytest

from pain_lib.data import Sample
from pain_lib.data.splits import group_kfold, loso, make_splits, parse_cv
from pain_lib.experiments.protocols import two_datasets


def _samples(n_subjects=7, seed=0, prefix="S"):
    rng = np.random.default_rng(seed)
    out = []
    for s in range(n_subjects):
        for k in range(int(rng.integers(2, 9))):
            out.append(Sample(f"{prefix}{s:02d}", f"{prefix}{s:02d}-{k}", None, None, 25.0, {"class": k % 5}))
    return out


@pytest.mark.parametrize("cv", ["loso", "group-kfold:3", "group-kfold:7"])
def test_no_subject_leakage_and_full_coverage(cv):
    samples = _samples()
    folds = make_splits(samples, cv, seed=1)
    subj = np.array([s.subject for s in samples])
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(len(samples)))  # every sample tested exactly once
    for f in folds:
        assert not set(subj[f.train]) & set(subj[f.test])
        assert len(f.train) + len(f.test) == len(samples)
        assert set(subj[f.test]) == set(f.test_subjects)


def test_deterministic_and_seed_dependent():
    samples = _samples(12)
    a = group_kfold(samples, 4, seed=0)
    b = group_kfold(samples, 4, seed=0)
    assert all(np.array_equal(x.test, y.test) for x, y in zip(a, b))
    c = group_kfold(samples, 4, seed=5)
    assert any(x.test_subjects != y.test_subjects for x, y in zip(a, c))
    sizes = [len(f.test) for f in a]
    assert max(sizes) - min(sizes) <= 8  # balanced by sample count


def test_loso_one_fold_per_subject():
    samples = _samples(5)
    folds = loso(samples)
    assert [f.test_subjects for f in folds] == [(f"S{i:02d}",) for i in range(5)]


def test_cross_dataset_roles_are_subject_grouped():
    src, tgt = _samples(4, 1, prefix="A"), _samples(10, 2, prefix="B")
    samples, protocol = two_datasets(src, tgt, target_cv="group-kfold:5", pretext_fraction=0.3, seed=0)
    folds = protocol.split(samples)
    assert len(folds) == 5
    tested = []
    for f in folds:
        subj = {k: {samples[i].subject for i in getattr(f, k)} for k in ("train", "test", "pretext")}
        tested += subj["test"]
        shared = subj["pretext"] - {s.subject for s in src}
        assert {s.subject for s in src} <= subj["pretext"] and len(shared) == round(0.3 * len(subj["train"]))
        assert shared <= subj["train"] and not subj["test"] & (subj["train"] | subj["pretext"])
    assert sorted(tested) == sorted({s.subject for s in tgt})  # every target subject tested once
    supervised = two_datasets(src, tgt, source_role="train")[1].split(samples)[0]
    assert set(supervised.train) >= set(range(len(src))) and not len(supervised.pretext)


def test_parse_cv_errors():
    assert parse_cv("group-kfold:5") == ("group-kfold", 5)
    for bad in ("kfold:5", "group-kfold", "loso:2"):
        with pytest.raises(ValueError, match="loso"):
            parse_cv(bad)
    with pytest.raises(ValueError, match="2 <= k"):
        group_kfold(_samples(3), 4)

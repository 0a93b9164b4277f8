"""The noise bands have the coverage they claim: a simulation with the subject, fold and frame
structure of the profiles: 3 folds of 5 test subjects (``standard`` and ``full``) and one fold of 5
(a run with ``max_folds=1``, as ``standard`` was before it evaluated every fold)
(``band_sim.py``: UNBC-like frame regression, 5 sequences x 60 scored frames per subject with a
subject random effect and AR(1) frame noise; BioVid-like classification, 4 videos per class per
subject with a subject random effect).

For every metric and profile, over ``EXPERIMENTS`` simulated experiments:

* the 90 % band (:meth:`CVResult.bootstrap`, production defaults) covers the population value
  -- the expectation over subject draws of the fold statistic of 5 test subjects, which is what
  the table's mean over folds estimates, computed from 1,000 simulated folds -- in 85-95 % of
  them (one fold, PCC: 83 %, see ``COVERAGE_FLOOR``);
* the band contains its own point estimate (the table's value) in every one;
* two configurations drawn from one distribution (same subjects and truth, independent model
  effects and noise) are called different (:func:`compare`'s band excludes 0) in at most 10 %
  (one fold: up to 14 % for three metrics, see ``FALSE_CEILING``: with 5 subjects the t
  band is about calibrated, 8-14 % measured, not conservative).

``test_coverage_table`` prints the measured table (``pytest -s``); the numbers are recorded in
``pain_lib/papers/scn/NOTES.md`` (section ``bands``).
"""

from __future__ import annotations

import functools

import band_sim as sim
import numpy as np
import pandas as pd
import pytest

from pain_lib.experiments import BAND_LEVEL, compare

EXPERIMENTS = 300
SUBJECTS = 5  # test subjects per fold (16 subjects in 3 folds)
PROFILES = {"one fold": 1, "three folds": 3}  # fold structures simulated: folds evaluated
KINDS = {"unbc": ("mse", "mae", "pcc", "auc"), "biovid": ("accuracy", "auc")}
#: where the target is not met (1 fold of 5 subjects; measured values in NOTES.md ``bands``): the
#: lowest coverage and the highest false-difference rate accepted there (targets: 85 %, 10 %)
COVERAGE_FLOOR = {("unbc", "one fold", "pcc"): 0.80}
FALSE_CEILING = {("unbc", "one fold", "mae"): 0.12, ("biovid", "one fold", "accuracy"): 0.14,
                 ("biovid", "one fold", "auc"): 0.15}


@pytest.mark.parametrize("name", ["standard", "full"])
def test_the_simulated_structure_is_the_profiles(name):
    """``standard`` and ``full`` evaluate every fold of 3 subject-grouped folds of the standard
    synthetic sets (16 subjects: 5-6 test subjects per fold), the "three folds" structure."""
    from pain_lib.config import get_profile

    p = get_profile(name)
    k = int(p.cv.split(":")[1])
    assert p.cv.startswith("group-kfold:") and (p.max_folds or k) == PROFILES["three folds"] == k
    assert p.synth_scale == "standard" and 16 // k == SUBJECTS


@functools.cache
def measured() -> pd.DataFrame:
    """One row per kind, profile and metric: ``truth, coverage, in_band, false_difference``."""
    rows = []
    for kind, metrics in KINDS.items():
        truth, _ = sim.fold_truth(kind, SUBJECTS, folds=1000)
        draw = sim.draw_unbc if kind == "unbc" else sim.draw_biovid
        for pi, (profile, folds) in enumerate(PROFILES.items()):
            rng = np.random.default_rng([7, pi, len(kind)])
            y, p = draw(rng, EXPERIMENTS, SUBJECTS * folds, configs=2)
            hits = {m: [] for m in metrics}
            inside = {m: [] for m in metrics}
            false = {m: [] for m in metrics}
            for e in range(EXPERIMENTS):
                a = sim.result(y[e], p[0, e], folds, kind=kind)
                b = sim.result(y[e], p[1, e], folds, kind=kind)
                band = a.bootstrap(list(metrics))  # the production defaults
                value = a.summary(list(metrics))
                for m in metrics:
                    lo, hi = band[m]
                    hits[m].append(lo <= truth[m] <= hi)
                    inside[m].append(lo <= value[m][0] <= hi)
                    false[m].append(not compare(a, b, m).within_noise)
            rows += [{"kind": kind, "profile": profile, "metric": m, "truth": truth[m],
                      "coverage": np.mean(hits[m]), "in_band": np.mean(inside[m]),
                      "false_difference": np.mean(false[m])} for m in metrics]
    return pd.DataFrame(rows)


def test_coverage_table():
    t = measured()
    with pd.option_context("display.width", 120, "display.precision", 3):
        print(f"\n{EXPERIMENTS} experiments per row, {BAND_LEVEL:.0%} bands\n{t.to_string(index=False)}")
    assert len(t) == 2 * (4 + 2)


@pytest.mark.parametrize("profile", PROFILES)
def test_the_band_covers_the_population_value_about_as_often_as_it_claims(profile):
    t = measured().query("profile == @profile")
    for r in t.itertuples():
        floor = COVERAGE_FLOOR.get((r.kind, r.profile, r.metric), 0.85)
        assert floor <= r.coverage <= 0.95, (r.kind, r.metric, r.coverage)


def test_the_band_contains_its_own_point_estimate():
    assert (measured()["in_band"] == 1.0).all()


def test_two_draws_of_one_distribution_are_rarely_called_different():
    for r in measured().itertuples():
        ceiling = FALSE_CEILING.get((r.kind, r.profile, r.metric), 0.10)
        assert r.false_difference <= ceiling, (r.kind, r.profile, r.metric, r.false_difference)

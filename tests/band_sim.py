"""Simulated cross-validation results with the subject, fold and frame structure of the
``standard`` and ``full`` profiles (helper of ``test_band_coverage.py``; no test here).

* UNBC-like regression: each test subject has ``sequences`` sequences of ``frames`` scored
  frames; the true PSPI follows a smooth latent pain process with a subject and a sequence
  offset (so some subjects show little or no pain), the prediction is ``0.5 * PSPI`` plus a
  subject offset (part of it shared by every configuration: the subject is hard or easy for
  every model) plus AR(1) noise along the sequence -- frames of a subject are strongly
  correlated, the subject is the unit of independence.
* BioVid-like classification: one score per video, ``videos`` per class per subject; the score
  is ``d * (label - 1/2)`` plus a subject offset plus video noise.

Everything is drawn vectorised over experiments; :func:`unbc_result` / :func:`biovid_result`
wrap one experiment's arrays in a :class:`CVResult` scored by the library's metrics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from pain_lib.experiments import CVResult
from pain_lib.metrics import classification_metrics, regression_metrics


def _ar1(rng, shape, rho, sd):
    """AR(1) along the last axis with marginal standard deviation ``sd`` (stationary start)."""
    e = rng.standard_normal(shape) * sd * np.sqrt(1 - rho**2)
    e[..., 0] = rng.standard_normal(shape[:-1]) * sd
    return lfilter([1.0], [1.0, -rho], e, axis=-1)


def draw_unbc(rng, experiments, subjects, *, sequences=5, frames=60, configs=1):
    """``y_true (E, S, Q, T)`` and ``y_pred (configs, E, S, Q, T)`` of ``experiments``
    experiments of ``subjects`` test subjects."""
    shape = (experiments, subjects, sequences, frames)
    subject = rng.normal(0, 0.8, (experiments, subjects, 1, 1))
    sequence = rng.normal(0, 0.5, (experiments, subjects, sequences, 1))
    latent = -0.8 + subject + sequence + _ar1(rng, shape, 0.95, 1.0)
    y = np.clip(np.round(2 * latent), 0, 16)
    shared = rng.normal(0, 0.5, (experiments, subjects, 1, 1))  # every configuration's difficulty
    pred = np.stack([0.5 * y + 0.5 + shared + rng.normal(0, 0.4, (experiments, subjects, 1, 1))
                     + _ar1(rng, shape, 0.8, 1.0) for _ in range(configs)])
    return y, pred


def draw_biovid(rng, experiments, subjects, *, videos=4, configs=1, d=1.2):
    """``y_true (E, S, 2V)`` (class 0 then class 1) and scores ``(configs, E, S, 2V)``."""
    y = np.broadcast_to(np.repeat([0, 1], videos), (experiments, subjects, 2 * videos))
    shared = rng.normal(0, 0.6, (experiments, subjects, 1))
    s = np.stack([d * (y - 0.5) + shared + rng.normal(0, 0.5, (experiments, subjects, 1))
                  + rng.standard_normal(y.shape) for _ in range(configs)])
    return y, s


_MEMO: dict = {}


def _memo(fn, o, key):
    """``fn(o)``, remembered by the outputs' bytes: :func:`compare` of each metric in turn
    recomputes the same leave-one-subject-out subsets, which the simulation then scores once
    (the values are the same either way)."""
    k = (fn.__name__, hash(o["y_true"].tobytes()), hash(o[key].tobytes()))
    if k not in _MEMO:
        if len(_MEMO) > 5000:
            _MEMO.clear()
        _MEMO[k] = fn(o["y_true"], o[key])
    return _MEMO[k]


def score_unbc(o):
    return _memo(regression_metrics, o, "y_pred")


def score_biovid(o):
    return _memo(classification_metrics, o, "y_score")


def _outputs(y, value, key, fold):
    """One fold's outputs of a ``(S, ...)`` block of subjects (subject ids ``1000 * fold + j``)."""
    s = y.shape[0]
    per = int(np.prod(y.shape[1:]))
    out = {"y_true": y.reshape(-1).astype(float), "subject": np.repeat(np.arange(s) + 1000 * fold, per),
           "sample": np.repeat(np.arange(s), per)}
    if key == "y_score":
        v = value.reshape(-1)
        out["y_score"] = np.column_stack([-v / 2, v / 2])
        out["y_true"] = out["y_true"].astype(int)
    else:
        out["y_pred"] = value.reshape(-1)
    return out


def result(y, value, folds, *, kind="unbc"):
    """The :class:`CVResult` of one experiment: ``y (S, ...)`` and ``value (S, ...)`` of
    ``folds * S_f`` subjects, split into ``folds`` consecutive folds."""
    key, score = ("y_pred", score_unbc) if kind == "unbc" else ("y_score", score_biovid)
    per_fold = y.shape[0] // folds
    outputs, rows = {}, []
    for f in range(folds):
        name = f"fold-{f}"
        sl = slice(f * per_fold, (f + 1) * per_fold)
        o = _outputs(y[sl], value[sl], key, f)
        outputs[name] = o
        rows.append({"fold": name, **score(o)})
    metrics = list(score(outputs["fold-0"]))
    return CVResult(folds=pd.DataFrame(rows), outputs=outputs, histories={}, score_fn=score, metrics=metrics)


def fold_truth(kind, subjects, *, folds=2000, seed=12345, **kw):
    """The population value of each metric: the expectation over subject draws of the fold
    statistic of ``subjects`` test subjects (what the table's mean over folds estimates),
    estimated from ``folds`` simulated folds."""
    rng = np.random.default_rng(seed)
    if kind == "unbc":
        y, p = draw_unbc(rng, folds, subjects, **kw)
        key, score = "y_pred", score_unbc
    else:
        y, p = draw_biovid(rng, folds, subjects, **kw)
        key, score = "y_score", score_biovid
    vals = pd.DataFrame([score(_outputs(y[e], p[0, e], key, 0)) for e in range(folds)])
    return vals.mean().to_dict(), (vals.std() / np.sqrt(folds)).to_dict()

"""Baselines every table shows beside its networks, computed on the same folds and subjects, and
the "learned" flag they decide.

* :class:`TrivialBaseline` -- no input at all: the training fold's mean (regression: the MSE of
  the mean; the pain AUC of a constant is 0.5) or its class frequencies (classification: the
  majority class; chance AUC);
* :class:`LinearBaseline` -- a cheap learned baseline: scikit-learn ridge regression (regression)
  or logistic regression (classification) on a small fixed representation, the face crops
  averaged down to ``size`` × ``size`` px: per frame for a frame target, their mean over the
  video (the mean image) for a sample target.

A configuration **learned** a metric when its noise band excludes the trivial baseline's value
on the side that is better (:func:`learned`): AUC, accuracy and PCC above it (a PCC of a
constant is undefined: above 0), MSE and MAE below it. A claim about a configuration that did not
learn is "not tested (did not learn)" (:mod:`pain_lib.report`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..data.bank import FrameBank
from ..data.base import Sample
from .recipe import FitContext, Fitted, Recipe
from .results import CVResult
from .targets import FramePSPI, Target, targets_of

__all__ = ["TrivialBaseline", "LinearBaseline", "baselines_for", "learned", "HIGHER_IS_BETTER",
           "TRIVIAL_LABEL", "LINEAR_LABEL"]

#: metric -> whether higher is better (the direction "learned" is read in)
HIGHER_IS_BETTER = {"auc": True, "accuracy": True, "pcc": True, "mse": False, "mae": False}
#: the row labels baselines get in a table (not in the papers)
TRIVIAL_LABEL = "Trivial baseline: training-fold mean / majority class (not in the paper)"
LINEAR_LABEL = "Linear baseline: ridge / logistic regression on 8 × 8 px faces (not in the paper)"


def _outputs(target: Target, samples: Sequence[Sample], values: Any, predict) -> dict[str, np.ndarray]:
    """Outputs in the shape :class:`~pain_lib.experiments.ClipRecipe` gives for ``target``:
    one row per frame (frame target) or per sample; ``predict(features) -> predictions``."""
    if target.level == "frame":
        frames = [np.arange(len(v)) for v in values]
        return {"y_true": np.concatenate(values).astype(np.float32), "y_pred": predict("frames"),
                "sample": np.concatenate([np.full(len(f), i) for i, f in enumerate(frames)]),
                "frame": np.concatenate(frames)}
    out = {"y_true": np.asarray(values), "sample": np.arange(len(samples))}
    out["y_score" if target.kind == "classification" else "y_pred"] = predict("samples")
    return out


@dataclass(frozen=True)
class TrivialBaseline(Recipe):
    """The training fold's mean (regression) or class frequencies (classification) for every test
    frame or sample; no input is read."""

    target: Target = FramePSPI()

    name = "trivial-baseline"

    def label(self) -> str:
        return f"trivial-{self.target.key}"

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        return self.target.select(samples)

    def fit(self, samples: Sequence[Sample], y: np.ndarray | None, ctx: FitContext) -> Fitted:
        v = self.target.values(samples)
        flat = np.concatenate([np.ravel(a) for a in v]) if isinstance(v, list) else np.asarray(v)
        if self.target.kind == "classification":
            prior = np.bincount(flat.astype(np.int64), minlength=self.target.num_outputs) / max(len(flat), 1)
            return Fitted({"prior": prior.astype(np.float32)})
        return Fitted({"mean": np.float32(flat.mean())})

    def predict(self, fitted: Fitted, samples: Sequence[Sample], y: np.ndarray | None,
                ctx: FitContext) -> dict[str, np.ndarray]:
        values = self.target.values(samples)
        m = fitted.model

        def predict(kind: str) -> np.ndarray:
            n = sum(len(v) for v in values) if kind == "frames" else len(samples)
            if self.target.kind == "classification":
                return np.tile(np.log(np.asarray(m["prior"]) + 1e-6), (n, 1)).astype(np.float32)
            return np.full(n, float(m["mean"]), np.float32)

        return _outputs(self.target, samples, values, predict)

    def score(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        return self.target.score(outputs)


@dataclass(frozen=True)
class LinearBaseline(Recipe):
    """Ridge (regression) / logistic (classification) regression on face crops averaged down to
    ``size`` × ``size`` px (from the ``crop_size`` px crops of the frame bank): each frame for a
    frame target (every ``every``-th training frame), the video's mean image for a sample target.
    Features are standardised with the training fold's statistics; ``alpha`` is the ridge
    penalty (logistic: ``C = 1 / alpha``)."""

    target: Target = FramePSPI()
    size: int = 8
    crop_size: int = 32
    crop: str = "auto"
    every: int = 4
    alpha: float = 10.0

    name = "linear-baseline"

    def label(self) -> str:
        return f"linear-{self.target.key}"

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        return self.target.select(samples)

    def prepare(self, samples: Sequence[Sample], cache_dir=None) -> None:
        FrameBank(size=self.crop_size, crop=self.crop, cache_dir=cache_dir).fill_cache(samples)

    def _features(self, samples: Sequence[Sample], ctx: FitContext, every: int = 1) -> list[np.ndarray]:
        """One ``(T_i / every, 3·size²)`` float32 array per sample (frame target) or ``(1, ...)``."""
        bank = FrameBank.shared(size=self.crop_size, crop=self.crop, cache_dir=ctx.cache_dir)
        offsets, lengths = bank.add(samples)
        out = []
        for o, n in zip(offsets, lengths):
            x = bank.frames[int(o):int(o + n)].cpu().permute(0, 3, 1, 2).float().div(255.0)
            x = torch.nn.functional.adaptive_avg_pool2d(x, self.size).flatten(1).numpy()
            out.append(x[::every] if self.target.level == "frame" else x.mean(0, keepdims=True))
        return out

    def fit(self, samples: Sequence[Sample], y: np.ndarray | None, ctx: FitContext) -> Fitted:
        from sklearn.linear_model import LogisticRegression, Ridge

        every = self.every if self.target.level == "frame" else 1
        x = np.concatenate(self._features(samples, ctx, every))
        v = self.target.values(samples)
        t = np.concatenate([np.asarray(a)[::every] for a in v]) if isinstance(v, list) else np.asarray(v)
        mean, std = x.mean(0), x.std(0) + 1e-6
        xs = (x - mean) / std
        if self.target.kind == "classification":
            classes = np.unique(t)
            if len(classes) < 2:  # one class in the fold: predict it (the trivial answer)
                coef, bias = np.zeros((1, x.shape[1])), np.array([0.0])
            else:
                m = LogisticRegression(C=1.0 / self.alpha, max_iter=1000).fit(xs, t)
                coef, bias = m.coef_, m.intercept_
            return Fitted({"mean": mean, "std": std, "coef": coef.astype(np.float32), "bias": bias.astype(np.float32),
                           "classes": classes.astype(np.int64)})
        m = Ridge(alpha=self.alpha).fit(xs, t)
        return Fitted({"mean": mean, "std": std, "coef": m.coef_.astype(np.float32)[None],
                       "bias": np.atleast_1d(m.intercept_).astype(np.float32), "classes": np.zeros(0, np.int64)})

    def predict(self, fitted: Fitted, samples: Sequence[Sample], y: np.ndarray | None,
                ctx: FitContext) -> dict[str, np.ndarray]:
        m = fitted.model
        feats = np.concatenate(self._features(samples, ctx))
        z = ((feats - m["mean"]) / m["std"]) @ np.asarray(m["coef"]).T + np.asarray(m["bias"])

        def predict(kind: str) -> np.ndarray:
            if self.target.kind != "classification":
                return z[:, 0].astype(np.float32)
            scores = np.full((len(z), self.target.num_outputs), -1e3, np.float32)
            classes = np.asarray(m["classes"])
            if len(classes) == 1:
                scores[:, classes[0]] = 0.0
            elif z.shape[1] == 1:  # binary: the decision function is the log-odds of classes[1]
                scores[:, classes[0]], scores[:, classes[1]] = -z[:, 0] / 2, z[:, 0] / 2
            else:
                scores[:, classes] = z
            return scores

        return _outputs(self.target, samples, self.target.values(samples), predict)

    def score(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        return self.target.score(outputs)


def baselines_for(recipe: Recipe, *, crop_size: int | None = None) -> list[tuple[str, Recipe]]:
    """``(row label, baseline recipe)`` of the trivial and the linear baseline for ``recipe``'s
    (first) target; none for a recipe without a target."""
    target = getattr(recipe, "target", None)
    if target is None:
        return []
    target = targets_of(target)[0]
    setup = getattr(recipe, "setup", None)
    size = int(crop_size or getattr(setup, "size", 32))
    crop = getattr(setup, "crop", "auto")
    return [(TRIVIAL_LABEL, TrivialBaseline(target)), (LINEAR_LABEL, LinearBaseline(target, crop_size=size, crop=crop))]


def learned(result: CVResult, trivial: CVResult, *, band: Mapping[str, tuple[float, float]] | None = None) -> dict[str, bool | None]:
    """metric -> whether ``result``'s noise band excludes the trivial baseline's value on the
    better side (``None`` where the band or the baseline's value is undefined, or the metric has
    no direction)."""
    band = band if band is not None else result.bootstrap()
    base = {m: v for m, (v, _) in trivial.summary().items()}
    out: dict[str, bool | None] = {}
    for m, (lo, hi) in band.items():
        higher = HIGHER_IS_BETTER.get(m)
        ref = base.get(m, np.nan)
        if m == "pcc" and not np.isfinite(ref):
            ref = 0.0  # a constant predictor has no correlation
        if higher is None or not (np.isfinite(lo) and np.isfinite(hi) and np.isfinite(ref)):
            out[m] = None
        else:
            out[m] = bool(lo > ref) if higher else bool(hi < ref)
    return out

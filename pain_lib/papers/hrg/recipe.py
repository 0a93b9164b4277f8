"""The hrg paper's method as an engine recipe: Algorithm 1's two stages on the dual-branch network.

* **Stage 1** (Algorithm 1, lines 1-8): the network of Table I trained with ``w_s L_s + w_h L_h``
  (cross-entropy of the visual branch, Eq. 7; MSE of the physiological branch's HRG, Eq. 6, on
  the standardised HRG). A store stage (``ctx.stage("hrg-stage1", ...)``): its key holds the
  training fold's videos, the network, the clip setup, the targets, the loss weights and the
  seed -- not the fusion or the stage-2 schedule -- so every stage-2 configuration of a fold
  (Fig. 15's strategies, Table III's rows) shares one stage 1. ``stage1_weights=(1, 0)`` trains
  the visual branch alone, ``(0, 1)`` the physiological branch alone (Table III's single
  branches: the other branch gets no gradient).
* **The analyzer**: a Gaussian of the HRG per pain level of the task, fitted on the training
  fold's HRG labels (normalised to [0, 1] with the training fold's min and max).
* **Stage 2** (lines 9-16): joint fine-tuning of the whole network with the fusion's loss for
  ``stage2_epochs``: ``probability`` -- Eq. 8, the cross-entropy of ``P_f = P_h · P_v`` (Eq. 5,
  renormalised), ``P_h`` the analyzer's posterior (Eq. 4) of the predicted HRG; ``feature`` --
  a classifier on the concatenated pooled features of both branches; ``decision`` -- the
  physiological branch's output layer replaced by a pain classifier whose logits are added to
  the visual branch's. ``none`` (the visual branch) and ``physiological`` (the analyzer's
  posterior of the predicted HRG alone) have no stage 2.

Outputs per test video: ``y_true``/``y_score`` of the fusion (the table's accuracy), and the
visual branch's (``visual_``), the physiological branch + analyzer's (``physio_``) and the
predicted vs true normalised HRG (``hrg_``), so one fold scores every view of the network.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ... import metrics
from ...data.base import Sample
from ...experiments.clips import ClipRecipe, clip_batches, to_memory_format, validation_split
from ...experiments.recipe import FitContext, Fitted
from ...experiments.targets import HeartRateGain
from ...models import get_model
from ...train import evaluate_loss, fit, make_sgd, make_step, make_step_lr, precise_bn, predict
from .analyzer import GaussianAnalyzer, HRGScale, fuse_log_probabilities

__all__ = ["HRGRecipe", "FUSIONS", "Stage1Loss", "FusionLoss"]

#: fusion strategies (Fig. 15) and the single-branch readings (Table III)
FUSIONS = ("none", "physiological", "probability", "feature", "decision")
_step = make_step()


class Stage1Loss(nn.Module):
    """``w_s · CE(visual logits, class) + w_h · MSE(h, HRG) / std²`` (Eqs. 6-7, Algorithm 1 line 5);
    targets ``(B, 2)``: class, HRG."""

    def __init__(self, classes: int, hrg_std: float, weights: tuple[float, float]) -> None:
        super().__init__()
        self.k, self.scale, self.w = classes, 1.0 / max(hrg_std, 1e-3) ** 2, weights

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        k = self.k
        loss = out.new_zeros(())
        if self.w[0]:
            loss = loss + self.w[0] * F.cross_entropy(out[:, :k], target[:, 0].long())
        if self.w[1]:
            loss = loss + self.w[1] * F.mse_loss(out[:, k], target[:, 1]) * self.scale
        return loss


class FusionLoss(nn.Module):
    """Stage 2's loss of a fusion strategy (Eq. 8 for ``probability``)."""

    def __init__(self, fusion: str, classes: int, analyzer: GaussianAnalyzer, scale: HRGScale) -> None:
        super().__init__()
        self.fusion, self.k, self.analyzer, self.scale = fusion, classes, analyzer, scale

    def log_scores(self, out: torch.Tensor) -> torch.Tensor:
        return fused_scores(out, self.fusion, self.k, self.analyzer, self.scale)

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.nll_loss(torch.log_softmax(self.log_scores(out), 1), target[:, 0].long())


def fused_scores(out: torch.Tensor, fusion: str, k: int, analyzer: GaussianAnalyzer, scale: HRGScale) -> torch.Tensor:
    """Per-class scores (log-probabilities or logits) of ``fusion`` from the network's output."""
    vis, h = out[:, :k], out[:, k]
    if fusion == "none":
        return torch.log_softmax(vis, 1)
    log_ph = analyzer.to(out.device).log_posterior(scale.to(out.device)(h.float()))
    if fusion == "physiological":
        return log_ph
    if fusion == "probability":
        return fuse_log_probabilities(torch.log_softmax(vis.float(), 1), log_ph)
    if fusion == "feature":
        return out[:, k + 1:2 * k + 1]
    if fusion == "decision":
        return vis + out[:, 2 * k + 1:]
    raise ValueError(f"unknown fusion {fusion!r}; fusions: {', '.join(FUSIONS)}")


@dataclass(frozen=True)
class HRGRecipe(ClipRecipe):
    """The dual-branch network, its HRG analyzer and a fusion (see the module docstring).
    ``target`` is ``(class target, HRG target)``: e.g. ``(ClassPair(4, 0), TrialHeartRateGain())``."""

    model: str = "hrg_dual"
    fusion: str = "probability"
    stage2_epochs: int = 1
    stage1_weights: tuple[float, float] = (1.0, 1.0)
    #: floor of each level's HRG standard deviation (on the [0, 1] scale)
    min_sigma: float = 0.02

    name = "hrg"
    version = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        ts = self.targets
        if len(ts) != 2 or ts[0].kind != "classification" or not isinstance(ts[1], HeartRateGain):
            raise TypeError("HRGRecipe needs target=(a class target, a HeartRateGain target), got "
                            f"{self.target!r}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; fusions: {', '.join(FUSIONS)}")
        if len(self.stage1_weights) != 2 or not any(self.stage1_weights):
            raise ValueError(f"stage1_weights: (w_s, w_h), not both zero, got {self.stage1_weights!r}")

    @property
    def classes(self) -> int:
        return self.targets[0].num_outputs

    def label(self) -> str:
        return f"hrg-{self.fusion}"

    def build(self) -> nn.Module:
        return get_model(self.model, classes=self.classes, **dict(self.cfg))

    # -- stage 1 ----------------------------------------------------------------------
    def stage1_identity(self, samples: Sequence[Sample], ctx: FitContext) -> dict[str, Any]:
        """What stage 1's result depends on (its store key): not the fusion, not stage 2."""
        return {"samples": [s.sample_id for s in samples], "model": self.model, "cfg": dict(self.cfg),
                "classes": self.classes, "setup": self.setup, "targets": list(self.targets),
                "weights": tuple(float(w) for w in self.stage1_weights), "seed": ctx.seed}

    def _train(self, net: nn.Module, samples: Sequence[Sample], loss: nn.Module, epochs: int, ctx: FitContext,
               checkpoint=None):
        setup = self.setup
        net = to_memory_format(net, setup, ctx.device)
        torch.manual_seed(ctx.seed)
        tr, va = validation_split(samples, setup.val_subjects if setup.patience else 0, ctx.seed)
        common = {"device": ctx.device, "cache_dir": ctx.cache_dir, "target": self.target, "seed": ctx.seed}
        batches = clip_batches([samples[i] for i in tr], setup, train=True, **common)
        val_fn = None
        if va:
            val = clip_batches([samples[i] for i in va], setup, train=False, **common)
            val_fn = lambda m: evaluate_loss(m, val, loss_fn=loss, device=ctx.device, step_fn=_step,  # noqa: E731
                                             amp=setup.amp)
        opt = make_sgd(net, lr=setup.lr)
        history = fit(net, batches, loss_fn=loss, optimizer=opt, scheduler=make_step_lr(opt, setup.lr_step),
                      epochs=epochs, device=ctx.device, amp=setup.amp, step_fn=_step, val_fn=val_fn,
                      patience=setup.patience, grad_clip=setup.grad_clip or None, progress=False,
                      checkpoint=checkpoint)
        precise_bn(net, batches, ctx.device, max_batches=-(-setup.precise_bn_clips // setup.batch_size))
        ctx.inputs.update({f"faces:{k}": v for k, v in batches.bank.digests.items()
                           if k in {s.sample_id for s in samples}})
        return net.cpu(), history

    def stage1(self, samples: Sequence[Sample], ctx: FitContext) -> dict[str, Any]:
        """Stage 1's network and learning curve, from the store when another configuration of
        the fold computed it."""
        hrg = np.asarray(self.targets[1].values(samples), np.float64)

        def compute() -> dict[str, Any]:
            torch.manual_seed(ctx.seed)
            net = self.build()
            mean, std = float(hrg.mean()), float(max(hrg.std(), 1e-3))
            net.head.set_target_scale(mean, std)
            loss = Stage1Loss(self.classes, std, tuple(self.stage1_weights))
            net, hist = self._train(net, samples, loss, self.setup.epochs, ctx)
            return {"net": net, "history": {c: hist[c].astype(float).tolist() for c in hist.columns}}

        return ctx.stage("hrg-stage1", self.stage1_identity(samples, ctx), compute)

    # -- the contract -------------------------------------------------------------------
    def fit(self, samples: Sequence[Sample], y: np.ndarray | None, ctx: FitContext) -> Fitted:
        import pandas as pd

        cls = np.asarray(self.targets[0].values(samples))
        hrg = np.asarray(self.targets[1].values(samples), np.float64)
        s1 = self.stage1(samples, ctx)
        net = s1["net"]
        hist1 = pd.DataFrame(s1["history"]).assign(stage=1)
        lo, hi = float(hrg.min()), float(hrg.max())
        scale = HRGScale(lo, hi)
        analyzer = GaussianAnalyzer.fit(scale(torch.as_tensor(hrg)).numpy(), cls, self.classes, min_sigma=self.min_sigma)
        history = hist1
        if self.fusion not in ("none", "physiological") and self.stage2_epochs > 0:
            net = copy.deepcopy(net)
            loss = FusionLoss(self.fusion, self.classes, analyzer, scale)
            net, hist2 = self._train(net, samples, loss, self.stage2_epochs, ctx, checkpoint=ctx.checkpoint)
            history = pd.concat([hist1, hist2.assign(stage=2)], ignore_index=True)
        _, where = self.targets[1].heart_rates(samples)
        info = {"epochs": int(len(history)), "final_train_loss": float(history["train_loss"].iloc[-1]),
                "stage1_epochs": int(len(hist1)), "hrg_min": lo, "hrg_max": hi,
                "hr_source": ",".join(sorted(set(where)))}
        return Fitted({"net": net, "analyzer": analyzer.state(), "scale": np.array([lo, hi])}, history, info)

    def network_outputs(self, net: nn.Module, samples: Sequence[Sample], ctx: FitContext) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean network output over each sample's evaluation clips ``(N, 3K+1)``, the targets
        ``(N, 2)`` and the sample positions."""
        net = to_memory_format(net, self.setup, ctx.device)
        batches = clip_batches(samples, self.setup, train=False, target=self.target, device=ctx.device,
                               cache_dir=ctx.cache_dir, seed=ctx.seed)
        pred, target = predict(net, batches, ctx.device, amp=self.setup.amp, return_targets=True)
        pos = batches.positions
        vids = np.unique(pos)
        mean = np.stack([pred[pos == v].mean(0) for v in vids]).astype(np.float32)
        first = np.array([np.flatnonzero(pos == v)[0] for v in vids])
        return mean, target.reshape(len(target), -1)[first], vids

    def predict(self, fitted: Fitted, samples: Sequence[Sample], y: np.ndarray | None,
                ctx: FitContext) -> dict[str, np.ndarray]:
        m = fitted.model
        analyzer = GaussianAnalyzer.from_state(m["analyzer"])
        scale = HRGScale(*np.asarray(m["scale"], float))
        out, truth, vids = self.network_outputs(m["net"], samples, ctx)
        k = self.classes
        o = torch.as_tensor(out)
        with torch.no_grad():
            scores = {f: fused_scores(o, f, k, analyzer, scale).numpy() for f in ("none", "physiological", self.fusion)}
            h01 = scale(o[:, k]).numpy()
            true01 = scale(torch.as_tensor(truth[:, 1])).numpy()
        cls = truth[:, 0].astype(np.int64)
        return {"sample": vids, "y_true": cls, "y_score": scores[self.fusion].astype(np.float32),
                "visual_y_true": cls, "visual_y_score": scores["none"].astype(np.float32),
                "physio_y_true": cls, "physio_y_score": scores["physiological"].astype(np.float32),
                "hrg_y_true": true01.astype(np.float32), "hrg_y_pred": h01.astype(np.float32)}

    def score(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        out = dict(metrics.classification_metrics(outputs["y_true"], outputs["y_score"]))
        for p in ("visual", "physio"):
            if f"{p}_y_score" in outputs:
                sub = metrics.classification_metrics(outputs[f"{p}_y_true"], outputs[f"{p}_y_score"])
                out.update({f"{p}_{k}": v for k, v in sub.items()})
        if "hrg_y_pred" in outputs:
            t, p = np.asarray(outputs["hrg_y_true"], float), np.asarray(outputs["hrg_y_pred"], float)
            out["hrg_mse"] = metrics.mse(t, p)
            out["hrg_pcc"] = metrics.pcc(t, p) if len(t) > 2 else float("nan")
        return out

    def replace(self, **changes: Any) -> HRGRecipe:
        return replace(self, **changes)

"""Clip-network recipes: a registered 3D network trained on face clips of a training fold.

::

    setup = ClipSetup.from_profile(run.profile)
    recipe = ClipRecipe("scn", {"depth": 26, "base_width": 8}, setup)                 # frame PSPI
    recipe = ClipRecipe("scn", cfg, setup, target=ClassPair(4, 0))                     # BioVid [4-0]
    recipe = ClipRecipe("r2plus1d", cfg, setup, target=(ClassPair(4, 0), HeartRateGain()))  # two targets
    res = cross_validate(recipe, recipe.select(samples), cv="group-kfold:3", store=run.experiment_dir)

Targets (:mod:`pain_lib.experiments.targets`) say what is predicted. A **frame** target (frame
PSPI) makes a clip's target its centre frame's value; evaluation slides clips ``eval_hop``
frames apart over each test sequence and scores every centre frame. A **sample** target (a
class pair, a sequence label, heart-rate gain) gives every clip of a sample the sample's value;
evaluation averages the outputs (logits, or predicted values) of a sample's clips. Several
sample targets share one network: the head has the sum of their outputs, the loss is the sum of
their losses, and the second and later targets' outputs and metrics carry their ``key`` prefix.

Which frames make a clip is the setup's ``sampler`` (default: contiguous windows; key frames,
one frame per segment, frame skipping: :mod:`pain_lib.experiments.samplers`).

Training (:meth:`ClipRecipe.fit`): SGD (momentum 0.9, weight decay 1e-4), the learning rate
divided by 10 every ``lr_step`` epochs, up to ``epochs`` epochs; with ``patience`` > 0 the
``val_subjects`` training subjects are held out, their validation loss is measured after every
epoch, training stops after ``patience`` epochs without improvement and the best epoch's weights
are kept. A single regression target trains on standardised values (the head maps its output
back with the training fold's mean and standard deviation). Finally the BatchNorm statistics are
recomputed with the final weights (precise BN). Every clip is drawn from a
:class:`~pain_lib.data.bank.FrameBank` on the training device.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..config import Profile
from ..data.bank import ClipBatches, FrameBank
from ..data.base import Sample
from ..models import get_model
from ..train import evaluate_loss, fit, make_sgd, make_step, make_step_lr, precise_bn, predict
from .recipe import FitContext, Fitted, Recipe, filled_cfg, load_trunk, profile_fields
from .targets import FramePSPI, StandardisedMSE, Target, targets_of

__all__ = ["ClipSetup", "ClipRecipe", "StandardisedMSE", "target_statistics", "TargetLoss",
           "continuous_trace", "to_memory_format", "clip_batches", "bank_for", "validation_split"]


@dataclass(frozen=True)
class ClipSetup:
    """Input geometry and training schedule of a clip experiment (defaults: the profile's)."""

    clip_len: int
    size: int
    stride: int
    epochs: int
    batch_size: int
    lr: float
    amp: bool
    #: random training clips drawn per sample and epoch
    clips_per_sample: int = 4
    #: frames between consecutive evaluation clips of a test sequence
    eval_hop: int = 4
    #: SGD step schedule: lr / 10 every ``lr_step`` epochs (paper: 10)
    lr_step: int = 10
    #: clip the gradient norm of every step to this value (0: off)
    grad_clip: float = 0.0
    #: early stopping: epochs without a better validation loss before stopping (0: off)
    patience: int = 0
    #: training subjects held out for the validation loss (used only with ``patience``)
    val_subjects: int = 0
    crop: str = "auto"
    #: run the network in channels-last (NDHWC) memory layout: faster 3D convolutions on CPUs
    #: (oneDNN) and tensor cores; the numbers are the same
    channels_last: bool = True
    #: recompute activations in the backward pass (paper-size networks at batch 64 on one GPU)
    grad_checkpointing: bool = False
    #: training clips whose BatchNorm statistics replace the running averages after training
    precise_bn_clips: int = 64
    #: which frames make a clip (``None``: contiguous windows of ``clip_len`` frames ``stride``
    #: apart; see :mod:`pain_lib.experiments.samplers`)
    sampler: Any = None

    @classmethod
    def from_profile(cls, profile: Profile, **overrides: Any) -> ClipSetup:
        """The profile's clip geometry and schedule (fields of the same name), then ``overrides``."""
        base = profile_fields(cls, profile, size=profile.image_size, stride=profile.temporal_stride)
        return cls(**{**base, **overrides})

    def replace(self, **changes: Any) -> ClipSetup:
        return dataclasses.replace(self, **changes)


def target_statistics(samples: Sequence[Sample]) -> tuple[float, float]:
    """Mean and standard deviation of the frame PSPI of ``samples`` (a training set without pain:
    std 1, the unit scale; see :meth:`~pain_lib.experiments.targets.Target.statistics`)."""
    target = FramePSPI()
    return target.statistics(target.values(samples))


class TargetLoss(nn.Module):
    """The sum of the losses of several sample targets sharing one head: target ``i`` owns
    ``num_outputs`` consecutive outputs and column ``i`` of the targets ``(B, k)``."""

    def __init__(self, targets: Sequence[Target], stats: Sequence[tuple[float, float] | None]) -> None:
        super().__init__()
        self.parts = nn.ModuleList(t.loss(st) for t, st in zip(targets, stats))
        self.kinds = [t.kind for t in targets]
        self.widths = [t.num_outputs for t in targets]

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total, at = prediction.new_zeros(()), 0
        for i, (loss, kind, w) in enumerate(zip(self.parts, self.kinds, self.widths)):
            out = prediction[:, at:at + w]
            total = total + (loss(out, target[:, i].long()) if kind == "classification" else loss(out[:, 0], target[:, i]))
            at += w
        return total


def to_memory_format(net: nn.Module, setup: ClipSetup, device: torch.device | str) -> nn.Module:
    """``net`` on ``device`` in the memory layout of ``setup``: channels-last 3D weights on a GPU
    (the tensor cores' NDHWC kernels, the layout the frame bank's clips already have); contiguous
    on a CPU, where oneDNN's channels-last 3D convolutions of torch 2.14 are ~30x slower. The
    numbers are the same either way."""
    device = torch.device(device)
    net = net.to(device)
    if setup.channels_last and device.type == "cuda":
        return net.to(memory_format=torch.channels_last_3d)
    return net.to(memory_format=torch.contiguous_format)


def bank_for(samples: Sequence[Sample], setup: ClipSetup, device: torch.device | str, cache_dir=None) -> FrameBank:
    """The process-wide :class:`FrameBank` for ``setup``'s crop size on ``device`` -- or on the
    CPU when the samples' frames would take more than 40 % of the GPU's free memory (then each
    batch is copied to the GPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        need = sum(s.n_frames for s in samples) * setup.size * setup.size * 3
        free, _ = torch.cuda.mem_get_info(device)
        if need > 0.4 * free:
            device = torch.device("cpu")
    return FrameBank.shared(size=setup.size, crop=setup.crop, cache_dir=cache_dir, device=device)


def target_arrays(targets: Sequence[Target], samples: Sequence[Sample]) -> dict[str, Any]:
    """The :class:`ClipBatches` targets of ``samples``: ``frame_targets`` for a frame target,
    ``labels`` for one sample target, ``(N, k)`` float ``labels`` for ``k`` sample targets."""
    if len(targets) == 1:
        values = targets[0].values(samples)
        return {"frame_targets": values} if targets[0].level == "frame" else {"labels": np.asarray(values)}
    return {"labels": np.stack([np.asarray(t.values(samples), np.float32) for t in targets], 1)}


def clip_batches(samples: Sequence[Sample], setup: ClipSetup, *, device: torch.device | str, cache_dir=None,
                 train: bool, target: Target | Sequence[Target] | None = None, seed: int = 0,
                 hop: int | None = None, batch_size: int | None = None) -> ClipBatches:
    """Training (``train=True``: random clips, redrawn every epoch) or evaluation (the sampler's
    evaluation clips, e.g. sliding windows ``hop`` apart, default ``setup.eval_hop``) batches of
    ``samples`` with the values of ``target`` (``None``: no targets, e.g. a pretext)."""
    bank = bank_for(samples, setup, device, cache_dir)
    targets = target_arrays(targets_of(target), samples) if target is not None else {}
    geometry = {"per_sample": setup.clips_per_sample} if train else {"hop": setup.eval_hop if hop is None else hop}
    bs = batch_size or (setup.batch_size if train else max(setup.batch_size, 16))
    return ClipBatches(bank, samples, clip_len=setup.clip_len, stride=setup.stride, batch_size=bs, seed=seed,
                       drop_last=train and setup.clips_per_sample * len(samples) > bs, sampler=setup.sampler,
                       **geometry, **targets)


def validation_split(samples: Sequence[Sample], n_subjects: int, seed: int) -> tuple[list[int], list[int]]:
    """Indices ``(train, validation)``: ``n_subjects`` training subjects (drawn with ``seed``) held
    out for early stopping; none when fewer than ``n_subjects + 2`` subjects remain."""
    subjects = sorted({s.subject for s in samples})
    if n_subjects <= 0 or len(subjects) < n_subjects + 2:
        return list(range(len(samples))), []
    rng = np.random.default_rng([seed, 7])
    held = {subjects[i] for i in rng.permutation(len(subjects))[:n_subjects]}
    train = [i for i, s in enumerate(samples) if s.subject not in held]
    val = [i for i, s in enumerate(samples) if s.subject in held]
    return train, val


def _first_output(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A regression network's (B,) intensity (its head may return (B, 1))."""
    return model(x).reshape(len(x), -1)[:, 0]


#: step functions of a regression head (its first output) and of a classification head (logits)
regression_step = make_step(forward=_first_output)
classification_step = make_step()


@dataclass(frozen=True)
class ClipRecipe(Recipe):
    """A registered 3D network (``model`` with builder arguments ``cfg``; the head comes from the
    target) trained on clips of the training fold (see the module docstring). ``target`` is a
    :class:`~pain_lib.experiments.targets.Target` or a tuple of sample targets."""

    model: str
    cfg: Mapping[str, Any] = field(default_factory=dict)
    setup: ClipSetup | None = None
    target: Target | tuple[Target, ...] = FramePSPI()

    name = "clip"

    def __post_init__(self) -> None:
        if self.setup is None:
            raise TypeError("ClipRecipe needs setup=ClipSetup.from_profile(run.profile)")
        targets_of(self.target)  # checked

    @property
    def targets(self) -> tuple[Target, ...]:
        return targets_of(self.target)

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        """The samples every target of this recipe can read."""
        out = list(samples)
        for t in self.targets:
            keep = {id(s) for s in t.select(out)}
            out = [s for s in out if id(s) in keep]
        return out

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["cfg"] = filled_cfg(self.model, self.cfg)
        return ident

    def label(self) -> str:
        return self.model

    def prepare(self, samples: Sequence[Sample], cache_dir=None) -> None:
        """Decode and crop every sample's faces into the on-disk cache (in parallel processes)."""
        FrameBank(size=self.setup.size, crop=self.setup.crop, cache_dir=cache_dir).fill_cache(samples)

    def head(self) -> dict[str, Any]:
        ts = self.targets
        if len(ts) == 1:
            return ts[0].head()
        return {"head": "classification", "num_outputs": sum(t.num_outputs for t in ts)}

    def build(self) -> nn.Module:
        """The untrained network with the targets' head (on the CPU)."""
        net = get_model(self.model, **dict(self.cfg), **self.head())
        if self.setup.grad_checkpointing and hasattr(net, "set_grad_checkpointing"):
            net.set_grad_checkpointing(True)
        return net

    def initial_state(self, samples: Sequence[Sample], y: np.ndarray | None,
                      ctx: FitContext) -> tuple[dict | None, dict[str, Any]]:
        """Weights to start from (all but the head's are loaded; ``None``: the library's
        initialisation) and facts about them for the fold's record. Subclasses return pre-trained
        weights (e.g. the SCN paper's knowledge transfer)."""
        return None, {}

    def _loss(self, samples: Sequence[Sample]) -> tuple[nn.Module, Any, tuple[float, float] | None]:
        ts = self.targets
        stats = [t.statistics(t.values(samples)) for t in ts]
        if len(ts) > 1:
            return TargetLoss(ts, stats), classification_step, None
        t = ts[0]
        if t.kind == "regression":
            return t.loss(stats[0]), regression_step, stats[0]
        return t.loss(None), classification_step, None

    def initialised(self, samples: Sequence[Sample], y: np.ndarray | None, ctx: FitContext) -> tuple[nn.Module, dict]:
        """The network before training: built, then every tensor of :meth:`initial_state` loaded
        except the head's (the head is new for the task)."""
        torch.manual_seed(ctx.seed)
        net = self.build()
        init, init_info = self.initial_state(samples, y, ctx)
        if init is not None:
            init_info = {**init_info, "init_tensors": load_trunk(net, init)}
        return net, init_info

    def fit(self, samples: Sequence[Sample], y: np.ndarray | None, ctx: FitContext) -> Fitted:
        setup = self.setup
        net, init_info = self.initialised(samples, y, ctx)
        net = to_memory_format(net, setup, ctx.device)
        torch.manual_seed(ctx.seed)
        tr, va = validation_split(samples, setup.val_subjects if setup.patience else 0, ctx.seed)
        train = [samples[i] for i in tr]
        loss, step, stats = self._loss(train)
        if stats is not None:
            net.head.set_target_scale(*stats)
        common = {"device": ctx.device, "cache_dir": ctx.cache_dir, "target": self.target, "seed": ctx.seed}
        batches = clip_batches(train, setup, train=True, **common)
        val_fn = None
        if va:
            val = clip_batches([samples[i] for i in va], setup, train=False, **common)
            val_fn = lambda m: evaluate_loss(m, val, loss_fn=loss, device=ctx.device, step_fn=step,  # noqa: E731
                                             amp=setup.amp)
        opt = make_sgd(net, lr=setup.lr)
        history = fit(net, batches, loss_fn=loss, optimizer=opt, scheduler=make_step_lr(opt, setup.lr_step),
                      epochs=setup.epochs, device=ctx.device, amp=setup.amp, step_fn=step, val_fn=val_fn,
                      patience=setup.patience, grad_clip=setup.grad_clip or None, progress=False,
                      checkpoint=ctx.checkpoint)
        precise_bn(net, batches, ctx.device, max_batches=-(-setup.precise_bn_clips // setup.batch_size))
        ctx.inputs.update({f"faces:{k}": v for k, v in batches.bank.digests.items()
                           if k in {s.sample_id for s in samples}})
        info = {"epochs": int(len(history)), "best_epoch": int(history.attrs.get("best_epoch", len(history))),
                "final_train_loss": float(history["train_loss"].iloc[-1]),
                "train_clips": int(len(batches.positions)), "val_subjects": len({samples[i].subject for i in va}),
                **init_info}
        return Fitted(net, history, info)

    def predict(self, fitted: Fitted, samples: Sequence[Sample], y: np.ndarray | None,
                ctx: FitContext) -> dict[str, np.ndarray]:
        net = to_memory_format(fitted.model, self.setup, ctx.device)
        batches = clip_batches(samples, self.setup, train=False, target=self.target, device=ctx.device,
                               cache_dir=ctx.cache_dir, seed=ctx.seed)
        pred, target = predict(net, batches, ctx.device, amp=self.setup.amp, return_targets=True)
        pred = pred.reshape(len(pred), -1)
        ts = self.targets
        if ts[0].level == "frame":
            return {"y_true": target.astype(np.float32), "y_pred": pred[:, 0],
                    "sample": batches.positions.copy(), "frame": batches.centre_frames().copy()}
        vids = np.unique(batches.positions)
        mean_out = np.stack([pred[batches.positions == v].mean(0) for v in vids]).astype(np.float32)
        truth = target.reshape(len(target), -1)
        first = np.array([np.flatnonzero(batches.positions == v)[0] for v in vids])
        out: dict[str, np.ndarray] = {"sample": vids}
        at = 0
        for i, t in enumerate(ts):
            prefix = "" if i == 0 else f"{t.key}_"
            part = mean_out[:, at:at + t.num_outputs]
            col = truth[first, i] if truth.shape[1] > i else truth[first, 0]
            if t.kind == "classification":
                out[prefix + "y_true"], out[prefix + "y_score"] = col.astype(np.int64), part
            else:
                out[prefix + "y_true"], out[prefix + "y_pred"] = col.astype(np.float32), part[:, 0]
            at += t.num_outputs
        return out

    def score(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        out: dict[str, float] = {}
        for i, t in enumerate(self.targets):
            prefix = "" if i == 0 else f"{t.key}_"
            own = {k[len(prefix):]: v for k, v in outputs.items() if k.startswith(prefix)} if prefix else outputs
            out.update({prefix + k: v for k, v in t.score(own).items()})
        return out


def continuous_trace(net: nn.Module, sample: Sample, setup: ClipSetup, device: torch.device | str = "cpu",
                     *, cache_dir=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame-by-frame PSPI estimate of one sequence: clips slide by one frame and each predicts
    its centre frame. Returns ``(frames, truth, prediction)``."""
    device = torch.device(device)
    batches = clip_batches([sample], setup, train=False, hop=1, device=device, cache_dir=cache_dir, target=FramePSPI())
    pred, y = predict(to_memory_format(net, setup, device), batches, device, amp=setup.amp, return_targets=True)
    return batches.centre_frames(), y.astype(np.float32), pred.reshape(len(pred), -1)[:, 0]

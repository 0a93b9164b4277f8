"""The image recipe: any registered 2D backbone on a named, cached representation of each video.

::

    setup = ImageSetup.from_profile(run.profile)
    rep = Representation("ahdi", {"patch_size": 9}, size=run.profile.image_size)
    recipe = ImageRecipe("resnet2d", {"depth": 26, "base_width": 8}, rep, setup,
                         target=SequenceLabel("max_pspi"))                    # one image per video
    recipe = ImageRecipe("resnet2d", cfg, Representation("mdv", {"window": 16, "stride": 8}), setup,
                         pooling="attention")                                  # a sequence of images
    recipe = ImageRecipe("resnet2d", cfg, Representation("frames", {"k": 8}), setup)   # frames
    res = cross_validate(recipe, recipe.select(samples), cv="group-kfold:3", store=run.experiment_dir)

What a representation gives per sample decides the shape of the experiment:

* one image ``(C, S, S)``: the backbone sees it (the ``ahdi`` paper's SDI / AHDI / mean / flow
  rows, the ``ssd`` paper's SSD maps);
* a sequence ``(K, C, S, S)`` with ``pooling`` (``average``, ``max``, ``rank``, ``lstm``,
  ``attention``): the registered ``image_sequence`` set model -- the backbone on every image,
  pooled over time, then the head (the ``ahdi`` paper's MDV with temporal pooling);
* a sequence without ``pooling``: every image is a training example labelled with its video's
  target, and a video's prediction is the mean of its images' outputs (the raw-frame rows).

Images are standardised per channel with the training fold's statistics (kept with the fitted
model). The representation is computed once per dataset and parameters
(:func:`~pain_lib.experiments.representations.representation_tensor`); the fold's record names
the cached values it read (``inputs``). Training: SGD (momentum 0.9, weight decay 1e-4), the
learning rate / 10 every ``lr_step`` epochs; early stopping on held-out training subjects with
``patience`` > 0; a single regression target trains on standardised values.
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
from ..data.base import Sample
from ..models import get_model
from ..train import evaluate_loss, fit, make_loader, make_sgd, make_step_lr, precise_bn, predict
from .clips import classification_step, regression_step, validation_split
from .recipe import FitContext, Fitted, Recipe, filled_cfg, load_trunk, profile_fields
from .representations import Representation, representation_tensor
from .targets import SequenceLabel, Target

__all__ = ["ImageSetup", "ImageRecipe"]


@dataclass(frozen=True)
class ImageSetup:
    """Training schedule and backbone scale of an image experiment (defaults: the profile's
    fields of the same name; ``size`` is the profile's ``image_size``, ``width`` its
    ``base_width``)."""

    epochs: int
    batch_size: int
    lr: float
    amp: bool
    lr_step: int = 10
    #: clip the gradient norm of every step to this value (0: off)
    grad_clip: float = 0.0
    patience: int = 0
    val_subjects: int = 0
    #: input side of the representations, pixels (raised to a backbone's smallest valid size)
    size: int = 32
    #: channels of a 2D backbone's first stage where its family can be narrowed (the papers: 64)
    width: int = 64
    #: training items whose BatchNorm statistics replace the running averages after training
    #: (precise BN, :func:`pain_lib.train.precise_bn`; 0: keep the running averages)
    precise_bn_items: int = 256

    @classmethod
    def from_profile(cls, profile: Profile, **overrides: Any) -> ImageSetup:
        """The profile's setup: its ``epochs`` and ``lr_step`` times ``image_epoch_factor`` (one
        item per video and epoch), ``size`` its ``image_size``, ``width`` its ``base_width``."""
        k = int(getattr(profile, "image_epoch_factor", 1))
        mapped = profile_fields(cls, profile, size=profile.image_size, width=profile.base_width,
                                epochs=profile.epochs * k, lr_step=profile.lr_step * k)
        return cls(**{**mapped, **overrides})

    def backbone(self, model: str) -> tuple[dict[str, Any], int, str]:
        """``(cfg, size, note)``: the builder arguments of the registered 2D ``model`` at this
        setup's width (``width`` / ``base_width`` / ``width_mult``, whichever its family takes;
        full width where it cannot be narrowed), the input size it runs at (``size``, raised to
        the model's smallest valid input, :func:`pain_lib.models.min_input_size`; ViT: a multiple
        of 16) and a note of what that reduces relative to the papers (64 channels, 224 px)."""
        from ..models import min_input_size, model_args

        args = model_args(model)
        size = max(int(self.size), min_input_size(model))
        cfg: dict[str, Any] = {}
        if "image_size" in args:
            size = -(-size // 16) * 16
            cfg["image_size"] = size
        if "width" in args:
            cfg["width"] = int(self.width)
        elif "base_width" in args:
            cfg["base_width"] = int(self.width)
        elif "width_mult" in args:
            cfg["width_mult"] = self.width / 64
        narrowed = bool({"width", "base_width", "width_mult"} & set(cfg))
        width = f"width {self.width} of the paper's 64" if narrowed else "full width (its family cannot be narrowed)"
        return cfg, size, f"{model}: {width}, {size} × {size} px inputs (the papers: 224 × 224)"

    def replace(self, **changes: Any) -> ImageSetup:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class ImageRecipe(Recipe):
    """A registered 2D ``model`` (builder arguments ``cfg``) on ``representation`` of each video,
    predicting ``target`` (see the module docstring)."""

    model: str
    cfg: Mapping[str, Any] = field(default_factory=dict)
    representation: Representation | None = None
    setup: ImageSetup | None = None
    target: Target = SequenceLabel("max_pspi")
    #: temporal pooling of a sequence of images (``None``: each image is a training example)
    pooling: str | None = None

    name = "image"

    def __post_init__(self) -> None:
        if self.representation is None or self.setup is None:
            raise TypeError("ImageRecipe needs representation=Representation(...) and "
                            "setup=ImageSetup.from_profile(run.profile)")
        if not isinstance(self.target, Target) or self.target.level != "sample":
            raise ValueError(f"an image recipe predicts one value per video: give a sample target, got {self.target!r}")

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["cfg"] = filled_cfg(self.model, self.cfg)
        return ident

    def label(self) -> str:
        return f"{self.model}-{self.representation.name}" + (f"-{self.pooling}" if self.pooling else "")

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        return self.target.select(samples)

    def prepare(self, samples: Sequence[Sample], cache_dir=None) -> None:
        representation_tensor(samples, self.representation, cache_dir=cache_dir)

    # ------------------------------------------------------------------ parts
    def build(self, sequence: bool) -> nn.Module:
        head = self.target.head()
        if sequence and self.pooling:
            return get_model("image_sequence", backbone=self.model, backbone_cfg=dict(self.cfg), pooling=self.pooling,
                             **head)
        return get_model(self.model, **dict(self.cfg), **head)

    def _inputs(self, samples: Sequence[Sample], ctx: FitContext) -> torch.Tensor:
        x, digests = representation_tensor(samples, self.representation, cache_dir=ctx.cache_dir,
                                           progress=ctx.progress)
        ctx.inputs.update({f"{self.representation.name}:{k}": v for k, v in digests.items()})
        return x

    def _items(self, x: torch.Tensor, values: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """Training / evaluation items: ``(inputs, targets, sample of each item)``; sequences
        without pooling become one item per image."""
        y = torch.as_tensor(values)
        if x.dim() == 5 and not self.pooling:
            k = x.shape[1]
            return x.flatten(0, 1), y.repeat_interleave(k), np.repeat(np.arange(len(x)), k)
        return x, y, np.arange(len(x))

    @staticmethod
    def _norm(x: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
        shape = (1, 1, -1, 1, 1) if x.dim() == 5 else (1, -1, 1, 1)
        return (x - stats[0].view(shape)) / stats[1].view(shape)

    def initial_state(self, samples: Sequence[Sample], ctx: FitContext) -> tuple[dict | None, dict[str, Any]]:
        """Weights to start from (every tensor but the head's is loaded; ``None``: the builder's
        initialisation) and facts about them for the fold's record -- e.g. a pretext stage on
        ``ctx.unlabelled`` (override in a subclass)."""
        return None, {}

    # ------------------------------------------------------------------ the contract
    def fit(self, samples: Sequence[Sample], y: np.ndarray | None, ctx: FitContext) -> Fitted:
        setup = self.setup
        x = self._inputs(samples, ctx)
        values = self.target.values(samples)
        tr, va = validation_split(samples, setup.val_subjects if setup.patience else 0, ctx.seed)
        chan = x[tr].transpose(0, -3).reshape(x.shape[-3], -1)
        stats = torch.stack([chan.mean(1), chan.std(1).clamp_min(1e-6)])
        x = self._norm(x, stats)
        torch.manual_seed(ctx.seed)
        net = self.build(x.dim() == 5)
        init, init_info = self.initial_state(samples, ctx)
        if init is not None:
            init_info = {**init_info, "init_tensors": load_trunk(net, init)}
        target_stats = self.target.statistics(values[tr])
        loss = self.target.loss(target_stats)
        step = regression_step if self.target.kind == "regression" else classification_step
        if target_stats is not None:
            net.head.set_target_scale(*target_stats)
        xi, yi, _ = self._items(x[tr], values[tr])
        loader = make_loader(torch.utils.data.TensorDataset(xi, yi), batch_size=setup.batch_size, shuffle=True,
                             seed=ctx.seed, drop_last=len(xi) > setup.batch_size)
        val_fn = None
        if va:
            xv, yv, _ = self._items(x[va], values[va])
            val = make_loader(torch.utils.data.TensorDataset(xv, yv), batch_size=max(setup.batch_size, 32))
            val_fn = lambda m: evaluate_loss(m, val, loss_fn=loss, device=ctx.device, step_fn=step,  # noqa: E731
                                             amp=setup.amp)
        opt = make_sgd(net, lr=setup.lr)
        history = fit(net, loader, loss_fn=loss, optimizer=opt, scheduler=make_step_lr(opt, setup.lr_step),
                      epochs=setup.epochs, device=ctx.device, amp=setup.amp, step_fn=step, val_fn=val_fn,
                      patience=setup.patience, grad_clip=setup.grad_clip or None, progress=False,
                      checkpoint=ctx.checkpoint)
        if setup.precise_bn_items:  # a few epochs leave running averages of earlier weights: eval-mode bias
            precise_bn(net, loader, ctx.device, max_batches=-(-setup.precise_bn_items // setup.batch_size))
        info = {"epochs": int(len(history)), "best_epoch": int(history.attrs.get("best_epoch", len(history))),
                "final_train_loss": float(history["train_loss"].iloc[-1]), "train_items": int(len(xi)),
                "val_subjects": len({samples[i].subject for i in va}), **init_info}
        return Fitted({"net": net.cpu(), "norm": stats}, history, info)

    def predict(self, fitted: Fitted, samples: Sequence[Sample], y: np.ndarray | None,
                ctx: FitContext) -> dict[str, np.ndarray]:
        net, stats = fitted.model["net"], fitted.model["norm"]
        x = self._norm(self._inputs(samples, ctx), stats)
        values = self.target.values(samples)
        xi, _, owner = self._items(x, values)
        out = predict(net, make_loader(torch.utils.data.TensorDataset(xi, torch.zeros(len(xi))),
                                       batch_size=max(self.setup.batch_size, 32)), ctx.device, amp=self.setup.amp)
        out = out.reshape(len(out), -1)
        per_sample = np.stack([out[owner == i].mean(0) for i in range(len(samples))]).astype(np.float32)
        res: dict[str, np.ndarray] = {"sample": np.arange(len(samples)), "y_true": np.asarray(values)}
        if self.target.kind == "classification":
            res["y_score"] = per_sample
        else:
            res["y_pred"] = per_sample[:, 0]
        return res

    def score(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        return self.target.score(outputs)

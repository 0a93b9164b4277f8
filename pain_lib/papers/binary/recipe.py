"""The *binary* paper's method as one engine recipe: :class:`BinaryCodeRecipe`.

Per training fold (``fit``):

1. a face-pretrained 2D CNN (:func:`~pain_lib.experiments.pretrained_backbone`: cached weights,
   else the engine's face-identity pre-training on the fold's faces -- a store stage);
2. its pooled features of every frame of every video, computed once per (video, network) and
   cached (:func:`~pain_lib.experiments.frozen_features`);
3. the VLAD codebook: k-means on the training videos' frame features, a store stage shared by
   every configuration of the fold (``vlad-codebook``);
4. each epoch: snippets (one random frame per segment of ``frames_per_segment`` frames, the
   engine's :class:`~pain_lib.experiments.Segments` sampler) -> the aggregation layer
   (:func:`~pain_lib.preprocess.aggregation.aggregate`) -> ``triplets`` random triplets (anchor
   and positive of one level, negative of another) -> the MLP encoder trained on the Eq. 5 bound
   (or the tanh relaxation) plus Eq. 4's L2 penalty;
5. the training videos' codes (each segment's middle frame) are kept for the class codes.

``predict``: the test videos' codes, the Hamming distance to each level's code
(:func:`~pain_lib.models.binary_codes.hamming_scores`) and the nearest level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from ...data.bank import FrameBank
from ...data.base import Sample
from ...experiments import (
    FitContext,
    Fitted,
    Recipe,
    Segments,
    frozen_features,
    pretrained_backbone,
)
from ...fingerprint import fingerprint
from ...models.binary_codes import (
    CLASS_CODE_RULES,
    TRAINING_LOSSES,
    binary_encoder,
    class_codes,
    codes,
    hamming_scores,
    training_loss,
    triplet_hamming_loss,
)
from ...preprocess.aggregation import AGGREGATES, aggregate
from .levels import PainLevel

__all__ = ["BinaryCodeRecipe", "FEATURE_SETS", "segment_count", "snippet_indices", "video_features", "triplets"]

#: the feature combinations of the paper's ablation (Sec. 3): name -> aggregation parts
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "raw": ("raw",),
    "statistics": ("mean", "var", "min", "max"),
    "statistics + VLAD": AGGREGATES,
}


def segment_count(length: int, frames_per_segment: int) -> int:
    """K: the number of non-overlapping equal segments of about ``frames_per_segment`` frames in a
    video of ``length`` frames (at least one)."""
    return max(1, int(length) // int(frames_per_segment))


def snippet_indices(length: int, segments: int, *, rng: np.random.Generator | None = None, draws: int = 1
                    ) -> np.ndarray:
    """Frame indices ``(draws, segments)`` of a video's snippets: one random frame per segment
    (``rng``, the Segments sampler's training draw) or each segment's middle frame (``rng=None``)."""
    sampler = Segments(segments)
    if rng is None:
        return sampler.evaluate(np.array([length]))[1]
    return sampler.train(np.array([length]), per_sample=draws, rng=rng)[1]


def video_features(frame_features: np.ndarray | torch.Tensor, idx: np.ndarray, parts: Sequence[str],
                   centres: np.ndarray | torch.Tensor | None) -> torch.Tensor:
    """The aggregated feature of one snippet set: ``raw`` (the K features concatenated in time
    order) or :func:`aggregate` of ``parts``."""
    x = torch.as_tensor(frame_features)[torch.as_tensor(idx)]
    if tuple(parts) == ("raw",):
        return x.reshape(-1)
    return aggregate(x, None if centres is None else torch.as_tensor(centres), parts=parts)


def triplets(labels: np.ndarray, groups: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, 3)`` row indices ``(anchor, positive, negative)``: anchor and positive of one level
    (another video when the level has one: ``groups`` names each row's video), negative of
    another. Empty when fewer than two levels are present."""
    labels, groups = np.asarray(labels), np.asarray(groups)
    classes = np.unique(labels)
    if len(classes) < 2:
        return np.zeros((0, 3), np.int64)
    by_class = {c: np.flatnonzero(labels == c) for c in classes}
    anchors = rng.integers(0, len(labels), n)
    out = np.empty((n, 3), np.int64)
    for i, a in enumerate(anchors):
        same = by_class[labels[a]]
        other_video = same[groups[same] != groups[a]]
        pool = other_video if len(other_video) else same[same != a] if len(same) > 1 else same
        neg = np.flatnonzero(labels != labels[a])
        out[i] = (a, rng.choice(pool), rng.choice(neg))
    return out


@dataclass(frozen=True)
class BinaryCodeRecipe(Recipe):
    """Deep binary representation of a video's pain level (the module docstring). Fields are the
    paper's hyperparameters (where it gives them) and this library's choices (where it does not;
    ``NOTES.md``)."""

    target: PainLevel = PainLevel()
    #: the face-pretrained 2D CNN (a registered 2D network) and its builder arguments
    backbone: str = "resnet2d"
    backbone_cfg: Mapping[str, Any] = field(default_factory=lambda: {"depth": 26, "base_width": 8})
    size: int = 32
    crop: str = "auto"
    #: epochs of the face-identity pre-training (used only without cached face weights)
    identity_epochs: int = 2
    #: frames per segment (Figure 2's x axis); K = video length // this
    frames_per_segment: int = 10
    #: aggregation parts (:data:`FEATURE_SETS`)
    parts: tuple[str, ...] = AGGREGATES
    #: segments of the ``raw`` feature set (a fixed K, so every video's raw vector has one length)
    raw_segments: int = 8
    #: VLAD codebook size (k-means centroids)
    words: int = 8
    #: code length q and the encoder's hidden widths
    bits: int = 64
    hidden: tuple[int, ...] = (256, 256)
    #: ``"bound"`` (Eq. 5) or ``"tanh"`` (the relaxation ablation)
    loss: str = "bound"
    epochs: int = 30
    #: triplets per epoch (paper: 3,000) and per mini-batch
    triplets: int = 3000
    batch_size: int = 100
    lr: float = 1e-3
    #: λ of Eq. 4 (L2 penalty on every weight and bias)
    weight_decay: float = 1e-4
    #: snippet draws per training video and epoch (the triplets' members)
    draws: int = 4
    #: how a level's code is made (:data:`~pain_lib.models.binary_codes.CLASS_CODE_RULES`)
    class_code: str = "majority"

    name = "binary-codes"
    version = 1

    def __post_init__(self) -> None:
        if self.loss not in TRAINING_LOSSES:
            raise ValueError(f"loss must be one of {TRAINING_LOSSES}, got {self.loss!r}")
        if self.class_code not in CLASS_CODE_RULES:
            raise ValueError(f"class_code must be one of {CLASS_CODE_RULES}, got {self.class_code!r}")
        raw = tuple(self.parts) == ("raw",)
        if not raw and (not self.parts or any(p not in AGGREGATES for p in self.parts)):
            raise ValueError(f"parts must be ('raw',) or aggregation parts {AGGREGATES}, got {self.parts!r}")
        if self.frames_per_segment < 1 or self.bits < 1 or self.words < 1 or self.epochs < 0:
            raise ValueError("frames_per_segment, bits and words must be >= 1 and epochs >= 0")
        object.__setattr__(self, "parts", tuple(self.parts))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))

    def label(self) -> str:
        return f"binary-{self.loss}-{self.bits}b"

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        return self.target.select(samples)

    def prepare(self, samples: Sequence[Sample], cache_dir=None) -> None:
        FrameBank.shared(size=self.size, crop=self.crop, cache_dir=cache_dir).fill_cache(samples)

    # ------------------------------------------------------------------ parts
    def features(self, samples: Sequence[Sample], net: torch.nn.Module, *, cache_dir=None, device="cpu",
                 inputs: dict | None = None) -> list[np.ndarray]:
        """Frozen per-frame features ``(T_i, D)`` of ``samples`` (cached per video and network);
        their digests go into ``inputs`` (a fold's record)."""
        feats, digests = frozen_features(samples, net, size=self.size, crop=self.crop, cache_dir=cache_dir,
                                         device=device)
        if inputs is not None:
            inputs.update({f"features:{k}": v for k, v in digests.items()})
        return feats

    def network(self, samples: Sequence[Sample], ctx: FitContext) -> tuple[torch.nn.Module, dict]:
        """The face-pretrained 2D CNN of the fold and its provenance."""
        bank = FrameBank.shared(size=self.size, crop=self.crop, cache_dir=ctx.cache_dir)

        def images():
            faces = [bank.faces(s)[::4] for s in samples]
            return np.concatenate(faces), [s.subject for s, f in zip(samples, faces) for _ in range(len(f))]

        return pretrained_backbone(self.backbone, dict(self.backbone_cfg), samples, ctx, images=images,
                                   epochs=self.identity_epochs, inputs={"size": self.size, "crop": self.crop, "every": 4},
                                   analogue_of="the paper's CASIA-WebFace face model")

    def codebook(self, feats: Sequence[np.ndarray], ctx: FitContext) -> np.ndarray | None:
        """The VLAD codebook of the training fold (k-means on every training frame's feature), a
        store stage shared by every configuration of the fold that asks for the same size."""
        if "vlad" not in self.parts:
            return None
        from sklearn.cluster import KMeans

        digests = sorted(v for k, v in ctx.inputs.items() if k.startswith("features:"))
        ident = {"features": digests or fingerprint([np.asarray(f) for f in feats]), "words": self.words,
                 "seed": ctx.seed}
        x = np.concatenate(feats)
        return np.asarray(ctx.stage("vlad-codebook", ident, lambda: KMeans(
            min(self.words, len(x)), n_init=3, random_state=ctx.seed).fit(x).cluster_centers_.astype(np.float32)))

    def segments_of(self, length: int) -> int:
        return self.raw_segments if self.parts == ("raw",) else segment_count(length, self.frames_per_segment)

    def aggregated(self, feats: Sequence[np.ndarray], centres: np.ndarray | None, *,
                   rng: np.random.Generator | None = None, draws: int = 1) -> tuple[torch.Tensor, np.ndarray]:
        """``(X (N · draws, p), video index of each row)``: aggregated features of random snippets
        (``rng``) or of each segment's middle frame (``rng=None``, one row per video)."""
        rows, owner = [], []
        for i, f in enumerate(feats):
            for idx in snippet_indices(len(f), self.segments_of(len(f)), rng=rng, draws=draws):
                rows.append(video_features(f, idx, self.parts, centres))
                owner.append(i)
        return torch.stack(rows).float(), np.asarray(owner)

    def encoder(self, in_features: int) -> torch.nn.Module:
        return binary_encoder(in_features=in_features, bits=self.bits, hidden=self.hidden)

    # ------------------------------------------------------------------ contract
    def fit(self, samples: Sequence[Sample], y: np.ndarray | None, ctx: FitContext) -> Fitted:
        net, prov = self.network(samples, ctx)
        feats = self.features(samples, net, cache_dir=ctx.cache_dir, device=ctx.device, inputs=ctx.inputs)
        centres = self.codebook(feats, ctx)
        levels = self.target.values(samples)
        x_eval, _ = self.aggregated(feats, centres)
        mean, std = x_eval.mean(0), x_eval.std(0, unbiased=False) + 1e-6
        torch.manual_seed(ctx.seed)
        enc = self.encoder(x_eval.shape[1])
        opt = torch.optim.Adam(enc.parameters(), lr=self.lr)
        objective = training_loss(self.loss)
        rng = np.random.default_rng(ctx.seed)
        history = []
        for epoch in range(self.epochs):
            x, owner = self.aggregated(feats, centres, rng=rng, draws=self.draws)
            x = (x - mean) / std
            trip = triplets(levels[owner], owner, self.triplets, rng)
            if not len(trip):
                break  # one level in the training fold: nothing to rank
            enc.train()
            total, hinge = 0.0, 0.0
            for b in range(0, len(trip), self.batch_size):
                t = torch.from_numpy(trip[b:b + self.batch_size])
                f = enc(x[t.reshape(-1)]).reshape(len(t), 3, -1)
                bound = objective(f[:, 0], f[:, 1], f[:, 2]).mean()
                penalty = sum((p ** 2).sum() for p in enc.parameters())
                opt.zero_grad()
                (bound + self.weight_decay * penalty).backward()
                opt.step()
                with torch.no_grad():
                    h = codes(f)
                    hinge += float(triplet_hamming_loss(h[:, 0], h[:, 1], h[:, 2]).sum())
                total += float(bound.detach()) * len(t)
            history.append({"epoch": epoch + 1, "train_loss": total / len(trip), "triplet_loss": hinge / len(trip)})
        enc.eval()
        with torch.no_grad():
            train_codes = codes(enc((x_eval - mean) / std))
        present = np.bincount(levels, minlength=self.target.num_outputs) > 0
        info = {"backbone_source": prov.get("source", ""), "identity_val_accuracy": prov.get("val_accuracy", np.nan),
                "identity_chance": prov.get("chance_accuracy", np.nan), "levels_in_training": int(present.sum()),
                "feature_dim": int(x_eval.shape[1]), "frame_feature_dim": int(feats[0].shape[1])}
        model = {"backbone": net, "encoder": enc.state_dict(), "in_features": int(x_eval.shape[1]),
                 "centres": centres if centres is not None else np.zeros((0, 0), np.float32),
                 "mean": mean, "std": std, "train_codes": train_codes, "train_levels": levels,
                 "provenance": {k: v for k, v in prov.items() if isinstance(v, (str, int, float))}}
        return Fitted(model, history=pd.DataFrame(history), info=info)

    def load_encoder(self, model: Mapping[str, Any]) -> torch.nn.Module:
        enc = self.encoder(int(model["in_features"]))
        enc.load_state_dict(model["encoder"])
        return enc.eval()

    def inputs_of(self, fitted: Fitted, samples: Sequence[Sample], *, cache_dir=None, device="cpu") -> torch.Tensor:
        """``(N, p)`` standardised aggregated features of ``samples`` (each segment's middle frame)
        under a fold's fitted backbone, codebook and training statistics."""
        m = fitted.model
        feats = self.features(samples, m["backbone"], cache_dir=cache_dir, device=device)
        x, _ = self.aggregated(feats, m["centres"] if "vlad" in self.parts else None)
        return (x - m["mean"]) / m["std"]

    def encode(self, fitted: Fitted, samples: Sequence[Sample], *, cache_dir=None, device="cpu") -> torch.Tensor:
        """``(N, q)`` ±1 codes of ``samples`` (each segment's middle frame)."""
        x = self.inputs_of(fitted, samples, cache_dir=cache_dir, device=device)
        with torch.no_grad():
            return codes(self.load_encoder(fitted.model)(x))

    def decide(self, fitted: Fitted, query: torch.Tensor) -> np.ndarray:
        """``(N, levels)`` scores: minus the Hamming distance to each level's code."""
        m = fitted.model
        ref, present = class_codes(m["train_codes"], m["train_levels"], self.target.num_outputs, rule=self.class_code)
        return hamming_scores(query, ref, present)

    def predict(self, fitted: Fitted, samples: Sequence[Sample], y: np.ndarray | None,
                ctx: FitContext) -> dict[str, np.ndarray]:
        scores = self.decide(fitted, self.encode(fitted, samples, cache_dir=ctx.cache_dir, device=ctx.device))
        return {"y_true": self.target.values(samples), "y_score": scores,
                "y_pred": scores.argmax(1).astype(np.float32), "sample": np.arange(len(samples))}

    def score(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        return self.target.score(outputs)

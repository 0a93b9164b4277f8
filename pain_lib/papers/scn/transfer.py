"""The SCN paper's cross-architecture knowledge transfer, 2D -> 3D (Sec. 3.2 and 4.3, Fig. 4),
as a pretext stage of the clip recipe.

A frozen, face-pretrained 2D ResNet sees the N frames of a clip; the 3D network sees a clip of
the same time stamp (positive pair) or of another video (negative pair). Their features are
concatenated and a small classifier (``fc 512 -> fc 128 -> 2``) decides *same / different*; only
the 3D network and the classifier learn. No labels are needed. The 3D network's weights then
initialise the supervised training (:class:`TransferClipRecipe`).

Per training fold (:meth:`TransferClipRecipe.fit`), two stages are computed once and filed in
the experiment store (``ctx.stage``), each on the training fold's subjects only:

1. **face-identity pre-training** of the 2D network (:func:`pretrain_2d_identity`; the stand-in
   for the paper's CASIA-WebFace model; or ImageNet weights from the local torchvision cache
   when present for a paper-width ResNet-50/101/152 -- never downloaded, see
   :func:`pain_lib.models.resnet2d`);
2. the **pretext** (:func:`transfer_pretext`) that trains the 3D network against it.

Fidelity notes:

* Sec. 3.2 defines positives as "the same time stamp from the same video"; Sec. 4.3 also says
  "positive pairs if they belong to the same class". The sampler implements Sec. 3.2:
  positives = the same clip, negatives = a clip of another video.
* "The architecture of both networks are similar": the 2D network is the 2D bottleneck ResNet
  with the 3D network's blocks per stage and width (:func:`pain_lib.models.resnet2d`); for
  VGG3D, Inception3D and C3D (which the paper also transfers into, without naming a 2D net)
  it is the 2D ResNet of the sweep depth.
* "32 RGB mean-subtracted frames were the inputs of the 2D network": the 2D network sees every
  frame of the clip (as many as the 3D network), normalised with the mean and standard deviation
  it was pre-trained with (ImageNet statistics), inside :class:`TransferPairModel`.
* "An average pooling is done on the last layer of the 2D ResNet": the N frame features are
  averaged into one vector. The 3D side uses the network's pooled features (``pre_logits``).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from torch.utils.data import Sampler

from ...data.bank import ClipBatches
from ...data.base import Sample
from ...experiments import (
    ClipRecipe,
    FitContext,
    clip_batches,
    filled_cfg,
    fingerprint,
    to_memory_format,
)
from ...experiments.pretrain import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    face_images,
    pretrain_2d_identity,
    pretrained_backbone,
)
from ...models import get_model
from ...train import fit, make_sgd

__all__ = [
    "TransferSetup",
    "TransferClipRecipe",
    "TransferPairSampler",
    "TransferPairModel",
    "TransferBatches",
    "transfer_pretext",
    "transfer_step",
    "pretrain_2d_identity",
    "comparable_2d",
    "face_images",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
]


class TransferPairSampler(Sampler):
    """Balanced positive/negative (frames, clip) pairs over clip positions.

    Args:
        items: one ``(video_id, start)`` per clip of the underlying dataset; dataset index ``i``
            is ``items[i]``. At least two distinct videos are needed (negatives).
        num_pairs: pairs per epoch (default ``len(items)``). Half are positives (``n // 2``),
            the rest negatives.
        seed: pairs are a deterministic function of ``(seed, epoch)``; call :meth:`set_epoch`.

    Yields ``(frames_index, clip_index, label)``: ``label`` 1 = *same* (the same clip index:
    same video and time stamp), 0 = *different* (the clip comes from another video).
    """

    def __init__(self, items: Sequence[tuple[Hashable, int]], *, num_pairs: int | None = None, seed: int = 0) -> None:
        items = list(items)
        if not items:
            raise ValueError("TransferPairSampler needs at least one (video_id, start) item")
        videos = [v for v, _ in items]
        _, self._video = np.unique(np.array([str(v) for v in videos], dtype=object), return_inverse=True)
        self.num_videos = int(self._video.max()) + 1
        if self.num_videos < 2:
            raise ValueError("negative pairs need clips from at least two different videos; got one video")
        self.items = items
        self.num_pairs = int(num_pairs) if num_pairs is not None else len(items)
        if self.num_pairs < 2:
            raise ValueError(f"num_pairs must be >= 2 (one positive, one negative), got {num_pairs}")
        self.seed, self.epoch = int(seed), 0
        # indices grouped by video: video v occupies order[lo[v]:hi[v]]
        self._order = np.argsort(self._video, kind="stable")
        counts = np.bincount(self._video, minlength=self.num_videos)
        self._hi = np.cumsum(counts)
        self._lo = self._hi - counts

    def set_epoch(self, epoch: int) -> None:
        """Draw a new set of pairs for ``epoch`` (as ``DistributedSampler.set_epoch``)."""
        self.epoch = int(epoch)

    def pairs(self, epoch: int | None = None) -> np.ndarray:
        """The epoch's pairs, an ``(num_pairs, 3)`` int array ``[frames_index, clip_index, label]``."""
        rng = np.random.default_rng([self.seed, self.epoch if epoch is None else int(epoch)])
        n, n_items = self.num_pairs, len(self.items)
        n_pos = n // 2
        n_neg = n - n_pos
        pos = rng.choice(n_items, n_pos, replace=n_pos > n_items)
        a = rng.integers(0, n_items, n_neg)
        va = self._video[a]
        size = self._hi[va] - self._lo[va]
        r = (rng.random(n_neg) * (n_items - size)).astype(np.int64)  # uniform over other videos' clips
        b = self._order[np.where(r < self._lo[va], r, r + size)]
        out = np.concatenate(
            [np.stack([pos, pos, np.ones(n_pos, np.int64)], 1), np.stack([a, b, np.zeros(n_neg, np.int64)], 1)]
        ).astype(np.int64)
        return out[rng.permutation(n)]

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        for a, b, y in self.pairs():
            yield int(a), int(b), int(y)

    def __len__(self) -> int:
        return self.num_pairs


class TransferPairModel(nn.Module):
    """Fig. 4: frozen 2D network on N frames + 3D network on the clip -> same/different logits.

    Args:
        model_3d: a :class:`~pain_lib.models.VideoNet` (its pooled features are used).
        backbone_2d: a 2D network mapping ``(B, 3, H, W)`` to features ``(B, D)``
            (``num_features = D``); frozen and kept in eval mode.
        mean, std: the per-channel statistics the 2D network was trained with; frames arrive in
            [0, 1] (as the 3D network's clips) and are normalised before the 2D network.
        hidden: the classifier's hidden layers after concatenation (paper: 512, 128).
        freeze_2d: keep the 2D network fixed (the paper's setting).

    ``forward(frames (B, C, N, H, W), clip (B, C, T, H, W)) -> logits (B, 2)``.
    """

    def __init__(
        self,
        model_3d: nn.Module,
        backbone_2d: nn.Module,
        *,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        hidden: Sequence[int] = (512, 128),
        freeze_2d: bool = True,
    ) -> None:
        super().__init__()
        self.model_3d, self.backbone_2d, self.freeze_2d = model_3d, backbone_2d, freeze_2d
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        d2 = backbone_2d.num_features
        d3 = model_3d.head.num_features
        if freeze_2d:
            for p in backbone_2d.parameters():
                p.requires_grad_(False)
        layers: list[nn.Module] = []
        c = d2 + d3
        for h in hidden:
            layers += [nn.Linear(c, h), nn.ReLU(inplace=True)]
            c = h
        layers.append(nn.Linear(c, 2))
        self.classifier = nn.Sequential(*layers)
        for m in self.classifier:
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def train(self, mode: bool = True) -> TransferPairModel:
        super().train(mode)
        if self.freeze_2d:
            self.backbone_2d.eval()  # frozen BatchNorm statistics too
        return self

    def frames_2d(self, frames: torch.Tensor) -> torch.Tensor:
        """``(B, C, N, H, W)`` in [0, 1] -> ``(B·N, C, H, W)`` normalised as the 2D network was trained."""
        b, c, n, h, w = frames.shape
        x = frames.transpose(1, 2).reshape(b * n, c, h, w)
        return (x - self.mean) / self.std

    def features_2d(self, frames: torch.Tensor) -> torch.Tensor:
        """``(B, C, N, H, W) -> (B, D)``: per-frame features averaged over the N frames."""
        b, n = frames.shape[0], frames.shape[2]
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_2d):
            f = self.backbone_2d(self.frames_2d(frames))
        return f.reshape(b, n, -1).mean(1)

    def features_3d(self, clip: torch.Tensor) -> torch.Tensor:
        f = self.model_3d.forward_head(self.model_3d.forward_features(clip), pre_logits=True)
        return f.mean(1) if f.dim() == 3 else f  # a per-frame head gives (B, T', C)

    def forward(self, frames: torch.Tensor, clip: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.cat([self.features_2d(frames), self.features_3d(clip)], dim=1))


def transfer_step(model: nn.Module, batch: Sequence[Any], loss_fn: nn.Module, device: torch.device):
    """Step function for :func:`pain_lib.train.fit` on ``(frames, clip, label)`` batches."""
    frames, clip, label = (torch.as_tensor(b).to(device, non_blocking=True) for b in batch)
    logits = model(frames, clip)
    return loss_fn(logits.float(), label.long()), label.shape[0]


class TransferBatches:
    """Batches ``(frames (B, 3, N, S, S), clip (B, 3, T, S, S), same (B,))`` of the pretext from a
    frame bank: every epoch draws random clips of the training videos
    (:class:`~pain_lib.data.bank.ClipBatches`) and pairs them with :class:`TransferPairSampler`
    (half positives: a clip with itself; half negatives: a clip with a clip of another video).
    The 2D network's ``N`` frames are evenly spaced over the first clip (``num_frames``; default
    all of its frames)."""

    def __init__(self, clips: ClipBatches, *, num_frames: int | None = None) -> None:
        self.clips = clips
        n = clips.clip_len if num_frames is None else int(num_frames)
        self.frame_pick = torch.from_numpy(np.linspace(0, clips.clip_len - 1, n).round().astype(np.int64))
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self.clips.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.clips)

    def __iter__(self):
        c = self.clips
        sampler = TransferPairSampler(list(zip(c.positions.tolist(), range(len(c.positions)))), seed=c.seed)
        pairs = sampler.pairs(self.epoch)
        dev = c.bank.device
        glob = torch.from_numpy(c.offsets[c.positions][:, None] + c.frame_index).to(dev)
        a, b, y = (torch.from_numpy(pairs[:, k]).to(dev) for k in range(3))
        pick = self.frame_pick.to(dev)
        for s in range(len(self)):
            sl = slice(s * c.batch_size, (s + 1) * c.batch_size)
            yield c.bank.gather(glob[a[sl]][:, pick]), c.bank.gather(glob[b[sl]]), y[sl]


# --------------------------------------------------------------------------- the stages
def comparable_2d(model: str, cfg: Mapping[str, Any], *, sweep_depth: int = 26) -> dict[str, Any]:
    """Builder arguments of the 2D network "similar" to the 3D ``model``: the 2D bottleneck
    ResNet (:func:`pain_lib.models.resnet2d`) with its depth and width (see the module notes)."""
    depth = int(cfg.get("depth", sweep_depth)) if model in ("res3d", "scn") else sweep_depth
    return {"depth": depth, "base_width": int(cfg.get("base_width", 64))}


@dataclass(frozen=True)
class TransferSetup:
    """The knowledge transfer's schedule (defaults: the profile's ``pretext_epochs`` and
    ``identity_epochs``; the sweep depth of :func:`pain_lib.papers.scn.profile_sweep_depth`)."""

    #: epochs of the same/different pretext
    epochs: int = 1
    #: epochs of the 2D network's face-identity pre-training
    identity_epochs: int = 2
    #: 2D network of the VGG3D / Inception3D / C3D rows (and depth of the sweeps)
    sweep_depth: int = 26
    #: frames of a clip shown to the 2D network (0: all of them, as the paper)
    num_frames: int = 0

    @classmethod
    def from_profile(cls, profile: Any, **overrides: Any) -> TransferSetup:
        from . import profile_sweep_depth

        return cls(**{"epochs": profile.pretext_epochs, "identity_epochs": profile.identity_epochs,
                      "sweep_depth": profile_sweep_depth(profile), **overrides})


def transfer_pretext(net: nn.Module, backbone: nn.Module, clips: ClipBatches, *, epochs: int, lr: float,
                     device: torch.device, amp: bool, num_frames: int | None = None) -> pd.DataFrame:
    """Train ``net`` (in place) on the same/different pretext against the frozen ``backbone``;
    returns the history (loss per epoch) with the pair accuracy of the last epoch."""
    pair = TransferPairModel(net, backbone)
    batches = TransferBatches(clips, num_frames=num_frames)
    opt = make_sgd([p for p in pair.parameters() if p.requires_grad], lr=lr)
    history = fit(pair, batches, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=epochs, device=device,
                  amp=amp, step_fn=transfer_step, progress=False)
    pair.eval()
    correct = n = 0
    with torch.no_grad():
        for frames, clip, y in batches:
            correct += int((pair(frames.to(device), clip.to(device)).argmax(1) == y.to(device)).sum())
            n += len(y)
    history.attrs["pair_accuracy"] = correct / max(n, 1)
    return history


@dataclass(frozen=True)
class TransferClipRecipe(ClipRecipe):
    """:class:`~pain_lib.experiments.ClipRecipe` whose 3D network starts from the knowledge
    transfer's weights, computed on the training fold's subjects (see the module docstring)."""

    transfer: TransferSetup = TransferSetup()

    name = "transfer"

    def label(self) -> str:
        return f"{self.model}-transfer"

    def backbone(self, samples: Sequence[Sample], ctx: FitContext, clips: ClipBatches) -> tuple[nn.Module, dict]:
        """The frozen 2D network: ImageNet weights from the local cache (paper-width ResNets only),
        else the engine's face-identity pre-training on ``samples``' subjects (a store stage;
        :func:`pain_lib.experiments.pretrain.pretrained_backbone`)."""
        arch = comparable_2d(self.model, self.cfg, sweep_depth=self.transfer.sweep_depth)
        return pretrained_backbone("resnet2d", arch, samples, ctx, images=lambda: face_images(clips),
                                   epochs=self.transfer.identity_epochs, batch_size=max(32, self.setup.batch_size),
                                   amp=self.setup.amp, inputs={"size": self.setup.size, "crop": self.setup.crop},
                                   analogue_of="CASIA-WebFace identity pre-training (SCN paper Sec. 4.3)")

    def pretext_identity(self, samples: Sequence[Sample], ctx: FitContext, backbone: nn.Module) -> dict[str, Any]:
        """What the pretext's result depends on -- and nothing of the fine-tuning: the 3D network,
        the clips it sees (geometry, sampler, clips per sample, batch), its schedule, the fold's
        samples, the seed and the frozen 2D network's weights."""
        st = self.setup
        clips = {"clip_len": st.clip_len, "size": st.size, "stride": st.stride, "crop": st.crop,
                 "sampler": st.sampler, "clips_per_sample": st.clips_per_sample, "batch_size": st.batch_size,
                 "lr": st.lr, "amp": st.amp}
        return {"model": self.model, "cfg": filled_cfg(self.model, self.cfg), "clips": clips,
                "epochs": self.transfer.epochs, "num_frames": self.transfer.num_frames, "samples": list(samples),
                "seed": ctx.seed, "backbone": fingerprint(backbone.state_dict())}

    def initial_state(self, samples: Sequence[Sample], y: np.ndarray | None, ctx: FitContext) -> tuple[dict, dict]:
        clips = clip_batches(samples, self.setup, train=True, device=ctx.device, cache_dir=ctx.cache_dir,
                             seed=ctx.seed)
        backbone, prov = self.backbone(samples, ctx, clips)

        def pretext() -> dict:
            torch.manual_seed(ctx.seed)
            net = to_memory_format(get_model(self.model, **dict(self.cfg), head="regression", num_outputs=1),
                                   self.setup, ctx.device)
            t0 = time.perf_counter()
            hist = transfer_pretext(net, backbone.to(ctx.device), clips, epochs=self.transfer.epochs,
                                    lr=self.setup.lr, device=ctx.device, amp=self.setup.amp,
                                    num_frames=self.transfer.num_frames or None)
            return {"model": net, "seconds": time.perf_counter() - t0, "final_loss": float(hist["train_loss"].iloc[-1]),
                    "pair_accuracy": float(hist.attrs["pair_accuracy"])}

        stage = ctx.stage("transfer-pretext", self.pretext_identity(samples, ctx, backbone), pretext)
        info = {"pretext_s": stage["seconds"], "pretext_final_loss": stage["final_loss"],
                "pretext_pair_accuracy": stage["pair_accuracy"],
                "identity_val_accuracy": float(prov.get("val_accuracy", float("nan"))),
                "backbone_source": str(prov.get("source", ""))}
        return stage["model"].state_dict(), info

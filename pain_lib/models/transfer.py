"""Cross-architecture knowledge transfer, 2D -> 3D (SCN paper Sec. 3.2 and 4.3, Fig. 4).

A frozen, face-pretrained 2D ResNet sees N frames; the 3D network sees the clip of the same
time stamp. Their features are concatenated and a small classifier (``fc 512 → fc 128 → 2``)
decides *same / different*; only the 3D network and the classifier learn. Positive pairs are
frames and clip from the same video and time stamp; negative pairs take them from two different
videos. No labels are needed.

Pieces (each usable alone)::

    backbone, prov = load_2d_backbone("resnet18")              # torchvision cache, else random
    prov = pretrain_2d_identity(backbone, faces, subjects)      # face-identity pre-training
    sampler = TransferPairSampler(items, seed=0)                # items: (video_id, start) per clip
    loader = make_loader(TransferPairDataset(clips), batch_size=8, sampler=sampler)
    pair_model = TransferPairModel(get_model("scn", ...), backbone)
    fit(pair_model, loader, loss_fn=nn.CrossEntropyLoss(), optimizer=make_sgd(pair_model, lr=0.01),
        step_fn=transfer_step, epochs=...)

Fidelity notes:

* Sec. 3.2 defines positives as "the same time stamp from the same video"; Sec. 4.3 also says
  "positive pairs if they belong to the same class". The sampler implements Sec. 3.2 (and the
  brief): positives = same clip position, negatives = a clip of another video.
* "An average pooling is done on the last layer of the 2D ResNet": the N frame features are
  averaged into one vector. The 3D side uses the network's pooled features (``pre_logits``).
* The 2D network was "pre-trained on CASIA-WebFace". Here it is loaded from torchvision's local
  cache when present (ImageNet weights — not faces; the provenance says so), or trained on
  face identity over the synthetic faces (subject = identity) by :func:`pretrain_2d_identity`,
  or left random; the returned provenance records which.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import Dataset, Sampler

from .image_nets import torchvision_cache_path  # moved there; re-exported here

__all__ = [
    "TransferPairSampler",
    "TransferPairDataset",
    "TransferPairModel",
    "transfer_step",
    "load_2d_backbone",
    "pretrain_2d_identity",
    "torchvision_cache_path",
    "BACKBONES_2D",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
]

BACKBONES_2D = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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


def _clip_of(item: Any) -> torch.Tensor:
    if isinstance(item, dict):
        for key in ("clip", "x", "video", "input"):
            if key in item:
                return torch.as_tensor(item[key])
        raise KeyError(f"dataset item has none of the keys clip/x/video/input: {sorted(item)}")
    if isinstance(item, (tuple, list)):
        return torch.as_tensor(item[0])
    return torch.as_tensor(item)


class TransferPairDataset(Dataset):
    """Map-style dataset indexed by the ``(frames_index, clip_index, label)`` triples of a
    :class:`TransferPairSampler` (pass the sampler as the DataLoader's ``sampler``).

    Args:
        clips: any dataset whose item is a clip ``(C, T, H, W)``, a tuple/list starting with
            one, or a dict with a ``clip`` key.
        num_frames: N frames shown to the 2D network, evenly spaced over the clip (default: all
            T frames; the paper uses 32 frames for a 32-frame clip).

    Item: ``(frames (C, N, H, W), clip (C, T, H, W), label)`` — frames keep the clip layout.
    """

    def __init__(self, clips: Dataset, *, num_frames: int | None = None) -> None:
        self.clips, self.num_frames = clips, num_frames

    def __len__(self) -> int:
        return len(self.clips)  # type: ignore[arg-type]

    def __getitem__(self, pair: tuple[int, int, int]) -> tuple[torch.Tensor, torch.Tensor, int]:
        a, b, label = pair
        frames = _clip_of(self.clips[a])
        if self.num_frames is not None:
            idx = np.linspace(0, frames.shape[1] - 1, self.num_frames).round().astype(np.int64)
            frames = frames[:, torch.from_numpy(idx)]
        return frames, _clip_of(self.clips[b]), int(label)


class TransferPairModel(nn.Module):
    """Fig. 4: frozen 2D network on N frames + 3D network on the clip → same/different logits.

    Args:
        model_3d: a :class:`~pain_lib.models.VideoNet` (its pooled features are used).
        backbone_2d: a 2D network mapping ``(B, 3, H, W)`` to features ``(B, D)``
            (e.g. from :func:`load_2d_backbone`); frozen and kept in eval mode.
        feature_dim_2d: ``D`` (default ``backbone_2d.num_features``).
        hidden: the classifier's hidden layers after concatenation (paper: 512, 128).
        freeze_2d: keep the 2D network fixed (the paper's setting).

    ``forward(frames (B, C, N, H, W), clip (B, C, T, H, W)) -> logits (B, 2)``.
    """

    def __init__(
        self,
        model_3d: nn.Module,
        backbone_2d: nn.Module,
        *,
        feature_dim_2d: int | None = None,
        hidden: Sequence[int] = (512, 128),
        freeze_2d: bool = True,
    ) -> None:
        super().__init__()
        self.model_3d, self.backbone_2d, self.freeze_2d = model_3d, backbone_2d, freeze_2d
        d2 = feature_dim_2d if feature_dim_2d is not None else getattr(backbone_2d, "num_features", None)
        if d2 is None:
            raise ValueError("pass feature_dim_2d: the 2D backbone has no num_features attribute")
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

    def features_2d(self, frames: torch.Tensor) -> torch.Tensor:
        """``(B, C, N, H, W) -> (B, D)``: per-frame features averaged over the N frames."""
        b, c, n, h, w = frames.shape
        x = frames.transpose(1, 2).reshape(b * n, c, h, w)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_2d):
            f = self.backbone_2d(x)
        return f.reshape(b, n, -1).mean(1)

    def features_3d(self, clip: torch.Tensor) -> torch.Tensor:
        f = self.model_3d.forward_head(self.model_3d.forward_features(clip), pre_logits=True)
        return f.mean(1) if f.dim() == 3 else f  # a per-frame head gives (B, T', C)

    def forward(self, frames: torch.Tensor, clip: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.cat([self.features_2d(frames), self.features_3d(clip)], dim=1))


def transfer_step(model: nn.Module, batch: Sequence[Any], loss_fn: nn.Module, device: torch.device):
    """Step function for :func:`pain_lib.train.fit` on ``(frames, clip, label)`` batches."""
    frames, clip, label = batch[0].to(device), batch[1].to(device), torch.as_tensor(batch[2]).to(device)
    logits = model(frames, clip)
    return loss_fn(logits.float(), label.long()), label.shape[0]


def load_2d_backbone(name: str = "resnet18", *, weights: str | os.PathLike = "auto") -> tuple[nn.Module, dict[str, Any]]:
    """A torchvision 2D ResNet as a feature extractor (``fc`` removed; ``(B,3,H,W) -> (B,D)``).

    Never downloads. Args:
        name: one of :data:`BACKBONES_2D`.
        weights: ``"auto"`` — torchvision's default (ImageNet) weights if the file is already in
            the local torch hub cache, else random initialisation; ``"imagenet"`` — the same but
            a missing file is an error (which names the path to put it at); ``"none"`` — random;
            or a path to a state dict (e.g. saved after :func:`pretrain_2d_identity`).

    Returns ``(backbone, provenance)``; ``backbone.num_features`` is ``D``; ``provenance`` says
    which source was used (``torchvision-cache`` / ``file`` / ``random-init``).
    """
    import torchvision

    if name not in BACKBONES_2D:
        raise ValueError(f"unknown 2D backbone {name!r}; valid: {', '.join(BACKBONES_2D)}")
    model = torchvision.models.get_model(name, weights=None)  # weights=None never downloads
    num_features = model.fc.in_features
    model.fc = nn.Identity()
    model.num_features = num_features
    prov: dict[str, Any] = {"backbone": name, "num_features": num_features}
    source_path: Path | None = None
    if isinstance(weights, (str, os.PathLike)) and str(weights) in ("auto", "imagenet"):
        path, wname = torchvision_cache_path(name)
        if path.is_file():
            source_path = path
            prov.update(source="torchvision-cache", weights=wname, pretrained_on="ImageNet-1k",
                        note="ImageNet weights stand in for the paper's CASIA-WebFace face model")
        elif str(weights) == "imagenet":
            raise FileNotFoundError(
                f"{wname} not in the local torch hub cache: expected {path}. Nothing is downloaded at run "
                f"time; copy the file there, or use weights='auto' (random init) or pretrain_2d_identity()."
            )
        else:
            prov.update(source="random-init", weights=None, pretrained_on=None,
                        note=f"no cached weights at {path}; randomly initialised (train with pretrain_2d_identity)")
    elif str(weights) == "none":
        prov.update(source="random-init", weights=None, pretrained_on=None, note="random initialisation requested")
    else:
        source_path = Path(weights)
        if not source_path.is_file():
            raise FileNotFoundError(f"2D backbone weights file not found: {source_path}")
        prov.update(source="file", weights=str(source_path), pretrained_on="see the file's provenance")
    if source_path is not None:
        state = torch.load(source_path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            if "provenance" in state:
                prov["file_provenance"] = state["provenance"]
            state = state["state_dict"]
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(f"weights in {source_path} do not fit {name}: missing {missing[:5]}, unexpected {unexpected[:5]}")
        prov["path"] = str(source_path)
    return model, prov


def _as_image_tensor(images: Any, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images
    if x.dim() != 4:
        raise ValueError(f"images must be (N, 3, H, W) float or (N, H, W, 3) uint8, got shape {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        if x.shape[-1] != 3:
            raise ValueError(f"uint8 images must be (N, H, W, 3), got shape {tuple(x.shape)}")
        x = x.permute(0, 3, 1, 2).float() / 255.0
        x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    return x.float()


def pretrain_2d_identity(
    backbone: nn.Module,
    images: Any,
    identities: Sequence[Hashable],
    *,
    epochs: int = 5,
    batch_size: int = 32,
    lr: float = 0.01,
    val_fraction: float = 0.2,
    device: str | torch.device = "auto",
    seed: int = 0,
    amp: bool = False,
    progress: bool = True,
    dataset: str = "synthetic faces",
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    save_to: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Train ``backbone`` in place on face-identity classification — the honest analogue of the
    paper's CASIA-WebFace pre-training (subject = identity on the synthetic faces).

    Args:
        backbone: from :func:`load_2d_backbone` (needs ``num_features``).
        images: ``(N, 3, H, W)`` float tensor/array already normalised like the clips, or
            ``(N, H, W, 3)`` uint8 RGB (then scaled to [0, 1] and normalised with ``mean``/``std``).
        identities: one identity per image (any hashable, e.g. subject ids).
        epochs, batch_size, lr: SGD (momentum 0.9, weight decay 1e-4) settings.
        val_fraction: images held out to measure identity accuracy (0 = none).
        device, seed, amp, progress: as :func:`pain_lib.train.fit`.
        dataset: name recorded in the provenance.
        save_to: optional path; the backbone's state dict and the provenance are saved there
            (load again with ``load_2d_backbone(name, weights=path)``).

    Returns the provenance dict (source, dataset, counts, epochs, final loss, held-out accuracy
    and chance level).
    """
    from pain_lib.config import resolve_device
    from pain_lib.train import fit, make_loader, make_sgd, predict

    x = _as_image_tensor(images, mean, std)
    ids = list(identities)
    if len(ids) != x.shape[0]:
        raise ValueError(f"{x.shape[0]} images but {len(ids)} identities")
    classes, y = np.unique(np.array([str(i) for i in ids], dtype=object), return_inverse=True)
    if len(classes) < 2:
        raise ValueError("identity pre-training needs at least two identities")
    y = torch.as_tensor(y, dtype=torch.long)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    val_idx, tr_idx = perm[:n_val], perm[n_val:]
    dev = resolve_device(device) if isinstance(device, str) else device
    torch.manual_seed(seed)
    for p in backbone.parameters():
        p.requires_grad_(True)
    clf = nn.Sequential(backbone, nn.Linear(backbone.num_features, len(classes)))
    tr = torch.utils.data.TensorDataset(x[tr_idx], y[tr_idx])
    history = fit(
        clf,
        make_loader(tr, batch_size=batch_size, shuffle=True, seed=seed),
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=make_sgd(clf, lr=lr),
        epochs=epochs,
        device=dev,
        amp=amp,
        progress=progress,
    )
    prov: dict[str, Any] = {
        "source": "face-identity-pretraining",
        "analogue_of": "CASIA-WebFace identity pre-training (SCN paper Sec. 4.3)",
        "dataset": dataset,
        "num_images": int(len(y)),
        "num_identities": int(len(classes)),
        "epochs": int(epochs),
        "final_train_loss": float(history["train_loss"].iloc[-1]),
        "chance_accuracy": 1.0 / len(classes),
        "seed": seed,
    }
    if n_val:
        va = torch.utils.data.TensorDataset(x[val_idx], y[val_idx])
        scores = predict(clf, make_loader(va, batch_size=batch_size), device=dev)
        prov["val_accuracy"] = float((scores.argmax(1) == y[val_idx].numpy()).mean())
        prov["num_val_images"] = int(n_val)
    backbone.cpu()
    if save_to is not None:
        torch.save({"state_dict": backbone.state_dict(), "provenance": prov}, save_to)
        prov["saved_to"] = str(save_to)
    return prov

"""The engine's stand-in for a face-pretrained 2D network, shared by every paper.

The papers start from 2D networks pre-trained on faces (the SCN paper's and the *binary*
paper's CASIA-WebFace models) or on ImageNet (*ahdi*, *ssd*). Neither set is available here
and nothing is downloaded, so :func:`pretrained_backbone` gives, in this order:

1. ImageNet weights from the local torchvision / timm cache, when the builder finds them
   (``weights="auto"``; paper-width networks only);
2. else **face-identity pre-training** (:func:`pretrain_2d_identity`) on the training fold's
   face crops: subject = identity, the honest analogue of CASIA-WebFace on the synthetic faces,
   computed once per (network, fold's subjects, schedule) as a store stage shared by every
   configuration that asks for it.

The provenance (which of the two, the dataset, counts, held-out identity accuracy and its chance
level) comes back with the network and goes into the fold's record.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..data.bank import ClipBatches
from ..data.base import Sample
from ..models import get_model
from ..train import fit, make_loader, make_sgd, predict
from .recipe import FitContext

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "pretrain_2d_identity", "face_images", "pretrained_backbone"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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
    analogue_of: str = "a face-pretrained 2D network (CASIA-WebFace identity pre-training)",
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> dict[str, Any]:
    """Train ``backbone`` in place on face-identity classification — the honest analogue of the
    paper's CASIA-WebFace pre-training (subject = identity on the synthetic faces).

    Args:
        backbone: a 2D feature extractor with ``num_features`` (e.g. :func:`comparable_2d`).
        images: ``(N, 3, H, W)`` float tensor/array already normalised like the clips, or
            ``(N, H, W, 3)`` uint8 RGB (then scaled to [0, 1] and normalised with ``mean``/``std``).
        identities: one identity per image (any hashable, e.g. subject ids).
        epochs, batch_size, lr: SGD (momentum 0.9, weight decay 1e-4) settings.
        val_fraction: images held out to measure identity accuracy (0 = none).
        device, seed, amp, progress: as :func:`pain_lib.train.fit`.
        dataset: name recorded in the provenance; ``analogue_of``: what the pre-training stands in for.

    Returns the provenance dict (source, dataset, counts, epochs, final loss, held-out accuracy
    and chance level).
    """
    from ..config import resolve_device

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
        make_loader(tr, batch_size=batch_size, shuffle=True, seed=seed, drop_last=len(tr) > batch_size),
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=make_sgd(clf, lr=lr),
        epochs=epochs,
        device=dev,
        amp=amp,
        progress=progress,
    )
    prov: dict[str, Any] = {
        "source": "face-identity-pretraining",
        "analogue_of": analogue_of,
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
    return prov




def face_images(clips: ClipBatches, *, every: int = 4) -> tuple[torch.Tensor, list[str]]:
    """Face crops ``(N, S, S, 3)`` uint8 of every ``every``-th frame of the samples of ``clips``,
    and their subjects (the identities of the 2D pre-training)."""
    frames, ids = [], []
    for s, off, n in zip(clips.samples, clips.offsets, clips.lengths):
        idx = torch.arange(int(off), int(off + n), every)
        frames.append(clips.bank.frames[idx.to(clips.bank.device)].cpu())
        ids += [s.subject] * len(idx)
    return torch.cat(frames), ids


def pretrained_backbone(model: str, cfg: dict[str, Any], samples: Sequence[Sample], ctx: FitContext, *,
                        images: Any, epochs: int, batch_size: int = 32, amp: bool = False,
                        inputs: dict[str, Any] | None = None, analogue_of: str | None = None) -> tuple[nn.Module, dict]:
    """A 2D feature network (``get_model(model, **cfg, head="none")``) pre-trained as the module
    docstring says, and its provenance.

    Args:
        model, cfg: the registered 2D network and its builder arguments.
        samples: the training fold's samples (their subjects are the identities).
        ctx: the fold's context (device, seed, store stages).
        images: a callable returning ``(images (N, S, S, 3) uint8, identities)`` -- called only
            when the stage is computed (e.g. ``lambda: face_images(clips)``).
        epochs, batch_size, amp: the pre-training's schedule.
        inputs: what else the images depend on (crop size and mode), part of the stage key.
    """
    arch = {**dict(cfg), "head": "none"}
    try:
        net = get_model(model, **arch, weights="auto")
    except TypeError:  # a builder without pretrained weights
        net = get_model(model, **arch)
    prov = dict(getattr(net, "weights_provenance", {}) or {})
    if prov.get("source", "random-init") != "random-init":
        return net, {**prov, "note": "ImageNet weights stand in for the paper's face-pretrained network"}

    def pretrain() -> dict:
        torch.manual_seed(ctx.seed)
        fresh = get_model(model, **arch)
        x, ids = images()
        info = pretrain_2d_identity(fresh, x, ids, epochs=epochs, batch_size=batch_size, device=ctx.device,
                                    seed=ctx.seed, amp=amp, progress=False, dataset="training-fold faces",
                                    **({"analogue_of": analogue_of} if analogue_of else {}))
        return {"model": fresh, "provenance": info}

    ident = {"model": model, "cfg": arch, "epochs": epochs, "batch_size": batch_size, "amp": amp,
             "samples": list(samples), "seed": ctx.seed, **(inputs or {})}
    stage = ctx.stage("face-identity", ident, pretrain)
    return stage["model"], stage["provenance"]

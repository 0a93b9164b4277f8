"""Profiles, device choice and seeding.

A *profile* fixes the scale of a run: how much synthetic data, how wide and deep the
networks, how many epochs and folds.  Every notebook parameter overrides its profile.

=========  ===========================================  ===========================
profile    for                                          scale
=========  ===========================================  ===========================
tiny       tests and CI                                 seconds per notebook, 2 CPU cores
standard   ``make reproduce`` without a GPU (synthetic)  minutes per paper on 2 CPU cores
full       ``make reproduce`` with one GPU (synthetic)   every fold, trained until the
                                                        validation loss stops improving
paper      GPU + real data                              the papers' own settings
=========  ===========================================  ===========================
"""

from __future__ import annotations

import dataclasses
import os
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Profile",
    "PROFILES",
    "get_profile",
    "resolve_device",
    "seed_everything",
    "SYNTHETIC_DATASETS",
    "REAL_DATASETS",
    "DATASETS",
    "PAPER_DATASET_OF",
]


@dataclass(frozen=True)
class Profile:
    """The scale of a run: every knob that trades time for fidelity is a field here, so a new
    profile is one entry of :data:`PROFILES` and no code asks for a profile by name. Frozen:
    use :meth:`replace` to derive a variant (a notebook parameter named like a field does)."""

    name: str
    #: scale of the synthetic datasets generated for this profile (tiny / standard / large)
    synth_scale: str
    #: cross-validation protocol: ``loso`` or ``group-kfold:K`` (subject-grouped)
    cv: str
    #: evaluate at most this many folds (``None``: all of them)
    max_folds: int | None
    #: training epochs (the maximum, with early stopping)
    epochs: int
    #: mini-batch size
    batch_size: int
    #: frames per clip fed to a 3D network
    clip_len: int
    #: side of the square face crop, pixels
    image_size: int
    #: temporal stride between sampled frames
    temporal_stride: int
    #: channels of the first network stage (the papers use 64)
    base_width: int
    #: initial learning rate of SGD
    lr: float
    #: mixed precision (bf16 autocast) on CUDA (``pain_lib.train.bf16_native``); every CPU trains in
    #: fp32, so a CPU profile gives the same numbers on every CPU. Provenance records which ran.
    amp: bool
    #: DataLoader worker processes (loaders of precomputed representations)
    num_workers: int
    #: per-cell timeout when a notebook runs under papermill, seconds
    cell_timeout_s: int
    #: random training clips drawn per sequence and epoch
    clips_per_sample: int = 2
    #: frames between consecutive evaluation clips of a test sequence
    eval_hop: int = 16
    #: the learning rate is divided by 10 every ``lr_step`` epochs (paper: 10)
    lr_step: int = 10
    #: clip the gradient norm of every training step to this value (0: off)
    grad_clip: float = 0.0
    #: early stopping: epochs without a better validation loss before training stops (0: off,
    #: every epoch is trained)
    patience: int = 0
    #: training subjects held out of each training fold for that validation loss
    val_subjects: int = 0
    #: sweeps of a table keep their first this many values (0: every value)
    sweep_keep: int = 0
    #: compute only the table cells a notebook's claims compare; the others are shown as "run at
    #: full" (:func:`pain_lib.experiments.select_cells`)
    claims_only: bool = False
    #: an image recipe (:class:`~pain_lib.experiments.ImageSetup`) trains this many times the
    #: ``epochs`` (and ``lr_step``): it sees one item per video and epoch where a clip recipe sees
    #: ``clips_per_sample``, and an epoch of a few hundred small images costs well under a second
    image_epoch_factor: int = 1
    #: epochs of a self-supervised pretext stage (the SCN paper's 2D -> 3D knowledge transfer,
    #: the SSD paper's Siamese pretext)
    pretext_epochs: int = 1
    #: epochs of the engine's face-identity pre-training of a 2D network (the stand-in for a
    #: face- or ImageNet-pretrained network, :mod:`pain_lib.experiments.pretrain`)
    identity_epochs: int = 2
    #: bitwise-deterministic cuDNN kernels (off: cuDNN autotuning picks the fastest kernels)
    deterministic: bool = True
    #: recompute activations in the backward pass (paper-size networks at batch 64 on one GPU)
    grad_checkpointing: bool = False
    #: configurations of a results table trained at once on a GPU (worker processes)
    grid_jobs: int = 1
    #: what this profile reduces relative to the papers (shown in every notebook)
    reduced: tuple[str, ...] = field(default_factory=tuple)

    def replace(self, **changes: Any) -> Profile:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


PROFILES: dict[str, Profile] = {
    "tiny": Profile(
        name="tiny",
        synth_scale="tiny",
        cv="group-kfold:2",
        max_folds=1,
        epochs=1,
        batch_size=4,
        clip_len=8,
        image_size=32,
        temporal_stride=1,
        base_width=8,
        lr=0.003,
        amp=False,
        num_workers=0,
        cell_timeout_s=300,
        clips_per_sample=2,
        eval_hop=8,
        lr_step=1,
        sweep_keep=2,
        claims_only=True,
        pretext_epochs=1,
        identity_epochs=1,
        reduced=(
            "tiny synthetic dataset",
            "networks 8x narrower",
            "32x32 crops, 8-frame clips",
            "1 epoch, 1 of 2 subject-grouped folds; only the cells the claims compare (the others: run at full); "
            "other sweeps cut to two values",
            "SGD lr 0.003 on standardised targets (paper: 0.01 at batch 64 over many epochs)",
        ),
    ),
    "standard": Profile(
        name="standard",
        synth_scale="standard",
        cv="group-kfold:3",
        max_folds=None,
        epochs=10,
        batch_size=8,
        clip_len=8,
        image_size=32,
        temporal_stride=1,
        base_width=8,
        lr=0.03,
        amp=True,
        num_workers=0,
        cell_timeout_s=3600,
        clips_per_sample=2,
        eval_hop=16,
        lr_step=7,
        grad_clip=5.0,
        claims_only=True,
        pretext_epochs=1,
        identity_epochs=2,
        reduced=(
            "synthetic data in the real layouts",
            "networks 8x narrower than the paper",
            "32x32 crops, 8-frame clips; 2 training clips per sequence and epoch, test clips 16 frames apart",
            "only the table cells the claims compare (the smallest network size of each sweep, the "
            "settings a claim names); every other cell is shown as 'run at full'",
            "10 epochs (lr / 10 after 7); every fold of 3 subject-grouped folds instead of leave-one-subject-out",
            "SGD lr 0.03 at batch 8 on standardised targets (paper: 0.01 at batch 64 over up to 200 epochs; "
            "at 0.003 the networks did not learn in this budget, at 0.05 they diverged); gradient norm clipped "
            "at 5, about twice a step's median norm (without it SCN stalled at chance in one fold of three and "
            "the 16 px networks diverged)",
            "1 epoch of pretext, 2 of face-identity pre-training",
            "bf16 mixed precision on a GPU; fp32 on every CPU (the same numbers on every CPU)",
        ),
    ),
    "full": Profile(
        name="full",
        synth_scale="standard",
        cv="group-kfold:3",
        max_folds=None,
        epochs=20,
        batch_size=32,
        clip_len=32,
        image_size=32,
        temporal_stride=1,
        base_width=16,
        lr=0.005,
        amp=True,
        num_workers=0,
        cell_timeout_s=4 * 3600,
        clips_per_sample=6,
        eval_hop=4,
        lr_step=10,
        patience=4,
        val_subjects=2,
        image_epoch_factor=3,
        pretext_epochs=3,
        identity_epochs=3,
        deterministic=False,
        grid_jobs=4,
        reduced=(
            "synthetic data in the real layouts",
            "networks 4x narrower than the paper, 32x32 crops (paper: 112x112)",
            "32-frame clips as the paper, temporal stride 1 (paper: 2)",
            "every fold of 3 subject-grouped folds instead of leave-one-subject-out",
            "6 training clips per sequence and epoch; up to 20 epochs, early stopping after 4 epochs without a better validation loss on 2 "
            "held-out training subjects (paper: up to 200 epochs); image recipes (one image per video) up to 60",
            "SGD lr 0.005 at batch 32 on standardised targets (paper: 0.01 at batch 64)",
            "3 epochs of pretext and of face-identity pre-training",
            "bf16 mixed precision; cuDNN autotuning (not bitwise deterministic)",
        ),
    ),
    "paper": Profile(
        name="paper",
        synth_scale="large",
        cv="loso",
        max_folds=None,
        epochs=200,
        batch_size=64,
        clip_len=32,
        image_size=112,
        temporal_stride=2,
        base_width=64,
        lr=0.01,
        amp=True,
        num_workers=4,
        cell_timeout_s=7 * 24 * 3600,
        clips_per_sample=8,
        eval_hop=2,
        lr_step=10,
        patience=10,
        val_subjects=2,
        pretext_epochs=20,
        identity_epochs=20,
        deterministic=False,
        grad_checkpointing=True,
        reduced=(
            "choices the papers do not state: regression on standardised targets mapped back to their "
            "units; BatchNorm statistics recomputed after training (precise BN); the last BatchNorm of every "
            "residual block zero-initialised; bf16 mixed precision; early stopping after 10 epochs without a "
            "better validation loss on 2 held-out training subjects (the papers: at most 200 epochs); "
            "activation checkpointing so every depth trains at batch 64 on one 80 GB GPU; 20 epochs of any "
            "pretext and of face-identity pre-training (each paper's notes say what its own choices are)",
        ),
    ),
}

#: synthetic flavours written by :mod:`pain_lib.synth`, in the real datasets' layouts
SYNTHETIC_DATASETS = ("synth-unbc", "synth-biovid", "synth-mint")
#: the licensed datasets (user supplies ``data_root``)
REAL_DATASETS = ("unbc", "biovid", "mint")
DATASETS = SYNTHETIC_DATASETS + REAL_DATASETS
#: the dataset name the papers' tables use for each dataset of this library
PAPER_DATASET_OF = {
    "unbc": "UNBC-McMaster",
    "synth-unbc": "UNBC-McMaster",
    "biovid": "BioVid-A",
    "synth-biovid": "BioVid-A",
    "mint": "MIntPAIN",
    "synth-mint": "MIntPAIN",
}


def get_profile(name: str) -> Profile:
    """Return the profile called ``name`` or raise a ``ValueError`` listing the valid ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown profile {name!r}; valid profiles: {', '.join(PROFILES)}"
        ) from None


def resolve_device(device: str = "auto"):
    """Map ``auto`` / ``cpu`` / ``cuda`` / ``cuda:N`` / ``mps`` to a ``torch.device``.

    ``auto`` picks CUDA, then Apple MPS, then the CPU. Asking for a device that is not
    present raises a ``ValueError`` that says what is available.
    """
    import torch

    available = ["cpu"]
    if torch.cuda.is_available():
        available += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        available.append("mps")
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if "mps" in available:
            return torch.device("mps")
        return torch.device("cpu")
    if device not in available:
        raise ValueError(
            f"device {device!r} is not available on this machine; available: "
            f"{', '.join(available)} (or 'auto' to pick the best one)"
        )
    return torch.device(device)


def seed_everything(seed: int, *, deterministic: bool = True) -> np.random.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA) and set cuDNN to deterministic mode.

    Returns a NumPy ``Generator`` seeded with ``seed`` for code that takes one explicitly.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return np.random.default_rng(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic
    # CUBLAS needs this for deterministic matmuls on CUDA >= 10.2.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return np.random.default_rng(seed)

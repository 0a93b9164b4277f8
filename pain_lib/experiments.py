"""Cross-validated clip experiments: the recipe behind the papers' result tables.

One function, :func:`clip_cv`, trains and evaluates a registered 3D network on face clips
over subject-grouped folds, with per-fold checkpoints and resume (through
:func:`pain_lib.train.cross_validate`). A notebook cell then reads::

    setup = ClipSetup.from_profile(run.profile)
    res = clip_cv(samples, model="scn", model_cfg={"depth": 26}, setup=setup, run=run)
    res.summary()            # metric -> (mean, std) over folds

Tasks
-----
``"pspi"``      frame-level PSPI regression (UNBC): a clip's target is the PSPI of its centre
                frame; evaluation slides clips over each test sequence and scores every
                centre frame: MSE, MAE, PCC and AUC (ROC AUC of the predicted intensity for
                pain = PSPI > 0, the library's definition of the SCN paper's "AUC accuracy").
``"classify"``  video-level classification (BioVid classes / class pairs): labels per sample;
                the logits of the sliding clips of a video are averaged; accuracy and AUC
                (binary tasks) or accuracy (multi-class).

The experiment store
--------------------
A results table shares many configurations with its neighbours (the SCN paper's default
SCN appears in Tables 1, 2, 4-7 and Figures 7-10). :func:`run_grid` therefore files every
cross-validated configuration under a *content key* (:func:`experiment_key`: model, builder
arguments, clip setup, task, protocol, seed, device type, a fingerprint of the samples and
labels, and of the initial weights) in a shared store (``cache/experiments`` for notebooks),
so a configuration trains once and every table that needs it reads the stored per-fold
results and models. :data:`STORE_VERSION` is part of every key: bump it when a change to
training or evaluation makes stored results stale (or delete ``cache/experiments``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from . import metrics
from .config import Profile
from .data.base import Sample
from .data.clips import ClipDataset
from .data.labels import frame_pspi
from .data.splits import make_splits
from .models import get_model
from .train import (
    _atomic_torch_save,
    cross_validate,
    default_step,
    fit,
    make_loader,
    make_sgd,
    make_step,
    make_step_lr,
    precise_bn,
    predict,
)

__all__ = [
    "ClipSetup",
    "CVResult",
    "StandardisedMSE",
    "STORE_VERSION",
    "cell_store_name",
    "centre_pspi",
    "clip_cv",
    "clip_dataset",
    "continuous_trace",
    "experiment_key",
    "fingerprint",
    "head_config",
    "run_grid",
    "stored_fold_model",
    "target_statistics",
    "to_memory_format",
    "train_clip_model",
    "transfer_pretrain",
]

TASKS = ("pspi", "classify")

#: part of every experiment-store key; bump when training or evaluation changes meaning
STORE_VERSION = 4

#: training clips whose BatchNorm statistics replace the running averages after training
PRECISE_BN_CLIPS = 64


def fingerprint(obj: Any) -> str:
    """SHA-1 of the *content* of ``obj``: samples (id, subject, source, frame count, labels),
    arrays and tensors (dtype, shape, bytes), mappings (sorted keys), sequences, dataclasses
    and scalars. Equal content gives equal fingerprints in any process."""
    h = hashlib.sha1()

    def feed(o: Any) -> None:
        if isinstance(o, Sample):
            h.update(b"S")
            feed([o.sample_id, o.subject, str(o.source), o.n_frames, o.labels])
        elif isinstance(o, torch.Tensor):
            t = o.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(o, np.ndarray):
            a = np.ascontiguousarray(o)
            h.update(f"A{a.dtype}{a.shape}".encode())
            h.update(a.tobytes())
        elif isinstance(o, dict):
            h.update(b"D")
            for k in sorted(o, key=str):
                feed(str(k))
                feed(o[k])
        elif isinstance(o, (list, tuple)):
            h.update(f"L{len(o)}".encode())
            for v in o:
                feed(v)
        elif hasattr(o, "__dataclass_fields__") and not isinstance(o, type):
            feed(asdict(o))
        elif isinstance(o, np.generic):
            feed(o.item())
        else:
            h.update(f"{type(o).__name__}:{o!r};".encode())

    feed(obj)
    return h.hexdigest()


def experiment_key(**parts: Any) -> str:
    """The store key of a training configuration: :func:`fingerprint` of ``parts`` and
    :data:`STORE_VERSION` (keyword names are part of the key)."""
    return fingerprint({"store_version": STORE_VERSION, **parts})


@dataclass(frozen=True)
class ClipSetup:
    """Input geometry and training schedule of a clip experiment (defaults: the profile)."""

    clip_len: int
    size: int
    stride: int
    epochs: int
    batch_size: int
    lr: float
    amp: bool
    num_workers: int
    #: random training clips drawn per sample and epoch
    clips_per_sample: int = 4
    #: frames between consecutive evaluation clips of a test sequence
    eval_hop: int = 4
    #: SGD step schedule: lr / 10 every ``lr_step`` epochs (paper: 10)
    lr_step: int = 10
    crop: str = "auto"
    #: run the network in channels-last (NDHWC) memory layout: 1.5-2x faster 3D convolutions
    #: on CPUs (oneDNN) and tensor cores; the numbers are the same
    channels_last: bool = True

    @classmethod
    def from_profile(cls, profile: Profile, **overrides: Any) -> ClipSetup:
        base = cls(
            clip_len=profile.clip_len,
            size=profile.image_size,
            stride=profile.temporal_stride,
            epochs=profile.epochs,
            batch_size=profile.batch_size,
            lr=profile.lr,
            amp=profile.amp,
            num_workers=profile.num_workers,
            clips_per_sample={"tiny": 2, "standard": 2}.get(profile.name, 8),
            eval_hop={"tiny": 8, "standard": 16}.get(profile.name, 2),
            lr_step=10 if profile.name == "paper" else max(1, profile.epochs),
        )
        return replace(base, **overrides) if overrides else base

    def replace(self, **changes: Any) -> ClipSetup:
        return replace(self, **changes)


def head_config(task: str, n_classes: int = 1) -> dict[str, Any]:
    """Builder arguments of the output head for a task."""
    if task == "pspi":
        return {"head": "regression", "num_outputs": 1}
    return {"head": "classification", "num_outputs": n_classes}


def centre_pspi(sample: Sample, idx: np.ndarray) -> np.float32:
    """Target of a regression clip: the PSPI of its centre frame."""
    return np.float32(frame_pspi(sample)[idx[len(idx) // 2]])


@dataclass
class CVResult:
    """Per-fold metrics and outputs of :func:`clip_cv`."""

    folds: pd.DataFrame
    outputs: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    #: where the per-fold checkpoints (``<fold>.pt``), results and outputs are stored
    checkpoint_dir: Path | None = None

    def summary(self, metrics_: Sequence[str] | None = None) -> dict[str, tuple[float, float]]:
        """metric -> (mean, std over folds); std is NaN with a single fold."""
        cols = metrics_ or [c for c in ("mse", "mae", "pcc", "auc", "accuracy") if c in self.folds]
        out = {}
        for c in cols:
            vals = self.folds[c].astype(float).to_numpy()
            vals = vals[np.isfinite(vals)]
            out[c] = (float(vals.mean()) if len(vals) else float("nan"),
                      float(vals.std(ddof=1)) if len(vals) > 1 else float("nan"))
        return out

    def pooled(self) -> dict[str, np.ndarray]:
        """Outputs of every fold concatenated (``y_true``, ``y_pred``, ``sample``, ``frame``)."""
        keys = set().union(*(o.keys() for o in self.outputs.values())) if self.outputs else set()
        return {k: np.concatenate([o[k] for o in self.outputs.values() if k in o]) for k in keys}


def clip_dataset(
    samples: Sequence[Sample],
    setup: ClipSetup,
    *,
    mode: str,
    target: str | Callable = "none",
    seed: int = 0,
    cache_dir: Path | None = None,
    hop: int | None = None,
) -> ClipDataset:
    """A :class:`ClipDataset` with the geometry of ``setup``: ``mode="random"`` draws
    ``setup.clips_per_sample`` training clips per sample, ``"sliding"`` covers each sample with
    clips ``hop`` frames apart (default ``setup.eval_hop``)."""
    extra = {"clips_per_sample": setup.clips_per_sample} if mode == "random" else {}
    if mode == "sliding":
        extra["hop"] = setup.eval_hop if hop is None else hop
    return ClipDataset(list(samples), mode=mode, clip_len=setup.clip_len, size=setup.size, stride=setup.stride,
                       target=target, crop=setup.crop, cache_dir=cache_dir, seed=seed, **extra)


def _task_target(task: str, labels: dict[str, int] | None) -> Callable:
    """Clip target of a task: the centre frame's PSPI, or the sample's class label."""
    if task == "pspi":
        return centre_pspi
    assert labels is not None
    return lambda s, idx: np.int64(labels[s.sample_id])


def train_clip_model(
    train: Sequence[Sample],
    *,
    model: str,
    cfg: dict[str, Any],
    setup: ClipSetup,
    task: str = "pspi",
    labels: dict[str, int] | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    cache_dir: Path | None = None,
    init_state: dict[str, torch.Tensor] | None = None,
    epochs: int | None = None,
) -> tuple[nn.Module, pd.DataFrame]:
    """Build ``model`` (``cfg`` must include the head) and train it on clips of ``train``.

    ``init_state`` initialises every matching tensor except the head's (transferred weights).
    Regression (``pspi``) trains on standardised targets: the head maps its output back with the
    training frames' PSPI mean and standard deviation (:func:`target_statistics`), and the loss is
    the MSE in standard-deviation units (:class:`StandardisedMSE`); predictions, evaluation and
    checkpoints stay in PSPI units. After training, the BatchNorm statistics are recomputed with
    the final weights over :data:`PRECISE_BN_CLIPS` training clips (:func:`pain_lib.train.precise_bn`).
    Returns the trained network and :func:`pain_lib.train.fit`'s
    history (per-epoch loss, seconds).
    """
    torch.manual_seed(seed)
    net = to_memory_format(get_model(model, **cfg), setup)
    if init_state is not None:
        own = net.state_dict()
        usable = {k: v for k, v in init_state.items()
                  if k in own and own[k].shape == v.shape and not k.startswith("head.")}
        net.load_state_dict(usable, strict=False)
    train_ds = clip_dataset(train, setup, mode="random", target=_task_target(task, labels), seed=seed,
                            cache_dir=cache_dir)
    loader = make_loader(train_ds, batch_size=setup.batch_size, shuffle=True, seed=seed,
                         num_workers=setup.num_workers, drop_last=len(train_ds) > setup.batch_size)
    opt = make_sgd(net, lr=setup.lr)
    if task == "pspi":
        mean, std = target_statistics(train)
        net.head.set_target_scale(mean, std)
        loss = StandardisedMSE(std)
    else:
        loss = nn.CrossEntropyLoss()
    history = fit(net, loader, loss_fn=loss, optimizer=opt, scheduler=make_step_lr(opt, setup.lr_step),
                  epochs=epochs or setup.epochs, device=device, amp=setup.amp, progress=False,
                  step_fn=_regression_step if task == "pspi" else default_step)
    precise_bn(net, loader, device, max_batches=-(-PRECISE_BN_CLIPS // setup.batch_size))
    return net, history


def to_memory_format(net: nn.Module, setup: ClipSetup) -> nn.Module:
    """``net`` in the memory layout of ``setup`` (channels-last 3D weights make every
    convolution pick the faster NDHWC kernels; inputs may stay contiguous)."""
    return net.to(memory_format=torch.channels_last_3d) if setup.channels_last else net


def target_statistics(samples: Sequence[Sample]) -> tuple[float, float]:
    """Mean and standard deviation of the frame PSPI of ``samples`` (std floored at 1e-3, so a
    training set without pain still gives a usable scale)."""
    pspi = np.concatenate([frame_pspi(s) for s in samples]).astype(float)
    return float(pspi.mean()), float(max(pspi.std(), 1e-3))


class StandardisedMSE(nn.Module):
    """``MSE(prediction, target) / std**2``: the mean squared error of standardised targets,
    computed on predictions and targets in their own units."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.scale = 1.0 / float(std) ** 2

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return nn.functional.mse_loss(prediction, target) * self.scale


def clip_cv(
    samples: Sequence[Sample],
    *,
    model: str,
    model_cfg: dict[str, Any] | None = None,
    setup: ClipSetup,
    task: str = "pspi",
    labels: Sequence[int] | np.ndarray | None = None,
    cv: str,
    max_folds: int | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    checkpoint_dir: Path,
    cache_dir: Path | None = None,
    init_state: dict[str, torch.Tensor] | None = None,
    progress: bool = True,
    tag: str = "",
) -> CVResult:
    """Train ``model`` on each fold of ``cv`` and evaluate it on the held-out subjects.

    Args:
        samples: the dataset's samples (UNBC sequences with frame PSPI, or BioVid videos).
        model / model_cfg: a registered model and its builder arguments (``head`` and
            ``num_outputs`` are set from the task).
        setup: clip geometry and schedule (:meth:`ClipSetup.from_profile`).
        task: ``"pspi"`` (frame PSPI regression) or ``"classify"`` (``labels`` per sample).
        cv: ``"loso"`` or ``"group-kfold:K"``; ``max_folds`` evaluates only the first folds.
        checkpoint_dir: per-fold checkpoints and results; an interrupted run resumes.
        cache_dir: on-disk cache of decoded face crops (shared between experiments).
        init_state: initial weights of the 3D network (e.g. after knowledge-transfer
            pre-training); the head is re-initialised.
        tag: a name for this configuration (part of the stored config).

    Returns a :class:`CVResult`: one row per fold with ``mse, mae, pcc, auc`` (pspi) or
    ``accuracy, auc`` (classify), ``train_s`` and ``test_s`` (wall-clock seconds).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    samples = list(samples)
    if not samples:
        raise ValueError("no samples to cross-validate")
    label_of: dict[str, int] | None = None
    n_classes = 1
    if task == "classify":
        if labels is None or len(labels) != len(samples):
            raise ValueError("task 'classify' needs one label per sample")
        label_of = {s.sample_id: int(y) for s, y in zip(samples, labels)}
        n_classes = int(max(label_of.values())) + 1
    cfg = {**(model_cfg or {}), **head_config(task, n_classes)}
    splits = make_splits(samples, cv, seed)
    if max_folds is not None:
        splits = splits[:max_folds]
    device = torch.device(device)
    config = {"model": model, "cfg": cfg, "setup": asdict(setup), "task": task, "cv": cv, "seed": seed,
              "tag": tag, "init": fingerprint(init_state) if init_state is not None else None}

    def train_fn(split):
        net, history = train_clip_model(
            [samples[i] for i in split.train], model=model, cfg=cfg, setup=setup, task=task, labels=label_of,
            seed=seed, device=device, cache_dir=cache_dir, init_state=init_state)
        return net, {"train_s": float(history["seconds"].sum()), "final_train_loss": float(history["train_loss"].iloc[-1])}

    def eval_fn(net, split):
        test_ds = clip_dataset([samples[i] for i in split.test], setup, mode="sliding",
                               target=_task_target(task, label_of), seed=seed, cache_dir=cache_dir)
        loader = make_loader(test_ds, batch_size=max(setup.batch_size, 8), num_workers=setup.num_workers)
        t0 = time.perf_counter()
        pred, y = predict(net, loader, device, amp=setup.amp, return_targets=True)
        test_s = time.perf_counter() - t0
        sample_idx = np.array([split.test[si] for si, _ in test_ds.items])
        centre = np.array([w[len(w) // 2] for _, w in test_ds.items])
        if task == "pspi":
            y_pred = pred.reshape(len(pred), -1)[:, 0]
            m = metrics.regression_metrics(y.astype(float), y_pred)
            out = {"y_true": y.astype(np.float32), "y_pred": y_pred.astype(np.float32),
                   "sample": sample_idx, "frame": centre}
        else:
            # average the clip logits of each video
            vids = np.unique(sample_idx)
            logits = np.stack([pred[sample_idx == v].mean(0) for v in vids])
            y_vid = np.array([label_of[samples[v].sample_id] for v in vids])
            m = metrics.classification_metrics(y_vid, logits)
            out = {"y_true": y_vid, "y_score": logits.astype(np.float32), "sample": vids}
        return {**{k: float(v) for k, v in m.items()}, "test_s": test_s,
                "n_test_subjects": len(split.test_subjects), **out}

    folds = cross_validate(
        splits, train_fn=train_fn, eval_fn=eval_fn, checkpoint_dir=checkpoint_dir, resume=True,
        progress=progress, config=config, fold_names=[s.name.replace(":", "-") for s in splits],
        save_model=True,
    )
    return CVResult(folds=folds, outputs=folds.attrs.get("outputs", {}), config=config,
                    checkpoint_dir=Path(checkpoint_dir))


def _first_output(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A regression network's (B,) intensity (its head may return (B, 1))."""
    return model(x).reshape(len(x), -1)[:, 0]


_regression_step = make_step(forward=_first_output)


def continuous_trace(
    net: nn.Module, sample: Sample, setup: ClipSetup, device: torch.device | str = "cpu",
    *, cache_dir: Path | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame-by-frame PSPI estimate of one sequence: clips slide by one frame and each
    predicts its centre frame. Returns ``(frames, truth, prediction)``."""
    ds = clip_dataset([sample], setup, mode="sliding", hop=1, target=centre_pspi, cache_dir=cache_dir)
    pred, y = predict(to_memory_format(net, setup), make_loader(ds, batch_size=16), device, return_targets=True)
    frames = np.array([w[len(w) // 2] for _, w in ds.items])
    return frames, y.astype(np.float32), pred.reshape(len(pred), -1)[:, 0]


def transfer_pretrain(
    model: str,
    model_cfg: dict[str, Any],
    samples: Sequence[Sample],
    *,
    setup: ClipSetup,
    backbone: nn.Module,
    epochs: int,
    seed: int = 0,
    device: torch.device | str = "cpu",
    cache_dir: Path | None = None,
    num_frames: int = 4,
    store_dir: Path | None = None,
) -> tuple[dict[str, torch.Tensor], pd.DataFrame]:
    """The SCN paper's cross-architecture knowledge transfer (Sec. 3.2) on unlabelled clips.

    The frozen 2D ``backbone`` sees ``num_frames`` frames of a clip, the 3D network a clip;
    a same/different classifier learns whether both come from the same video and time stamp.
    Returns the 3D network's weights (to pass as ``init_state`` to :func:`clip_cv`) and the
    training history.

    With ``store_dir`` (notebooks: ``run.experiment_dir``) the result is filed under its
    :func:`experiment_key` and read back by any later call with the same inputs.
    """
    from .models import TransferPairDataset, TransferPairModel, TransferPairSampler, transfer_step

    path = None
    if store_dir is not None:
        key = experiment_key(kind="transfer", model=model, cfg=model_cfg, samples=list(samples), setup=setup,
                             backbone=backbone.state_dict(), epochs=epochs, seed=seed, num_frames=num_frames,
                             device=torch.device(device).type)
        path = Path(store_dir) / f"transfer-{model}-{key[:16]}.pt"
        if path.is_file():
            stored = torch.load(path, map_location="cpu", weights_only=True)
            return stored["state"], pd.DataFrame(stored["history"])
    torch.manual_seed(seed)
    net = to_memory_format(get_model(model, **{**model_cfg, "head": "regression", "num_outputs": 1}), setup)
    ds = clip_dataset(samples, setup, mode="random", seed=seed, cache_dir=cache_dir)
    items = [(si, k) for k, (si, _) in enumerate(ds.items)]
    sampler = TransferPairSampler(items, seed=seed)
    loader = make_loader(TransferPairDataset(ds, num_frames=num_frames), batch_size=setup.batch_size,
                         sampler=sampler, seed=seed)
    pair = TransferPairModel(net, backbone)
    opt = make_sgd([p for p in pair.parameters() if p.requires_grad], lr=setup.lr)
    hist = fit(pair, loader, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=epochs, device=device,
               amp=setup.amp, step_fn=transfer_step, progress=False)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_torch_save({"state": state, "history": hist.to_dict(orient="list")}, path)
    return state, hist


METRIC_LABELS = {"auc": "AUC", "mse": "MSE", "mae": "MAE", "pcc": "PCC", "accuracy": "accuracy"}


def run_grid(
    samples: Sequence[Sample],
    grid: Sequence[dict[str, Any]],
    *,
    setup: ClipSetup,
    run: Any = None,
    cv: str | None = None,
    checkpoint_dir: Path | None = None,
    task: str = "pspi",
    labels: Sequence[int] | None = None,
    max_folds: int | None = None,
    seed: int | None = None,
    device: torch.device | str | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict[tuple[str, str], CVResult]]:
    """Run :func:`clip_cv` for each cell of a results table.

    Each grid cell is a dict with ``row``, ``column`` (the paper's labels), ``model``, optional
    ``cfg`` (builder arguments), ``setup`` (overrides of :class:`ClipSetup`) and
    ``init_state``. Returns the long table (``row, column, metric, value, std, n, train_s,
    test_s, reused``; one row per cell and metric, mean ± std over folds) and the per-cell
    results.

    Every cell is filed in the experiment store ``checkpoint_dir`` under its
    :func:`experiment_key`, so an interrupted grid resumes where it stopped and a
    configuration another table already trained is read back, not trained again (``reused``
    says which). ``run`` (a notebook's :class:`~pain_lib.notebook.Run`) supplies ``cv``,
    ``max_folds``, ``seed``, ``device``, ``checkpoint_dir`` (its shared ``experiment_dir``)
    and ``cache_dir`` (explicit arguments win).
    """
    from tqdm.auto import tqdm

    if run is not None:
        cv = cv or run.profile.cv
        max_folds = max_folds if max_folds is not None else run.profile.max_folds
        seed = seed if seed is not None else run.seed
        device = device or run.device
        checkpoint_dir = checkpoint_dir or run.experiment_dir
        cache_dir = cache_dir or run.cache_dir
    if cv is None or checkpoint_dir is None:
        raise TypeError("run_grid needs run=... or both cv= and checkpoint_dir=")
    seed = seed or 0
    device = torch.device(device or "cpu")
    samples = list(samples)
    data_key = fingerprint([samples, None if labels is None else [int(y) for y in labels]])

    rows, results, reused = [], {}, 0
    for cell in tqdm(list(grid), desc="configurations", disable=not progress):
        cell_setup = setup.replace(**cell.get("setup", {}))
        init_state = cell.get("init_state")
        cell_dir = Path(checkpoint_dir) / cell_store_name(
            cell["model"], cell.get("cfg", {}), cell_setup, task=task, cv=cv, seed=seed, device=device,
            data_key=data_key, init_state=init_state)
        res = clip_cv(
            samples, model=cell["model"], model_cfg=cell.get("cfg", {}), setup=cell_setup, task=task,
            labels=labels, cv=cv, max_folds=max_folds, seed=seed, device=device,
            checkpoint_dir=cell_dir, cache_dir=cache_dir, init_state=init_state, progress=False,
            tag=cell["model"],
        )
        results[(cell["row"], cell["column"])] = res
        was_reused = bool(res.folds["resumed"].all())
        reused += was_reused
        timing = {c: float(res.folds[c].mean()) for c in ("train_s", "test_s") if c in res.folds}
        for m, (mean, std) in res.summary().items():
            rows.append({"row": cell["row"], "column": cell["column"], "metric": METRIC_LABELS[m],
                         "value": mean, "std": std, "n": len(res.folds), **timing, "reused": was_reused})
    if progress and reused:
        print(f"{reused} of {len(grid)} configurations read from the experiment store {checkpoint_dir} "
              "(trained earlier with identical settings, data and seed)")
    return pd.DataFrame(rows), results


def cell_store_name(
    model: str,
    cfg: dict[str, Any],
    setup: ClipSetup,
    *,
    task: str,
    cv: str,
    seed: int,
    device: torch.device | str,
    data_key: str,
    init_state: dict[str, torch.Tensor] | None = None,
) -> str:
    """Folder name of a configuration in the experiment store: ``<model>-<key>``. Builder
    arguments left at their defaults count as given, so ``{"depth": 26}`` and
    ``{"depth": 26, "spatial_size": 3}`` name the same SCN."""
    import inspect

    from .models import model_args

    defaults = {k: v for k, v in model_args(model).items() if v is not inspect.Parameter.empty}
    key = experiment_key(kind="clip_cv", model=model, cfg={**defaults, **cfg}, setup=setup, task=task, cv=cv, seed=seed,
                         device=torch.device(device).type, data=data_key,
                         init=None if init_state is None else fingerprint(init_state))
    return f"{model}-{key[:16]}"


def stored_fold_model(result: CVResult, fold: int = 0) -> nn.Module:
    """The trained network of one fold of a :func:`clip_cv` result (read from its checkpoint)."""
    from .train import load_checkpoint

    name = result.folds["fold"].iloc[fold]
    net, _ = load_checkpoint(Path(result.checkpoint_dir) / f"{name}.pt")
    return net.eval()

"""One training loop with pluggable step and loss, prediction, checkpoints, and the
cross-validation runner with per-fold checkpoints and resume.

Typical use (SCN paper Sec. 4.3: SGD, momentum 0.9, weight decay 1e-4, lr 0.01 divided by 10
every 10 epochs, batch 64, MSE); epochs, batch size, workers and amp come from the profile
unless given::

    model = get_model("scn", depth=101, base_width=run.profile.base_width)
    opt = make_sgd(model, lr=run.profile.lr)
    history = fit(model, make_loader(train_ds, shuffle=True, seed=run.seed, profile=run.profile),
                  loss_fn=nn.MSELoss(), optimizer=opt, scheduler=make_step_lr(opt),
                  profile=run.profile, device=run.device)
    y_pred, y_true = predict(model, make_loader(test_ds, profile=run.profile), run.device,
                             return_targets=True)

``fit`` can stop early: with a validation loader (or function) and ``patience``, it keeps the
weights of the best validation epoch and stops after ``patience`` epochs without improvement.
Cross-validation, stores and folds live in :mod:`pain_lib.experiments`.

The loop knows nothing about a particular model: a *step function*
``step_fn(model, batch, loss_fn, device) -> (loss, batch_size)`` turns a batch into a loss
(:func:`default_step` handles ``(x, y, ...)`` tuples and dicts; :func:`make_step` picks other
keys; :func:`pain_lib.models.transfer_step` does the 2D/3D pair task).

Mixed precision: with ``amp=True`` the forward pass runs under
``torch.autocast(dtype=torch.bfloat16)`` (no gradient scaler needed) where the device computes
bf16 in hardware -- CUDA, or a CPU with AMX tiles (oneDNN's bf16 convolutions; 1.5-2x faster
3D-CNN steps than fp32 on 2 cores of such a CPU) -- and is ignored elsewhere, so the same call
runs anywhere (:func:`bf16_native` says which applies).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

from pain_lib.config import Profile, resolve_device
from pain_lib.io import atomic_write

__all__ = [
    "fit",
    "evaluate_loss",
    "predict",
    "precise_bn",
    "set_epoch",
    "default_step",
    "make_step",
    "make_sgd",
    "make_step_lr",
    "make_loader",
    "seed_worker",
    "autocast",
    "bf16_native",
    "save_checkpoint",
    "load_checkpoint",
    "train_settings",
    "plain",
    "CHECKPOINT_FORMAT",
]

CHECKPOINT_FORMAT = "pain_lib.checkpoint/1"
StepFn = Callable[[nn.Module, Any, Callable[..., torch.Tensor], torch.device], tuple[torch.Tensor, int]]


# --------------------------------------------------------------------------- small helpers
def _device(device: str | torch.device) -> torch.device:
    return device if isinstance(device, torch.device) else resolve_device(device)


def bf16_native(device: torch.device | str) -> bool:
    """Whether ``amp`` runs bf16 on ``device``: CUDA only. Every CPU trains in fp32, so a CPU
    profile gives the same numbers on every CPU: a CPU with AMX tiles (Intel Sapphire Rapids and
    later) computes bf16 in hardware and would run about 1.4-1.9x faster, but the committed
    ``standard`` tables moved by up to 24 AUC points (mean 9.8) between such a CPU (bf16) and one
    without AMX (fp32) from the same commit and lock (:func:`cpu_bf16_native` says whether this
    CPU could; ``bench/training.py`` measures it)."""
    return torch.device(device).type == "cuda"


def cpu_bf16_native() -> bool:
    """Whether this machine's CPU computes bf16 in hardware (AMX tiles)."""
    return _cpu_has_amx()


@functools.cache
def _cpu_has_amx() -> bool:
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)  # torch >= 2.3
    return bool(probe is not None and probe())


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast when ``enabled`` and the device computes bf16 natively
    (:func:`bf16_native`); a no-op context elsewhere."""
    if enabled and bf16_native(device):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def _pick(batch: Any, key: int | str | Sequence[str]) -> Any:
    if isinstance(batch, Mapping):
        keys = [key] if isinstance(key, (str, int)) else list(key)
        for k in keys:
            if k in batch:
                return batch[k]
        raise KeyError(f"batch has none of the keys {keys}; its keys: {sorted(map(str, batch))}")
    if isinstance(batch, (tuple, list)):
        if not isinstance(key, int):
            raise TypeError(f"batch is a {type(batch).__name__}; select with an int index, not {key!r}")
        return batch[key]
    if key in (0, "x"):
        return batch
    raise TypeError(f"cannot select {key!r} from a batch of type {type(batch).__name__}")


def _to(x: Any, device: torch.device) -> Any:
    return x.to(device, non_blocking=True) if isinstance(x, torch.Tensor) else torch.as_tensor(x).to(device)


def make_step(
    *,
    input_key: int | str | Sequence[str] = 0,
    target_key: int | str | Sequence[str] = 1,
    forward: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
) -> StepFn:
    """A step function: ``out = model(batch[input_key])``, ``loss = loss_fn(out, batch[target_key])``.

    Keys index tuples (ints) or dicts (str, or a list of candidate keys). Outputs are cast to
    float32 before the loss (autocast safety); floating targets to float32, others kept (class
    indices). ``forward(model, x)`` replaces ``model(x)`` when given.
    """

    def step(model: nn.Module, batch: Any, loss_fn: Callable[..., torch.Tensor], device: torch.device):
        x = _to(_pick(batch, input_key), device)
        y = _to(_pick(batch, target_key), device)
        out = forward(model, x) if forward is not None else model(x)
        if y.is_floating_point():
            y = y.float()
        return loss_fn(out.float(), y), int(x.shape[0])

    return step


_tuple_step = make_step(input_key=0, target_key=1)
_dict_step = make_step(input_key=("clip", "x", "input"), target_key=("y", "target", "label"))


def default_step(model: nn.Module, batch: Any, loss_fn: Callable[..., torch.Tensor], device: torch.device):
    """``loss_fn(model(x), y)`` for ``(x, y, ...)`` tuples, or dicts with ``clip``/``x``/``input``
    and ``y``/``target``/``label`` keys. Returns ``(loss, batch_size)``."""
    step = _dict_step if isinstance(batch, Mapping) else _tuple_step
    return step(model, batch, loss_fn, device)


def make_sgd(
    model: nn.Module | Iterable[nn.Parameter], lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 1e-4
) -> torch.optim.SGD:
    """SGD over the parameters that require gradients (paper: lr 0.01, momentum 0.9, wd 1e-4)."""
    params = model.parameters() if isinstance(model, nn.Module) else model
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("no trainable parameters (all have requires_grad=False)")
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def make_step_lr(optimizer: torch.optim.Optimizer, step_size: int = 10, gamma: float = 0.1):
    """Learning rate divided by ``1/gamma`` every ``step_size`` epochs (paper: /10 every 10)."""
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` seeding NumPy and ``random`` from the worker's torch seed."""
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


def make_loader(
    dataset: Dataset,
    *,
    batch_size: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    num_workers: int | None = None,
    drop_last: bool = False,
    profile: Profile | None = None,
    **kwargs: Any,
) -> DataLoader:
    """A deterministic ``DataLoader``: a ``torch.Generator`` seeded with ``seed`` drives shuffling
    (and worker seeds), :func:`seed_worker` seeds NumPy/``random`` in each worker.

    ``batch_size`` and ``num_workers`` default to ``profile``'s (else: batch_size is required,
    0 workers). Extra keyword arguments go to ``DataLoader`` (e.g. ``sampler``, ``collate_fn``).
    """
    if batch_size is None:
        if profile is None:
            raise TypeError("make_loader() needs batch_size=... or profile=...")
        batch_size = profile.batch_size
    if num_workers is None:
        num_workers = profile.num_workers if profile is not None else 0
    g = torch.Generator()
    g.manual_seed(int(seed))
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        drop_last=drop_last,
        generator=g,
        worker_init_fn=seed_worker,
        **kwargs,
    )


def train_settings(profile: Profile) -> dict[str, Any]:
    """The training knobs a :class:`~pain_lib.config.Profile` fixes: ``epochs, batch_size, lr, amp,
    num_workers`` (pass to :func:`fit` / :func:`make_loader` / :func:`make_sgd`)."""
    return {
        "epochs": profile.epochs,
        "batch_size": profile.batch_size,
        "lr": profile.lr,
        "amp": profile.amp,
        "num_workers": profile.num_workers,
    }


def _tqdm(it: Iterable, **kw: Any):
    from tqdm.auto import tqdm

    return tqdm(it, **kw)


# --------------------------------------------------------------------------- checkpoints
def plain(obj: Any) -> Any:
    """Make ``obj`` safe for ``torch.load(weights_only=True)`` and JSON: NumPy scalars to Python,
    dataclasses (Profiles) to dicts, anything else (Paths, devices, ...) to its string."""
    if isinstance(obj, Profile):
        return plain(obj.as_dict())
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(plain(v) for v in obj)
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return plain(dataclasses.asdict(obj))
    if obj is None or isinstance(obj, (str, int, float, bool, torch.Tensor)):
        return obj
    return str(obj)  # Paths, devices, dtypes, anything else: its text


def _atomic_torch_save(obj: Any, path: Path) -> None:
    atomic_write(path, lambda fh: torch.save(obj, fh))


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    *,
    config: Mapping[str, Any] | Profile | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    **extra: Any,
) -> Path:
    """Save model weights **with** the model's name and builder arguments (``model.model_spec``,
    set by :func:`pain_lib.models.get_model`) and a run ``config``, so that
    :func:`load_checkpoint` alone rebuilds the model (nanoGPT style). Atomic (temp + rename).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = getattr(model, "model_spec", None)
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "model_name": spec["name"] if spec else None,
        "model_cfg": plain(spec["cfg"]) if spec else None,
        "state_dict": model.state_dict(),
        "config": plain(config) if config is not None else {},
        "torch_version": str(torch.__version__),
    }
    if optimizer is not None:
        payload["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        payload["scheduler"] = scheduler.state_dict()
    payload.update(plain(extra))
    _atomic_torch_save(payload, path)
    return path


def load_checkpoint(
    path: str | os.PathLike, *, model: nn.Module | None = None, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model from a checkpoint of :func:`save_checkpoint` and load its weights.

    With ``model`` given, weights are loaded into it instead (for models not built by
    ``get_model``). Returns ``(model, payload)``; ``payload["config"]`` is the run config.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    payload = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a pain_lib checkpoint (format {CHECKPOINT_FORMAT!r})")
    if model is None:
        if payload.get("model_name") is None:
            raise ValueError(
                f"{path} stores no model name/arguments (the model was not built by get_model); "
                "pass model=... to load the weights into an instance"
            )
        from pain_lib.models import get_model

        model = get_model(payload["model_name"], **payload["model_cfg"])
    model.load_state_dict(payload["state_dict"])
    return model, payload


# --------------------------------------------------------------------------- training loop
def evaluate_loss(
    model: nn.Module,
    loader: Iterable,
    *,
    loss_fn: Callable[..., torch.Tensor],
    device: str | torch.device = "auto",
    step_fn: StepFn = default_step,
    amp: bool = False,
) -> float:
    """Mean loss of ``model`` over ``loader`` (eval mode, no gradients), weighted by batch size."""
    device = _device(device)
    model.to(device).eval()
    total, n = 0.0, 0
    with torch.no_grad(), autocast(device, amp):
        for batch in loader:
            loss, bs = step_fn(model, batch, loss_fn, device)
            total += float(loss) * bs
            n += bs
    return total / max(n, 1)


def set_epoch(loader: Any, epoch: int) -> None:
    """Tell whatever draws the batches of ``loader`` which epoch it is: the loader itself (e.g.
    :class:`~pain_lib.data.bank.ClipBatches`), its ``sampler``, ``batch_sampler`` and ``dataset``
    (e.g. :class:`~pain_lib.data.bank.ClipBatches`, whose random clips change per epoch)."""
    seen = set()
    for obj in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None),
                getattr(loader, "dataset", None)):
        if obj is not None and id(obj) not in seen and callable(getattr(obj, "set_epoch", None)):
            seen.add(id(obj))
            obj.set_epoch(epoch)


def _state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def fit(
    model: nn.Module,
    train_loader: Iterable,
    *,
    loss_fn: Callable[..., torch.Tensor],
    optimizer: torch.optim.Optimizer,
    epochs: int | None = None,
    scheduler: Any = None,
    device: str | torch.device = "auto",
    amp: bool | None = None,
    profile: Profile | None = None,
    step_fn: StepFn = default_step,
    val_loader: Iterable | None = None,
    val_fn: Callable[[nn.Module], float] | None = None,
    patience: int = 0,
    progress: bool = True,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = True,
    config: Mapping[str, Any] | Profile | None = None,
    grad_clip: float | None = None,
    max_steps_per_epoch: int | None = None,
) -> pd.DataFrame:
    """Train ``model`` for up to ``epochs`` epochs; return the history, one row per epoch
    (``epoch, train_loss, [val_loss], lr, seconds``).

    Args:
        model: any ``nn.Module``; moved to ``device``.
        train_loader: iterable of batches (e.g. from :func:`make_loader`, or a
            :class:`~pain_lib.data.bank.ClipBatches`). Before every epoch :func:`set_epoch` tells
            the loader, its sampler and its dataset the epoch, so random clips change per epoch.
        loss_fn: e.g. ``nn.MSELoss()`` (paper, PSPI regression) or ``nn.CrossEntropyLoss()``.
        optimizer: e.g. :func:`make_sgd`; ``scheduler`` (optional) is stepped once per epoch.
        epochs: total epochs (with a resumed checkpoint, training continues up to this number);
            default ``profile.epochs``.
        device: ``auto`` / ``cpu`` / ``cuda`` / ``torch.device``.
        amp: bf16 autocast where the device computes bf16 natively (:func:`bf16_native`); default ``profile.amp``, else off.
        profile: a :class:`~pain_lib.config.Profile` supplying ``epochs`` and ``amp`` when they
            are not given (explicit arguments win).
        step_fn: batch -> ``(loss, batch_size)`` (see the module docstring).
        val_loader: optional; its mean loss (eval mode) is recorded each epoch as ``val_loss``.
        val_fn: optional ``val_fn(model) -> float`` (lower is better) instead of ``val_loader``.
        patience: with a validation loss, stop after ``patience`` epochs without a new best and
            restore the best epoch's weights (0: train every epoch, keep the last weights).
        progress: tqdm bars (epochs, and steps within an epoch).
        checkpoint: path; saved after every epoch (weights, optimizer, scheduler, history, the
            early-stopping state, model spec, ``config``). With ``resume`` an existing one is
            continued.
        grad_clip: clip the gradient norm to this value.
        max_steps_per_epoch: stop each epoch after this many steps (smoke tests).

    The history records ``best`` (the epoch whose weights the model ends with). A non-finite
    loss raises ``FloatingPointError`` naming the epoch (and, on the CPU, the step).
    """
    if epochs is None:
        if profile is None:
            raise TypeError("fit() needs epochs=... or profile=... (whose epochs are used)")
        epochs = profile.epochs
    if amp is None:
        amp = profile.amp if profile is not None else False
    if val_loader is not None and val_fn is None:
        def val_fn(m: nn.Module) -> float:
            return evaluate_loss(m, val_loader, loss_fn=loss_fn, device=device, step_fn=step_fn, amp=amp)
    device = _device(device)
    model.to(device)
    history: list[dict[str, Any]] = []
    start, best_loss, best_epoch, best_state = 0, float("inf"), 0, None
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if ckpt is not None and resume and ckpt.is_file():
        _, payload = load_checkpoint(ckpt, model=model, map_location=device)
        if "optimizer" in payload:
            optimizer.load_state_dict(payload["optimizer"])
        if scheduler is not None and "scheduler" in payload:
            scheduler.load_state_dict(payload["scheduler"])
        start = int(payload.get("epoch", 0))
        history = list(payload.get("history", []))
        best_loss = float(payload.get("best_loss", best_loss))
        best_epoch = int(payload.get("best_epoch", 0))
        best_state = payload.get("best_state")
    check_each_step = device.type == "cpu"  # on a GPU a per-step check would synchronise every step
    epoch_bar = _tqdm(range(start, epochs), desc="epochs", disable=not progress, leave=False)
    for epoch in epoch_bar:
        if patience and best_epoch and epoch - best_epoch >= patience:
            break
        set_epoch(train_loader, epoch)
        model.train()
        t0, steps = time.perf_counter(), 0
        total = torch.zeros((), device=device)
        n = 0
        for batch in _tqdm(train_loader, desc=f"epoch {epoch + 1}", disable=not progress, leave=False):
            with autocast(device, amp):
                loss, bs = step_fn(model, batch, loss_fn, device)
            if check_each_step and not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite loss {float(loss.detach())} at epoch {epoch + 1}, step {steps + 1}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            total += loss.detach() * bs
            n += bs
            steps += 1
            if max_steps_per_epoch is not None and steps >= max_steps_per_epoch:
                break
        if n == 0:
            raise ValueError("train_loader yielded no batches (empty dataset, or drop_last with too few samples)")
        train_loss = float(total) / n
        if not np.isfinite(train_loss):
            raise FloatingPointError(f"non-finite loss {train_loss} at epoch {epoch + 1}")
        row: dict[str, Any] = {"epoch": epoch + 1, "train_loss": train_loss, "lr": optimizer.param_groups[0]["lr"]}
        if scheduler is not None:
            scheduler.step()
        if val_fn is not None:
            row["val_loss"] = float(val_fn(model))
            model.train()
            if row["val_loss"] < best_loss:
                best_loss, best_epoch = row["val_loss"], epoch + 1
                if patience:
                    best_state = _state_copy(model)
        row["seconds"] = time.perf_counter() - t0
        history.append(row)
        epoch_bar.set_postfix(loss=f"{row['train_loss']:.4g}")
        if ckpt is not None:
            save_checkpoint(ckpt, model, config=config, optimizer=optimizer, scheduler=scheduler,
                            epoch=epoch + 1, history=history, best_loss=best_loss, best_epoch=best_epoch,
                            best_state=best_state)
    final = len(history)
    if patience and best_state is not None:
        model.load_state_dict(best_state)
        final = best_epoch
    df = pd.DataFrame(history, columns=None if history else ["epoch", "train_loss", "lr", "seconds"])
    df.attrs["best_epoch"] = final
    return df


def precise_bn(
    model: nn.Module,
    loader: Iterable,
    device: str | torch.device = "auto",
    *,
    input_key: int | str | Sequence[str] = 0,
    max_batches: int | None = None,
) -> int:
    """Recompute every BatchNorm's running mean and variance as the plain average over
    ``loader``'s batches with the final weights ("precise BN", Wu & Johnson 2021).

    After a short training run the exponential running averages still mix statistics of
    earlier weights, and an eval-mode network is then biased (here: +2 PSPI after 3 CPU
    epochs). One forward pass without gradients fixes that. Returns the batches used.
    """
    device = _device(device)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not bns:
        return 0
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average: the mean over the batches seen
    was_training = model.training
    model.to(device).train()
    n = 0
    with torch.no_grad():
        for batch in loader:
            if max_batches is not None and n >= max_batches:
                break
            model(_to(_pick(batch, input_key), device))
            n += 1
    for bn, m in zip(bns, momenta):
        bn.momentum = m
    model.train(was_training)
    return n


def predict(
    model: nn.Module,
    loader: Iterable,
    device: str | torch.device = "auto",
    *,
    amp: bool = False,
    input_key: int | str | Sequence[str] = 0,
    target_key: int | str | Sequence[str] = 1,
    return_targets: bool = False,
    forward: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Run ``model`` in eval mode over ``loader``; concatenate the outputs (float32 NumPy).

    Batches are ``(x, y, ...)`` tuples or dicts (keys as in :func:`make_step`). With
    ``return_targets`` returns ``(predictions, targets)``.
    """
    device = _device(device)
    model.to(device).eval()
    outs, targets = [], []
    if isinstance(input_key, int) and input_key == 0:
        input_key_d: Any = ("clip", "x", "input")
    else:
        input_key_d = input_key
    if isinstance(target_key, int) and target_key == 1:
        target_key_d: Any = ("y", "target", "label")
    else:
        target_key_d = target_key
    with torch.no_grad(), autocast(device, amp):
        for batch in loader:
            is_map = isinstance(batch, Mapping)
            x = _to(_pick(batch, input_key_d if is_map else input_key), device)
            out = forward(model, x) if forward is not None else model(x)
            outs.append(out.float().cpu().numpy())
            if return_targets:
                t = _pick(batch, target_key_d if is_map else target_key)
                targets.append(t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t))
    if not outs:
        raise ValueError("loader yielded no batches")
    pred = np.concatenate(outs)
    return (pred, np.concatenate(targets)) if return_targets else pred

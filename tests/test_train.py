"""The general training loop, prediction, checkpoints, per-epoch draws, early stopping, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.utils.data import Dataset, TensorDataset

import pain_lib.train as train_mod
from pain_lib.config import get_profile
from pain_lib.models import get_model
from pain_lib.train import (
    default_step,
    fit,
    load_checkpoint,
    make_loader,
    make_sgd,
    make_step,
    make_step_lr,
    predict,
    save_checkpoint,
    train_settings,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _linear_problem(n=128, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(d, generator=g)
    return TensorDataset(x, x @ w + 0.5)


class LinearReg(nn.Module):
    def __init__(self, d=6):
        super().__init__()
        self.fc = nn.Linear(d, 1)

    def forward(self, x):
        return self.fc(x).squeeze(-1)


def _clips(n=12, t=4, s=16, seed=0):
    """Tiny learnable clip regression: target = mean brightness of the clip."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, t, s, s, generator=g)
    return TensorDataset(x, x.mean(dim=(1, 2, 3, 4)) * 10)


def test_loss_decreases_on_a_learnable_problem():
    torch.manual_seed(0)
    model = LinearReg()
    opt = make_sgd(model, lr=0.05, weight_decay=0.0)
    hist = fit(model, make_loader(_linear_problem(), batch_size=16, shuffle=True, seed=0), loss_fn=nn.MSELoss(),
               optimizer=opt, epochs=4, device="cpu", progress=False)
    assert list(hist.columns[:3]) == ["epoch", "train_loss", "lr"]
    assert hist.train_loss.is_monotonic_decreasing and hist.train_loss.iloc[-1] < 0.25 * hist.train_loss.iloc[0]


def test_fit_trains_a_video_model_and_scheduler_steps():
    torch.manual_seed(0)
    model = get_model("r3d", base_width=4, depth=10)
    opt = make_sgd(model, lr=0.01)
    sched = make_step_lr(opt, step_size=1, gamma=0.1)
    ds = _clips()
    hist = fit(model, make_loader(ds, batch_size=4, shuffle=True), loss_fn=nn.MSELoss(), optimizer=opt,
               scheduler=sched, epochs=2, device="cpu", amp=True, val_loader=make_loader(ds, batch_size=6),
               progress=False)
    assert np.allclose(hist.lr, [0.01, 0.001]) and "val_loss" in hist and np.isfinite(hist.val_loss).all()
    pred, target = predict(model, make_loader(ds, batch_size=5), device="cpu", return_targets=True)
    assert pred.shape == (12,) and target.shape == (12,) and pred.dtype == np.float32


def test_autocast_runs_bf16_on_cuda_only_so_every_cpu_gets_the_same_numbers(monkeypatch):
    conv, x = nn.Conv3d(2, 3, 3), torch.randn(1, 2, 4, 5, 5)
    for amx in (False, True):  # a CPU with AMX could compute bf16, and still trains in fp32
        monkeypatch.setattr(train_mod, "_cpu_has_amx", lambda amx=amx: amx)
        assert train_mod.cpu_bf16_native() is amx and not train_mod.bf16_native("cpu")
        for enabled in (True, False):
            with train_mod.autocast(torch.device("cpu"), enabled):
                assert conv(x).dtype == torch.float32
    assert train_mod.bf16_native("cuda") and not train_mod.bf16_native("meta")


def test_paper_optimizer_settings():
    model = LinearReg()
    opt = make_sgd(model)
    g = opt.param_groups[0]
    assert (g["lr"], g["momentum"], g["weight_decay"]) == (0.01, 0.9, 1e-4)
    sched = make_step_lr(opt)
    assert (sched.step_size, sched.gamma) == (10, 0.1)
    s = train_settings(get_profile("paper"))
    assert (s["batch_size"], s["lr"], s["amp"]) == (64, 0.01, True)


def test_profile_supplies_defaults():
    tiny = get_profile("tiny").replace(epochs=2)
    loader = make_loader(_linear_problem(16), profile=tiny)
    assert loader.batch_size == tiny.batch_size and loader.num_workers == tiny.num_workers
    model = LinearReg()
    hist = fit(model, loader, loss_fn=nn.MSELoss(), optimizer=make_sgd(model), profile=tiny, device="cpu",
               progress=False)
    assert len(hist) == 2
    with pytest.raises(TypeError, match="epochs"):
        fit(model, loader, loss_fn=nn.MSELoss(), optimizer=make_sgd(model), device="cpu")
    with pytest.raises(TypeError, match="batch_size"):
        make_loader(_linear_problem(16))


class DictClips(Dataset):
    def __init__(self, base):
        self.base = base

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        x, y = self.base[i]
        return {"clip": x, "pspi": y, "subject": "s1"}


def test_dict_batches_and_custom_keys():
    torch.manual_seed(0)
    model = LinearReg()
    ds = DictClips(_linear_problem(32))
    step = make_step(input_key="clip", target_key="pspi")
    hist = fit(model, make_loader(ds, batch_size=8), loss_fn=nn.MSELoss(), optimizer=make_sgd(model), epochs=1,
               step_fn=step, device="cpu", progress=False)
    assert len(hist) == 1
    with pytest.raises(KeyError, match="none of the keys"):
        fit(model, make_loader(ds, batch_size=8), loss_fn=nn.MSELoss(), optimizer=make_sgd(model), epochs=1,
            step_fn=default_step, device="cpu", progress=False)  # default expects y/target/label
    assert predict(model, make_loader(ds, batch_size=8), device="cpu").shape == (32,)


def test_non_finite_loss_is_reported():
    model = LinearReg()
    x = torch.randn(8, 6)
    ds = TensorDataset(x, torch.full((8,), float("nan")))
    with pytest.raises(FloatingPointError, match="epoch 1, step 1"):
        fit(model, make_loader(ds, batch_size=4), loss_fn=nn.MSELoss(), optimizer=make_sgd(model), epochs=1,
            device="cpu", progress=False)


def _run(seed, num_workers=0):
    torch.manual_seed(seed)
    model = get_model("scn", layers=(1, 1, 1, 1), base_width=4)
    ds = _clips(seed=1)
    hist = fit(model, make_loader(ds, batch_size=4, shuffle=True, seed=seed, num_workers=num_workers),
               loss_fn=nn.MSELoss(), optimizer=make_sgd(model), epochs=2, device="cpu", progress=False)
    return hist.train_loss.to_numpy(), predict(model, make_loader(ds, batch_size=6), device="cpu")


def test_same_seed_same_outputs():
    l1, p1 = _run(0)
    l2, p2 = _run(0)
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_array_equal(p1, p2)
    l3, _ = _run(1)
    assert not np.array_equal(l1, l3)


class NoisyDataset(Dataset):
    """Draws NumPy randomness inside workers: determinism needs seed_worker."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return torch.tensor([float(i), float(np.random.rand())])


def test_loader_determinism_with_workers():
    def batches(seed):
        return torch.cat(list(make_loader(NoisyDataset(), batch_size=2, shuffle=True, seed=seed, num_workers=2)))

    a, b = batches(5), batches(5)
    assert torch.equal(a, b)
    assert not torch.equal(a, batches(6))


def test_checkpoint_alone_rebuilds_the_model(tmp_path):
    model = get_model("scn", depth=26, base_width=4, temporal_depths=(3, 5), head="frame").eval()
    path = save_checkpoint(tmp_path / "m.pt", model, config=get_profile("tiny"), note="x")
    rebuilt, payload = load_checkpoint(path)
    rebuilt.eval()
    x = torch.randn(1, 3, 8, 16, 16)
    assert torch.equal(model(x), rebuilt(x))
    assert payload["config"]["name"] == "tiny" and payload["model_cfg"]["temporal_depths"] == (3, 5)
    saved = LinearReg()
    with torch.no_grad():
        for p in saved.parameters():
            p.fill_(0.75)
    with pytest.raises(ValueError, match="not built by get_model"):
        load_checkpoint(save_checkpoint(tmp_path / "lin.pt", saved, note="lin"))
    # a model not built by get_model is given: it is the one loaded, with the saved weights
    fresh = LinearReg()
    rebuilt_lin, lin_payload = load_checkpoint(tmp_path / "lin.pt", model=fresh)
    assert rebuilt_lin is fresh and lin_payload["note"] == "lin"
    for (name, a), (_, b) in zip(saved.state_dict().items(), rebuilt_lin.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_fit_resumes_from_its_epoch_checkpoint(tmp_path):
    ds = _linear_problem(32)
    torch.manual_seed(0)
    model = LinearReg()
    opt = make_sgd(model, lr=0.05)
    ck = tmp_path / "fit.pt"
    fit(model, make_loader(ds, batch_size=8), loss_fn=nn.MSELoss(), optimizer=opt, epochs=2, device="cpu",
        progress=False, checkpoint=ck)
    fresh = LinearReg()
    hist = fit(fresh, make_loader(ds, batch_size=8), loss_fn=nn.MSELoss(), optimizer=make_sgd(fresh, lr=0.05),
               epochs=3, device="cpu", progress=False, checkpoint=ck)
    assert list(hist.epoch) == [1, 2, 3]
    assert hist.train_loss.iloc[2] < hist.train_loss.iloc[0]


# ---------------------------------------------------------------- epochs and early stopping
class EpochClips(Dataset):
    """Records which random draw each epoch used, the way ClipDataset does (set_epoch)."""

    def __init__(self):
        self.epoch, self.seen = 0, []

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return 8

    def __getitem__(self, i):
        rng = np.random.default_rng([0, self.epoch, i])
        self.seen.append((self.epoch, float(rng.random())))
        return torch.randn(6), torch.tensor(0.0)


def test_every_epoch_tells_a_shuffled_loader_dataset_its_epoch():
    """The per-epoch clip bug: with shuffle=True the loader's sampler (a RandomSampler) has no
    set_epoch, so the dataset must be told -- else every epoch draws the same clips."""
    ds = EpochClips()
    model = LinearReg()
    fit(model, make_loader(ds, batch_size=4, shuffle=True, seed=0), loss_fn=nn.MSELoss(), optimizer=make_sgd(model),
        epochs=3, device="cpu", progress=False)
    assert sorted({e for e, _ in ds.seen}) == [0, 1, 2]


def test_early_stopping_restores_the_best_epoch(tmp_path):
    ds = _linear_problem(64)
    val = _linear_problem(32, seed=1)
    torch.manual_seed(0)
    model = LinearReg()
    losses = iter([3.0, 1.0, 2.0, 2.5, 2.6, 2.7, 2.8])
    states = []

    def val_fn(m):
        states.append({k: v.clone() for k, v in m.state_dict().items()})
        return next(losses)

    hist = fit(model, make_loader(ds, batch_size=8), loss_fn=nn.MSELoss(), optimizer=make_sgd(model, lr=0.05),
               epochs=7, device="cpu", progress=False, val_fn=val_fn, patience=2)
    assert list(hist["epoch"]) == [1, 2, 3, 4]  # stopped 2 epochs after the best (epoch 2)
    assert hist.attrs["best_epoch"] == 2
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, states[1][k])
    assert "val_loss" in hist
    # a validation loader works the same way (its mean loss is the criterion)
    other = LinearReg()
    hist = fit(other, make_loader(ds, batch_size=8), loss_fn=nn.MSELoss(), optimizer=make_sgd(other),
               epochs=2, device="cpu", progress=False, val_loader=make_loader(val, batch_size=8), patience=5)
    assert hist["val_loss"].notna().all()


def test_precise_bn_replaces_running_stats_with_the_average_over_batches():
    from pain_lib.train import precise_bn

    torch.manual_seed(0)
    bn = nn.BatchNorm1d(3, momentum=0.1)
    model = nn.Sequential(bn)
    batches = [(torch.randn(8, 3) * (i + 1) + i, torch.zeros(8)) for i in range(4)]
    bn.running_mean.fill_(100.0)  # stale statistics
    model.eval()
    assert precise_bn(model, batches, "cpu") == 4
    expect_mean = torch.stack([x.mean(0) for x, _ in batches]).mean(0)
    expect_var = torch.stack([x.var(0, unbiased=True) for x, _ in batches]).mean(0)
    torch.testing.assert_close(bn.running_mean, expect_mean)
    torch.testing.assert_close(bn.running_var, expect_var)
    assert bn.momentum == 0.1 and not model.training  # restored
    assert precise_bn(nn.Linear(3, 1), batches, "cpu") == 0  # nothing to do without BatchNorm

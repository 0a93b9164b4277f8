"""The experiment engine: recipes through the shared cross-validation runner, the
content-addressed store (resume, damaged entries, concurrent runs), per-epoch clip draws and
noise bands -- on the tiny synthetic sets, with one toy recipe of each shape the papers need."""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from pain_lib.config import get_profile
from pain_lib.data import open_dataset
from pain_lib.data.bank import ClipBatches, FrameBank
from pain_lib.experiments import (
    Cell,
    ClipRecipe,
    ClipSetup,
    DamagedEntryWarning,
    Fitted,
    Recipe,
    Store,
    compare,
    continuous_trace,
    cross_validate,
    experiment_key,
    fingerprint,
    run_grid,
)
from pain_lib.train import fit, make_sgd
from tests import toy_recipes as toy
from tests._synth_data import tiny_root

pytestmark = pytest.mark.usefixtures("one_thread")
CV = "group-kfold:2"
SMALL = {"depth": 26, "base_width": 4}


@pytest.fixture(scope="module")
def unbc(tmp_path_factory):
    return open_dataset("synth-unbc", tiny_root(tmp_path_factory, "synth-unbc")).samples


@pytest.fixture(scope="module")
def biovid(tmp_path_factory):
    return open_dataset("synth-biovid", tiny_root(tmp_path_factory, "synth-biovid")).samples


@pytest.fixture(scope="module")
def setup():
    return ClipSetup.from_profile(get_profile("tiny"), clips_per_sample=1)


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    return tmp_path_factory.mktemp("crops")


def _cv(recipe, samples, y=None, *, store, crops, cv=CV, **kw):
    return cross_validate(recipe, samples, y, cv=cv, store=store, cache_dir=crops, progress=False, **kw)


# ---------------------------------------------------------------- keys
def test_fingerprint_follows_content_not_identity(unbc):
    a = torch.arange(24.0).reshape(1, 2, 2, 2, 3)
    assert fingerprint(a) == fingerprint(a.clone())
    assert fingerprint(a) == fingerprint(a.contiguous(memory_format=torch.channels_last_3d))
    assert fingerprint(a) != fingerprint(a + 1) != fingerprint(a.double())
    assert fingerprint({"x": 1, "y": (3, 5)}) == fingerprint({"y": [3, 5], "x": 1})
    assert fingerprint(unbc) == fingerprint(list(unbc)) != fingerprint(unbc[1:])
    assert experiment_key(model="scn", seed=0) != experiment_key(model="scn", seed=1)


def test_one_fingerprint_rule_for_samples_sees_every_media_file(tmp_path, unbc):
    import shutil

    from pain_lib.data import Sample

    s = unbc[0]
    frames = [Path(shutil.copy(f, tmp_path / f.name)) for f in s.frames]
    a = Sample(s.subject, s.sample_id, frames, None, s.fps, dict(s.labels))
    before = fingerprint(a)
    mid = frames[len(frames) // 2]
    mid.write_bytes(mid.read_bytes() + b"\0")  # a middle frame changes: so does the sample
    b = Sample(s.subject, s.sample_id, frames, None, s.fps, dict(s.labels))
    assert fingerprint(b) != before



def test_memoized_fingerprints_each_sample_once_with_the_same_digest(tmp_path, unbc, monkeypatch):
    import shutil

    from pain_lib.data import Sample
    from pain_lib.fingerprint import memoized

    s = unbc[0]
    frames = [Path(shutil.copy(f, tmp_path / f.name)) for f in s.frames]
    a = Sample(s.subject, s.sample_id, frames, None, s.fps, dict(s.labels))
    plain = fingerprint([a, {"x": 1}])
    calls = []
    original = Sample.__fingerprint__
    monkeypatch.setattr(Sample, "__fingerprint__", lambda self: calls.append(1) or original(self))
    with memoized():
        assert fingerprint([a, {"x": 1}]) == plain
        with memoized():  # nested: the outer memo
            assert fingerprint(a) == fingerprint(a)
        frames[0].write_bytes(frames[0].read_bytes() + b"\0")  # inside: treated as fixed
        assert fingerprint([a, {"x": 1}]) == plain
    assert len(calls) == 1
    assert fingerprint([a, {"x": 1}]) != plain  # outside: the edit is seen again

def test_builder_defaults_count_as_given(setup):
    plain = ClipRecipe("scn", {"depth": 26}, setup).identity()
    explicit = ClipRecipe("scn", {"depth": 26, "spatial_size": 3}, setup).identity()
    other = ClipRecipe("scn", {"depth": 26, "spatial_size": 5}, setup).identity()
    assert fingerprint(plain) == fingerprint(explicit) != fingerprint(other)
    assert fingerprint(ClipRecipe("scn", {"depth": 26}, setup.replace(stride=2)).identity()) != fingerprint(plain)


# ---------------------------------------------------------------- the clip recipe
def test_clip_recipe_rows_resume_and_stored_model(unbc, setup, crops, tmp_path):
    recipe = ClipRecipe("res3d", SMALL, setup)
    store = Store(tmp_path / "store")
    first = _cv(recipe, unbc, store=store, crops=crops)
    assert list(first.folds["resumed"]) == [False, False]
    for col in ("mse", "mae", "pcc", "auc", "train_s", "test_s", "epochs", "n_test_subjects"):
        assert col in first.folds
    out = first.pooled()
    assert out["y_true"].shape == out["y_pred"].shape == out["frame"].shape == out["subject"].shape
    assert set(out["subject"]) == {s.subject for s in unbc}  # every subject tested once over the folds
    again = _cv(recipe, unbc, store=store, crops=crops)
    assert list(again.folds["resumed"]) == [True, True]
    np.testing.assert_equal(again.summary(), first.summary())  # NaN (undefined metric) equals NaN
    # the stored model reproduces the stored predictions of its fold
    fold = first.folds["fold"].iloc[0]
    net = first.fitted(0)
    stored = first.outputs[fold]
    one = stored["sample"] == stored["sample"][0]
    frames, _, pred = continuous_trace(net, unbc[int(stored["sample"][0])], setup, cache_dir=crops)
    for f, p in zip(stored["frame"][one], stored["y_pred"][one]):
        np.testing.assert_allclose(pred[frames == f], p, rtol=1e-4, atol=1e-5)
    # the record names the cached face crops it was computed from
    rec = json.loads(first.entry.file(f"{fold}.json").read_text())
    assert rec["metrics"] == ["mse", "mae", "pcc", "auc"] and rec["history"][0]["epoch"] == 1


class Interrupted(RuntimeError):
    pass


@dataclass(frozen=True)
class Flaky(toy.FixedRepresentation):
    """Fails on the second fold the first time (an interrupted run)."""

    fail_flag: str = ""

    def fit(self, samples, y, ctx):
        flag = Path(self.fail_flag)
        if ctx.fold.endswith("-1") and not flag.exists():
            flag.write_text("failed once")
            raise Interrupted("simulated interruption")
        Path(self.fail_flag + ".fits").open("a").write(ctx.fold + "\n")
        return super().fit(samples, y, ctx)


def test_an_interrupted_run_resumes_at_the_first_unfinished_fold(unbc, crops, tmp_path):
    recipe = Flaky(fail_flag=str(tmp_path / "flag"))
    store = Store(tmp_path / "store")
    with pytest.raises(Interrupted):
        _cv(recipe, unbc, store=store, crops=crops)
    res = _cv(recipe, unbc, store=store, crops=crops)
    assert list(res.folds["resumed"]) == [True, False]
    assert (tmp_path / "flag.fits").read_text().split() == ["group-kfold-2-0", "group-kfold-2-1"]  # fold 0 once


@pytest.mark.parametrize("damage", ["truncate-json", "truncate-npz", "truncate-pt", "garble-npz", "delete-pt"])
def test_a_damaged_store_entry_is_named_discarded_and_recomputed(unbc, crops, tmp_path, damage):
    recipe = toy.FixedRepresentation()
    store = Store(tmp_path / "store")
    first = _cv(recipe, unbc, store=store, crops=crops)
    fold = first.folds["fold"].iloc[0]
    kind, suffix = damage.split("-")
    path = first.entry.file(f"{fold}.{suffix}")
    data = path.read_bytes()
    if kind == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "garble":
        path.write_bytes(data[:-64] + bytes(64))
    else:
        path.unlink()
    with pytest.warns(DamagedEntryWarning, match=path.name):
        again = _cv(recipe, unbc, store=store, crops=crops)
    assert list(again.folds["resumed"]) == [False, True]
    np.testing.assert_allclose(again.folds["mse"], first.folds["mse"])


@dataclass(frozen=True)
class SlowCounting(Recipe):
    name = "slow"
    log: str = ""

    def fit(self, samples, y, ctx):
        with open(self.log, "a") as fh:
            fh.write(ctx.fold + "\n")
        time.sleep(0.5)
        return Fitted({"mean": np.array(1.0)})

    def predict(self, fitted, samples, y, ctx):
        return {"y_true": np.ones(len(samples)), "y_pred": np.ones(len(samples)), "sample": np.arange(len(samples))}

    def score(self, outputs):
        return {"mse": float(np.mean((outputs["y_true"] - outputs["y_pred"]) ** 2))}


def _run_slow(args):
    log, store, root = args
    samples = open_dataset("synth-unbc", root).samples
    res = cross_validate(SlowCounting(log=log), samples, cv=CV, store=store, progress=False)
    return res.folds["mse"].tolist()


def test_two_runs_sharing_the_store_both_succeed_and_compute_each_fold_once(unbc, tmp_path):
    args = (str(tmp_path / "log"), str(tmp_path / "store"), str(Path(unbc[0].frames[0]).parents[3]))
    with mp.get_context("fork").Pool(2) as pool:
        a, b = pool.map(_run_slow, [args, args])
    assert a == b == [0.0, 0.0]
    assert sorted((tmp_path / "log").read_text().split()) == ["group-kfold-2-0", "group-kfold-2-1"]


# ---------------------------------------------------------------- per-epoch clips
def test_consecutive_epochs_draw_different_clips_and_a_rerun_the_same(unbc, setup, crops):
    bank = FrameBank.shared(size=16, cache_dir=crops)

    def draws(seed):
        b = ClipBatches(bank, unbc, clip_len=8, per_sample=2, batch_size=4, seed=seed,
                        frame_targets=[np.zeros(s.n_frames) for s in unbc])
        seen = []
        for epoch in range(3):
            b.set_epoch(epoch)
            seen.append(b.frame_index.copy())
        return seen

    a, again, other = draws(0), draws(0), draws(1)
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[1], a[2])
    assert all(np.array_equal(x, y) for x, y in zip(a, again))
    assert not np.array_equal(a[0], other[0])


def test_fit_draws_fresh_clips_every_epoch(unbc, crops):
    bank = FrameBank.shared(size=16, cache_dir=crops)
    batches = ClipBatches(bank, unbc, clip_len=8, per_sample=2, batch_size=4, seed=0,
                          frame_targets=[np.zeros(s.n_frames) for s in unbc])
    seen = []
    original = batches._draw

    def spy():
        original()
        seen.append(batches.frame_index.copy())

    batches._draw = spy
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(1), torch.nn.Flatten(0))
    net(next(iter(batches))[0])
    fit(net, batches, loss_fn=torch.nn.MSELoss(), optimizer=make_sgd(net), epochs=3, device="cpu", progress=False)
    assert len(seen) == 2 and not np.array_equal(seen[0], seen[1])  # epochs 1 and 2 redrew


# ---------------------------------------------------------------- noise bands
@dataclass(frozen=True)
class NoisyOracle(Recipe):
    """Predicts each frame's truth ``+ shift + noise * N(0, 1)`` (the noise drawn with
    ``draw``): known errors through the whole engine (folds, store, subjects, bands)."""

    name = "toy-noisy-oracle"
    shift: float = 0.0
    noise: float = 0.0
    draw: int = 0

    def fit(self, samples, y, ctx):
        return Fitted({"shift": np.array(self.shift)})

    def predict(self, fitted, samples, y, ctx):
        from pain_lib.data.labels import frame_pspi

        truth = [frame_pspi(s).astype(float) for s in samples]
        rng = np.random.default_rng([self.draw, int(ctx.fold[-1])])
        y_true = np.concatenate(truth)
        return {"y_true": y_true, "y_pred": y_true + self.shift + self.noise * rng.standard_normal(len(y_true)),
                "sample": np.concatenate([np.full(len(t), i) for i, t in enumerate(truth)])}

    def score(self, outputs):
        return {"mse": float(np.mean((outputs["y_true"] - outputs["y_pred"]) ** 2))}


def test_noise_bands_bracket_the_value_and_tell_real_differences(unbc, crops, tmp_path):
    store = Store(tmp_path / "store")
    # a constant error of 2 on every frame: MSE 4 in every fold and every bootstrap draw
    exact = _cv(NoisyOracle(shift=2.0), unbc, store=store, crops=crops)
    assert exact.summary()["mse"][0] == pytest.approx(4.0)
    assert exact.bootstrap(["mse"])["mse"] == pytest.approx((4.0, 4.0))
    # a learned model: the band brackets the value
    good = _cv(toy.FixedRepresentation(steps=60), unbc, store=store, crops=crops)
    same = _cv(toy.FixedRepresentation(steps=60), unbc, store=Store(tmp_path / "other"), crops=crops)
    band = good.bootstrap(["mse"])["mse"]
    assert band[0] <= good.summary()["mse"][0] <= band[1] and band[0] < band[1]
    tie = compare(good, same, "mse")
    assert tie.difference == 0 and tie.within_noise
    # a large, clearly separated difference (every frame 3 off vs 1 sd of noise): outside the noise
    near, far = NoisyOracle(noise=1.0, draw=1), NoisyOracle(noise=1.0, shift=3.0, draw=2)
    cmp = compare(_cv(far, unbc, store=store, crops=crops), _cv(near, unbc, store=store, crops=crops), "mse")
    assert cmp.difference == pytest.approx(9.0, rel=0.2) and cmp.lo > 0 and not cmp.within_noise
    assert cmp.describe("far", "near").endswith("outside the noise)")
    # two draws of one distribution: within the noise. The band is deterministic (a jackknife
    # over the 2 test subjects of each fold, t with 1 degree of freedom per fold); its coverage
    # over many draws is tested in test_bands_compare.py and test_band_coverage.py
    other = _cv(NoisyOracle(noise=1.0, draw=2), unbc, store=store, crops=crops)
    null = compare(other, _cv(near, unbc, store=store, crops=crops), "mse")
    assert null.lo < 0 < null.hi and null.within_noise
    assert null.describe().endswith("within the noise)")
    per = good.per_subject("mse")
    assert set(per.index) == {s.subject for s in unbc}


# ---------------------------------------------------------------- grids
def test_run_grid_reads_shared_configurations_from_the_store(unbc, crops, tmp_path):
    store = Store(tmp_path / "store")
    cells = [Cell("a", "x", toy.FixedRepresentation()), Cell("a", "y", toy.FixedRepresentation()),
             Cell("b", "x", toy.FixedRepresentation(steps=10))]
    table, results = run_grid(cells, unbc, cv=CV, store=store, cache_dir=crops, progress=False)
    assert len([p for p in store.root.iterdir() if p.is_dir() and p.name != "stages"]) == 2
    assert table.groupby("column")["reused"].first().to_dict() == {"x": False, "y": True}
    assert {"row", "column", "metric", "value", "std", "lo", "hi", "n", "train_s", "reused"} <= set(table.columns)
    v = table.set_index(["row", "column"])["value"]
    assert v[("a", "x")] == v[("a", "y")]


def test_channels_last_is_a_layout_not_a_different_model(setup):
    from pain_lib.experiments import to_memory_format
    from pain_lib.models import get_model

    torch.manual_seed(0)
    net = get_model("scn", depth=26, base_width=4).eval()
    x = torch.rand(2, 3, 8, 32, 32)
    cpu = to_memory_format(net, setup, "cpu")  # contiguous on a CPU (its fast kernels)
    assert all(p.is_contiguous() for p in cpu.parameters())
    ref = cpu(x)
    cl = net.to(memory_format=torch.channels_last_3d)  # what a GPU gets
    torch.testing.assert_close(cl(x.contiguous(memory_format=torch.channels_last_3d)), ref, rtol=1e-4, atol=1e-5)

"""Cross-validated clip experiments and the content-addressed experiment store, on the tiny
synthetic UNBC layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pain_lib.config import get_profile
from pain_lib.data import open_dataset
from pain_lib.experiments import (
    ClipSetup,
    cell_store_name,
    clip_cv,
    continuous_trace,
    experiment_key,
    fingerprint,
    run_grid,
    stored_fold_model,
    train_clip_model,
    transfer_pretrain,
)
from tests._synth_data import tiny_root

CV = "group-kfold:2"


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return open_dataset("synth-unbc", tiny_root(tmp_path_factory, "synth-unbc")).samples


@pytest.fixture(scope="module")
def setup():
    return ClipSetup.from_profile(get_profile("tiny"), clips_per_sample=1)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("crops")


SMALL = {"depth": 26, "base_width": 4}


def test_fingerprint_follows_content_not_identity(samples):
    a = torch.arange(24.0).reshape(1, 2, 2, 2, 3)
    assert fingerprint(a) == fingerprint(a.clone())
    # the same values in another memory layout are the same content
    assert fingerprint(a) == fingerprint(a.contiguous(memory_format=torch.channels_last_3d))
    assert fingerprint(a) != fingerprint(a + 1)
    assert fingerprint(a) != fingerprint(a.double())
    assert fingerprint({"x": 1, "y": (3, 5)}) == fingerprint({"y": [3, 5], "x": 1})
    assert fingerprint(samples) == fingerprint(list(samples))
    assert fingerprint(samples) != fingerprint(samples[1:])
    assert experiment_key(model="scn", seed=0) != experiment_key(model="scn", seed=1)


def test_store_name_treats_default_arguments_as_given(setup):
    common = dict(task="pspi", cv=CV, seed=0, device="cpu", data_key="d")
    plain = cell_store_name("scn", {"depth": 26}, setup, **common)
    explicit = cell_store_name("scn", {"depth": 26, "spatial_size": 3}, setup, **common)
    other = cell_store_name("scn", {"depth": 26, "spatial_size": 5}, setup, **common)
    assert plain == explicit != other
    assert plain.startswith("scn-")
    assert cell_store_name("scn", {"depth": 26}, setup.replace(stride=2), **common) != plain
    assert cell_store_name("scn", {"depth": 26}, setup, **{**common, "data_key": "e"}) != plain


def test_run_grid_trains_a_configuration_once(samples, setup, cache, tmp_path):
    grid = [
        {"row": "Res3D", "column": "a", "model": "res3d", "cfg": SMALL},
        {"row": "Res3D", "column": "b", "model": "res3d", "cfg": {**SMALL}},  # same configuration
        {"row": "Res3D", "column": "stride 2", "model": "res3d", "cfg": SMALL, "setup": {"stride": 2}},
    ]
    store = tmp_path / "store"
    table, results = run_grid(samples, grid, setup=setup, cv=CV, max_folds=1, checkpoint_dir=store,
                              cache_dir=cache, progress=False)
    assert len(list(store.iterdir())) == 2  # two distinct configurations
    assert set(table["metric"]) >= {"MSE", "PCC", "AUC"}
    reused = table.groupby("column")["reused"].first()
    assert reused.to_dict() == {"a": False, "b": True, "stride 2": False}
    mse = table[table["metric"] == "MSE"].set_index("column")["value"]
    assert mse["a"] == mse["b"]
    # a second table with the same configuration reads the store, with identical numbers
    again, _ = run_grid(samples, grid[:1], setup=setup, cv=CV, max_folds=1, checkpoint_dir=store,
                        cache_dir=cache, progress=False)
    assert bool(again["reused"].all())
    np.testing.assert_allclose(again["value"].to_numpy(), table[table["column"] == "a"]["value"].to_numpy())
    # the stored model reproduces the stored predictions
    res = results[("Res3D", "a")]
    net = stored_fold_model(res)
    name = res.folds["fold"].iloc[0]
    test_sample = samples[int(res.outputs[name]["sample"][0])]
    frames, truth, pred = continuous_trace(net, test_sample, setup, cache_dir=cache)
    stored = res.outputs[name]
    first = stored["sample"] == stored["sample"][0]
    for f, p in zip(stored["frame"][first], stored["y_pred"][first]):
        np.testing.assert_allclose(pred[frames == f], p, rtol=1e-4, atol=1e-5)


def test_clip_cv_rows_and_resume(samples, setup, cache, tmp_path):
    kw = dict(model="res3d", model_cfg=SMALL, setup=setup, cv=CV, max_folds=1, checkpoint_dir=tmp_path / "cv",
              cache_dir=cache, progress=False)
    first = clip_cv(samples, **kw)
    assert list(first.folds["resumed"]) == [False]
    for col in ("mse", "mae", "pcc", "auc", "train_s", "test_s"):
        assert col in first.folds
    out = first.pooled()
    assert out["y_true"].shape == out["y_pred"].shape == out["frame"].shape
    second = clip_cv(samples, **kw)
    assert list(second.folds["resumed"]) == [True]
    assert first.summary()["mse"][0] == second.summary()["mse"][0]


def test_channels_last_is_a_layout_not_a_different_model(samples, setup, cache):
    train = samples[:3]
    kw = dict(model="scn", cfg={**SMALL, "head": "regression", "num_outputs": 1}, seed=0, cache_dir=cache)
    a, ha = train_clip_model(train, setup=setup.replace(channels_last=True), **kw)
    b, hb = train_clip_model(train, setup=setup.replace(channels_last=False), **kw)
    assert next(a.parameters()).dim() == 5
    assert a.stem[0].weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert b.stem[0].weight.is_contiguous()
    np.testing.assert_allclose(ha["train_loss"], hb["train_loss"], rtol=1e-3)


def test_transfer_pretrain_is_stored_and_read_back(samples, setup, cache, tmp_path):
    from pain_lib.models import load_2d_backbone

    backbone, _ = load_2d_backbone("resnet18", weights="none")
    kw = dict(setup=setup, backbone=backbone, epochs=1, seed=0, cache_dir=cache, store_dir=tmp_path)
    state, hist = transfer_pretrain("res3d", SMALL, samples[:4], **kw)
    files = list(tmp_path.glob("transfer-res3d-*.pt"))
    assert len(files) == 1
    state2, hist2 = transfer_pretrain("res3d", SMALL, samples[:4], **kw)
    assert fingerprint(state) == fingerprint(state2)
    np.testing.assert_allclose(hist["train_loss"], hist2["train_loss"])
    transfer_pretrain("res3d", SMALL, samples[:3], **kw)  # other data: a new entry
    assert len(list(tmp_path.glob("transfer-res3d-*.pt"))) == 2


def test_regression_head_predicts_in_target_units():
    from pain_lib.models import count_parameters, get_model

    torch.manual_seed(0)
    net = get_model("res3d", **SMALL).eval()
    x = torch.randn(2, 3, 8, 32, 32)
    raw = net(x)
    n_params = count_parameters(net)
    net.head.set_target_scale(2.5, 3.0)
    torch.testing.assert_close(net(x), raw * 3.0 + 2.5)
    assert count_parameters(net) == n_params  # buffers, not parameters
    state = net.state_dict()
    assert float(state["head.target_mean"]) == 2.5 and float(state["head.target_std"]) == 3.0
    clone = get_model("res3d", **SMALL).eval()
    clone.load_state_dict(state)
    torch.testing.assert_close(clone(x), net(x))
    with pytest.raises(ValueError, match="positive"):
        net.head.set_target_scale(0.0, 0.0)
    with pytest.raises(ValueError, match="no target scale"):
        get_model("res3d", **SMALL, head="classification", num_outputs=3).head.set_target_scale(0.0, 1.0)


def test_standardised_mse_and_target_statistics(samples):
    from pain_lib.data.labels import frame_pspi
    from pain_lib.experiments import StandardisedMSE, target_statistics

    mean, std = target_statistics(samples)
    pspi = np.concatenate([frame_pspi(s) for s in samples])
    assert mean == pytest.approx(pspi.mean()) and std == pytest.approx(max(pspi.std(), 1e-3))
    p, y = torch.tensor([1.0, 4.0, 0.0]), torch.tensor([0.0, 2.0, 0.0])
    loss = StandardisedMSE(2.0)(p, y)
    torch.testing.assert_close(loss, torch.nn.functional.mse_loss((p - 1) / 2, (y - 1) / 2))

"""The clip recipe's helpers and its early stopping, through the public names of
``pain_lib.experiments`` (``target_statistics``, ``StandardisedMSE``, ``bank_for``,
``validation_split``; ``ClipRecipe(model, cfg, setup)`` with its default regression target)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pain_lib.config import get_profile
from pain_lib.data import Sample, open_dataset
from pain_lib.data.bank import FrameBank
from pain_lib.experiments import (
    ClipRecipe,
    ClipSetup,
    StandardisedMSE,
    Store,
    bank_for,
    cross_validate,
    target_statistics,
    validation_split,
)
from tests._synth_data import tiny_root

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def unbc(tmp_path_factory):
    return open_dataset("synth-unbc", tiny_root(tmp_path_factory, "synth-unbc")).samples


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    return tmp_path_factory.mktemp("crops")


def _with_pspi(sample, pspi):
    return dataclasses.replace(sample, labels={**sample.labels, "pspi": np.asarray(pspi, float)})


# --------------------------------------------------------------------------- target_statistics
def test_target_statistics_are_the_mean_and_std_of_every_training_frame(unbc):
    a, b = _with_pspi(unbc[0], [0, 0, 2, 4]), _with_pspi(unbc[1], [6, 0])
    mean, std = target_statistics([a, b])
    assert mean == pytest.approx(2.0) and std == pytest.approx(np.std([0, 0, 2, 4, 6, 0]))  # frames, not samples
    from pain_lib.data.labels import frame_pspi

    every = np.concatenate([frame_pspi(s) for s in unbc])
    assert target_statistics(unbc) == pytest.approx((every.mean(), every.std()))


def test_target_statistics_of_a_set_without_pain_give_the_unit_scale(unbc):
    # a constant training target has no scale: std 1 (a tiny floor would divide the
    # standardised loss by its square and blow the first SGD steps up)
    assert target_statistics([_with_pspi(unbc[0], np.zeros(5))]) == (0.0, 1.0)
    assert target_statistics([_with_pspi(unbc[0], np.full(5, 3.0))]) == (3.0, 1.0)
    assert target_statistics([_with_pspi(unbc[0], [0, 0, 0, 3e-3])])[1] == pytest.approx(np.std([0, 0, 0, 3e-3]))


# --------------------------------------------------------------------------- StandardisedMSE
def test_standardised_mse_is_the_mse_of_standardised_targets():
    torch.manual_seed(0)
    pred, target = torch.randn(50) * 3 + 1, torch.randn(50) * 3 + 1
    mean, std = 1.0, 2.5
    loss = StandardisedMSE(std)(pred, target)
    ref = torch.nn.functional.mse_loss((pred - mean) / std, (target - mean) / std)
    torch.testing.assert_close(loss, ref)
    assert float(StandardisedMSE(1.0)(pred, target)) == pytest.approx(float(((pred - target) ** 2).mean()))
    assert float(StandardisedMSE(2.0)(torch.tensor([4.0]), torch.tensor([0.0]))) == pytest.approx(4.0)
    p = pred.clone().requires_grad_()
    StandardisedMSE(std)(p, target).backward()
    torch.testing.assert_close(p.grad, 2 * (p.detach() - target) / (len(p) * std**2))


# --------------------------------------------------------------------------- bank_for
def test_bank_for_is_the_shared_bank_of_the_setups_crop(crops):
    setup = ClipSetup.from_profile(get_profile("tiny"))
    bank = bank_for([], setup, "cpu", crops)
    assert isinstance(bank, FrameBank) and bank.size == setup.size and bank.crop == setup.crop
    assert bank_for([], setup, "cpu", crops) is bank  # process-wide: one decode per crop size
    assert bank_for([], setup.replace(size=16), "cpu", crops) is not bank


def test_bank_for_stays_on_the_cpu_when_the_frames_would_not_fit_the_gpu(unbc, crops, monkeypatch):
    setup = ClipSetup.from_profile(get_profile("tiny"))
    need = sum(s.n_frames for s in unbc) * setup.size ** 2 * 3
    asked = []
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: asked.append(device) or (2 * need, 4 * need))
    monkeypatch.setattr(FrameBank, "shared", classmethod(lambda cls, **kw: kw))
    assert str(bank_for(unbc, setup, "cuda", crops)["device"]) == "cpu"  # 2 x need free: more than 40 %
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (10 * need, 20 * need))
    assert str(bank_for(unbc, setup, "cuda", crops)["device"]) == "cuda"
    assert asked, "the free GPU memory was consulted"


# --------------------------------------------------------------------------- validation_split
def _fake(subjects):
    return [Sample(subject=s, sample_id=f"{s}-{i}", frames=[], video=None, fps=25.0, labels={})
            for i, s in enumerate(subjects)]


def test_validation_split_holds_out_whole_subjects():
    samples = _fake(["a", "a", "b", "b", "c", "d", "d", "e"])
    train, val = validation_split(samples, 2, seed=0)
    assert sorted(train + val) == list(range(len(samples)))  # a partition of the training fold
    held = {samples[i].subject for i in val}
    assert len(held) == 2 and not held & {samples[i].subject for i in train}
    assert validation_split(samples, 2, seed=0) == (train, val)  # the seed decides
    assert len({frozenset(samples[i].subject for i in validation_split(samples, 2, seed=k)[1]) for k in range(8)}) > 1


@pytest.mark.parametrize("subjects, n", [(["a", "b", "c"], 2), (["a", "a", "b"], 1), (["a", "b", "c", "d"], 0)])
def test_validation_split_holds_out_nothing_with_too_few_subjects(subjects, n):
    samples = _fake(subjects)
    assert validation_split(samples, n, seed=0) == (list(range(len(samples))), [])


def test_validation_split_needs_two_training_subjects_left():
    train, val = validation_split(_fake(["a", "b", "c"]), 1, seed=3)
    assert len(val) == 1 and len(train) == 2


# --------------------------------------------------------------------------- early stopping
SMALL = {"depth": 26, "base_width": 4}


def _fit(unbc, crops, tmp_path, **changes):
    # 4 folds of 4 subjects: 3 training subjects, so one can be held out for validation
    setup = ClipSetup.from_profile(get_profile("tiny"), clips_per_sample=1, size=16, lr=0.03, lr_step=100,
                                   **changes)
    res = cross_validate(ClipRecipe("res3d", SMALL, setup), unbc, cv="group-kfold:4", max_folds=1,
                         store=Store(tmp_path / f"store-{len(list(tmp_path.iterdir()))}"), cache_dir=crops,
                         progress=False)
    return res, res.learning_curves()


def test_early_stopping_records_validation_loss_stops_and_keeps_the_best_weights(unbc, crops, tmp_path):
    patience, epochs = 2, 8
    res, curve = _fit(unbc, crops, tmp_path, epochs=epochs, patience=patience, val_subjects=1)
    fold = res.folds.iloc[0]
    assert fold["val_subjects"] == 1
    # the validation loss is measured after every epoch
    assert curve["epoch"].tolist() == list(range(1, len(curve) + 1))
    assert np.isfinite(curve["val_loss"]).all()
    best = int(curve["val_loss"].idxmin()) + 1
    assert fold["best_epoch"] == best
    # training stopped after `patience` epochs without a better validation loss
    assert len(curve) == min(epochs, best + patience) == fold["epochs"]
    assert len(curve) < epochs, "this schedule must stop early (else the test shows nothing)"
    assert (curve["val_loss"].iloc[best:] >= curve["val_loss"].iloc[best - 1]).all()
    # the best epoch's weights are kept: the same as training exactly `best` epochs
    ref, ref_curve = _fit(unbc, crops, tmp_path, epochs=best, patience=patience, val_subjects=1)
    np.testing.assert_allclose(ref_curve["val_loss"], curve["val_loss"].iloc[:best], rtol=1e-6)
    kept, trained_best = res.fitted(0), ref.fitted(0)
    for (name, p), (_, q) in zip(kept.named_parameters(), trained_best.named_parameters(), strict=True):
        torch.testing.assert_close(p, q, msg=f"parameter {name} is not the best epoch's")
    # ... not the last epoch's: the epochs after the best one still trained (the loss moved)
    assert not np.allclose(curve["train_loss"].iloc[best:], curve["train_loss"].iloc[best - 1])


def test_without_patience_there_is_no_validation_and_every_epoch_trains(unbc, crops, tmp_path):
    res, curve = _fit(unbc, crops, tmp_path, epochs=3, patience=0, val_subjects=1)
    assert len(curve) == 3 and "val_loss" not in curve and res.folds.iloc[0]["val_subjects"] == 0
    assert res.folds.iloc[0]["best_epoch"] == 3

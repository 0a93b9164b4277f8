"""Cross-architecture knowledge transfer: pair sampler invariants, pair model, 2D backbones."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from pain_lib.models import (
    TransferPairDataset,
    TransferPairModel,
    TransferPairSampler,
    get_model,
    load_2d_backbone,
    pretrain_2d_identity,
    transfer_step,
)
from pain_lib.models.transfer import torchvision_cache_path
from pain_lib.train import fit, make_loader, make_sgd

pytestmark = pytest.mark.usefixtures("one_thread")

ITEMS = [(f"video{v}", start) for v in range(5) for start in range(0, 10 * (v + 1), 8)]


@pytest.mark.parametrize("num_pairs", [2, 7, 64, 501])
def test_pair_sampler_invariants(num_pairs):
    sampler = TransferPairSampler(ITEMS, num_pairs=num_pairs, seed=3)
    pairs = sampler.pairs()
    assert pairs.shape == (num_pairs, 3) and len(sampler) == num_pairs
    pos, neg = pairs[pairs[:, 2] == 1], pairs[pairs[:, 2] == 0]
    assert len(pos) == num_pairs // 2 and len(neg) == num_pairs - num_pairs // 2  # balanced
    for a, b, _ in pos:  # same video and same time stamp
        assert ITEMS[a] == ITEMS[b]
    for a, b, _ in neg:  # different videos
        assert ITEMS[a][0] != ITEMS[b][0]
    assert pairs[:, :2].min() >= 0 and pairs[:, :2].max() < len(ITEMS)
    assert list(sampler) == [tuple(int(v) for v in row) for row in pairs]


def test_pair_sampler_is_deterministic_per_seed_and_epoch():
    a = TransferPairSampler(ITEMS, seed=1)
    b = TransferPairSampler(ITEMS, seed=1)
    np.testing.assert_array_equal(a.pairs(), b.pairs())
    first = a.pairs()
    a.set_epoch(1)
    assert not np.array_equal(first, a.pairs())
    assert not np.array_equal(first, TransferPairSampler(ITEMS, seed=2).pairs())


def test_pair_sampler_negatives_cover_other_videos():
    pairs = TransferPairSampler(ITEMS, num_pairs=4000, seed=0).pairs()
    neg = pairs[pairs[:, 2] == 0]
    vids = {ITEMS[b][0] for a, b, _ in neg if ITEMS[a][0] == "video0"}
    assert vids == {f"video{v}" for v in range(1, 5)}


def test_pair_sampler_needs_two_videos():
    with pytest.raises(ValueError, match="two different videos"):
        TransferPairSampler([("only", 0), ("only", 8)])


def _pair_model():
    torch.manual_seed(0)
    backbone, prov = load_2d_backbone("resnet18", weights="none")
    return TransferPairModel(get_model("scn", depth=26, base_width=4), backbone), prov


def test_pair_model_only_3d_and_head_learn():
    model, prov = _pair_model()
    assert prov["source"] == "random-init"
    model.train()
    assert not model.backbone_2d.training and model.model_3d.training
    frames, clip = torch.randn(2, 3, 4, 32, 32), torch.randn(2, 3, 8, 32, 32)
    logits = model(frames, clip)
    assert logits.shape == (2, 2)
    nn.functional.cross_entropy(logits, torch.tensor([0, 1])).backward()
    assert all(p.grad is None and not p.requires_grad for p in model.backbone_2d.parameters())
    assert all(p.grad is not None for p in model.model_3d.stages.parameters())
    assert all(p.grad is not None for p in model.classifier.parameters())
    assert [m.out_features for m in model.classifier if isinstance(m, nn.Linear)] == [512, 128, 2]
    opt = make_sgd(model)
    n_opt = sum(p.numel() for g in opt.param_groups for p in g["params"])
    assert n_opt == sum(p.numel() for p in model.model_3d.parameters()) + sum(
        p.numel() for p in model.classifier.parameters()
    )


def test_pair_training_runs_with_generic_fit():
    model, _ = _pair_model()
    clips = torch.randn(len(ITEMS), 3, 4, 32, 32)
    sampler = TransferPairSampler(ITEMS, num_pairs=8, seed=0)
    loader = make_loader(TransferPairDataset(torch.utils.data.TensorDataset(clips), num_frames=2), batch_size=4,
                         sampler=sampler)
    frames, clip, label = next(iter(loader))
    assert frames.shape == (4, 3, 2, 32, 32) and clip.shape == (4, 3, 4, 32, 32) and label.shape == (4,)
    before = model.backbone_2d.conv1.weight.clone()
    hist = fit(model, loader, loss_fn=nn.CrossEntropyLoss(), optimizer=make_sgd(model), step_fn=transfer_step,
               epochs=2, device="cpu", progress=False)
    assert len(hist) == 2 and np.isfinite(hist.train_loss).all()
    assert sampler.epoch == 1  # fit advanced the sampler's epoch
    assert torch.equal(before, model.backbone_2d.conv1.weight)


def test_load_2d_backbone_uses_only_the_local_cache(tmp_path, monkeypatch):
    import torch.hub

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def no_download(*a, **k):  # pragma: no cover - the test fails if called
        raise AssertionError("load_2d_backbone tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    model, prov = load_2d_backbone("resnet18", weights="auto")
    assert prov["source"] == "random-init" and "no cached weights" in prov["note"]
    with pytest.raises(FileNotFoundError, match="not in the local torch hub cache"):
        load_2d_backbone("resnet18", weights="imagenet")
    # put a state dict where torchvision would cache it -> it is loaded, not downloaded
    path, _ = torchvision_cache_path("resnet18")
    path.parent.mkdir(parents=True)
    import torchvision

    torch.manual_seed(123)
    ref = torchvision.models.resnet18()
    torch.save(ref.state_dict(), path)
    model, prov = load_2d_backbone("resnet18", weights="auto")
    assert prov["source"] == "torchvision-cache" and prov["pretrained_on"] == "ImageNet-1k"
    assert torch.equal(model.conv1.weight, ref.conv1.weight)
    assert model.eval()(torch.randn(1, 3, 32, 32)).shape == (1, 512)


def test_identity_pretraining_records_provenance_and_roundtrips(tmp_path):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    # 3 "identities", each a distinct colour layout, with noise: (N, H, W, 3) uint8
    base = rng.integers(0, 255, size=(3, 16, 16, 3))
    ids = np.repeat(np.arange(3), 8)
    imgs = np.clip(base[ids] + rng.normal(0, 20, size=(24, 16, 16, 3)), 0, 255).astype(np.uint8)
    backbone, _ = load_2d_backbone("resnet18", weights="none")
    prov = pretrain_2d_identity(backbone, imgs, [f"subj{i}" for i in ids], epochs=2, batch_size=8, lr=0.01,
                                device="cpu", progress=False, save_to=tmp_path / "face2d.pt")
    assert prov["source"] == "face-identity-pretraining"
    assert prov["num_identities"] == 3 and prov["num_images"] == 24
    assert 0.0 <= prov["val_accuracy"] <= 1.0 and np.isfinite(prov["final_train_loss"])
    again, prov2 = load_2d_backbone("resnet18", weights=tmp_path / "face2d.pt")
    assert prov2["source"] == "file" and prov2["file_provenance"]["source"] == "face-identity-pretraining"
    assert torch.equal(again.conv1.weight, backbone.conv1.weight)

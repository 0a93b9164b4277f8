"""The SCN paper's cross-architecture knowledge transfer: pair sampler invariants, the pair model
(frozen, normalised 2D network), pretext batches from the frame bank, the 2D network's sources,
and the transfer recipe (training fold only; transferred weights loaded but the head)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from pain_lib.config import get_profile
from pain_lib.data import open_dataset
from pain_lib.data.bank import FrameBank
from pain_lib.experiments import ClipSetup, FitContext, Store, clip_batches
from pain_lib.models import get_model
from pain_lib.papers.scn.transfer import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    TransferBatches,
    TransferClipRecipe,
    TransferPairModel,
    TransferPairSampler,
    TransferSetup,
    pretrain_2d_identity,
    transfer_step,
)
from pain_lib.train import fit, make_sgd
from tests._synth_data import tiny_root

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


def test_pair_sampler_needs_two_videos():
    with pytest.raises(ValueError, match="two different videos"):
        TransferPairSampler([("only", 0), ("only", 8)])


def _pair_model():
    torch.manual_seed(0)
    return TransferPairModel(get_model("scn", depth=26, base_width=4), get_model("resnet2d", depth=26, base_width=4, head="none"))


def test_pair_model_only_3d_and_head_learn():
    model = _pair_model()
    model.train()
    assert not model.backbone_2d.training and model.model_3d.training
    frames, clip = torch.rand(2, 3, 4, 32, 32), torch.rand(2, 3, 8, 32, 32)
    logits = model(frames, clip)
    assert logits.shape == (2, 2)
    nn.functional.cross_entropy(logits, torch.tensor([0, 1])).backward()
    assert all(p.grad is None and not p.requires_grad for p in model.backbone_2d.parameters())
    assert all(p.grad is not None for p in model.model_3d.stages.parameters())
    assert [m.out_features for m in model.classifier if isinstance(m, nn.Linear)] == [512, 128, 2]
    opt = make_sgd(model)
    n_opt = sum(p.numel() for g in opt.param_groups for p in g["params"])
    assert n_opt == sum(p.numel() for p in model.model_3d.parameters()) + sum(
        p.numel() for p in model.classifier.parameters())


def test_the_2d_network_sees_frames_normalised_as_it_was_trained():
    model = _pair_model().eval()
    seen = []
    model.backbone_2d.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach()))
    frames = torch.rand(2, 3, 4, 16, 16)  # clips arrive in [0, 1]
    model(frames, torch.rand(2, 3, 8, 16, 16))
    x = seen[0]
    assert x.shape == (8, 3, 16, 16)  # every one of the N frames, as images
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    expected = (frames.transpose(1, 2).reshape(8, 3, 16, 16) - mean) / std
    torch.testing.assert_close(x, expected)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return open_dataset("synth-unbc", tiny_root(tmp_path_factory, "synth-unbc")).samples


@pytest.fixture(scope="module")
def setup():
    return ClipSetup.from_profile(get_profile("tiny"), clips_per_sample=2)


def test_pretext_batches_pair_clips_of_the_bank(samples, setup, tmp_path):
    clips = clip_batches(samples, setup, train=True, device="cpu", cache_dir=tmp_path, seed=0)
    batches = TransferBatches(clips)
    frames, clip, same = next(iter(batches))
    assert frames.shape == clip.shape == (setup.batch_size, 3, setup.clip_len, setup.size, setup.size)
    assert frames.dtype == torch.float32 and 0 <= float(frames.min()) and float(frames.max()) <= 1
    labels = torch.cat([b[2] for b in batches])
    assert abs(int(labels.sum()) - len(labels) // 2) <= 1  # balanced
    for f, c, s in zip(frames, clip, same):  # a positive pair is the same clip
        assert torch.equal(f, c) == bool(s)
    model = _pair_model()
    hist = fit(model, batches, loss_fn=nn.CrossEntropyLoss(), optimizer=make_sgd(model), step_fn=transfer_step,
               epochs=2, device="cpu", progress=False)
    assert len(hist) == 2 and np.isfinite(hist.train_loss).all() and batches.epoch == 1


def test_imagenet_weights_come_only_from_the_local_cache(tmp_path, monkeypatch):
    import torch.hub
    import torchvision

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def no_download(*a, **k):  # pragma: no cover - the test fails if called
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    net = get_model("resnet2d", depth=50, base_width=64, head="none", weights="auto")
    assert net.weights_provenance["source"] == "random-init"  # nothing cached: random weights
    assert get_model("resnet2d", depth=26, base_width=8, weights="auto").weights_provenance["source"] == "random-init"
    w = torchvision.models.get_model_weights("resnet50").DEFAULT
    path = Path(tmp_path) / "checkpoints" / Path(w.url).name
    path.parent.mkdir(parents=True)
    torch.manual_seed(1)
    ref = torchvision.models.resnet50()
    torch.save(ref.state_dict(), path)
    net = get_model("resnet2d", depth=50, base_width=64, head="none", weights="auto")
    assert net.weights_provenance["source"] == "torchvision-cache"
    assert torch.equal(net.trunk.conv1.weight, ref.conv1.weight)  # torchvision's names fit timm's ResNet


def test_identity_pretraining_records_provenance():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, size=(3, 16, 16, 3))
    ids = np.repeat(np.arange(3), 8)
    imgs = np.clip(base[ids] + rng.normal(0, 20, size=(24, 16, 16, 3)), 0, 255).astype(np.uint8)
    backbone = get_model("resnet2d", depth=26, base_width=4, head="none")
    prov = pretrain_2d_identity(backbone, imgs, [f"subj{i}" for i in ids], epochs=2, batch_size=8, lr=0.01,
                                device="cpu", progress=False)
    assert prov["source"] == "face-identity-pretraining"
    assert prov["num_identities"] == 3 and prov["num_images"] == 24
    assert 0.0 <= prov["val_accuracy"] <= 1.0 and np.isfinite(prov["final_train_loss"])


def test_transfer_recipe_uses_the_training_fold_and_loads_all_but_the_head(samples, setup, tmp_path, monkeypatch):
    train = [s for s in samples if s.subject != samples[0].subject]
    import pain_lib.experiments.pretrain as pretrain

    seen_ids = []
    real = pretrain.pretrain_2d_identity

    def spy(backbone, images, ids, **kw):
        seen_ids.extend(ids)
        return real(backbone, images, ids, **kw)

    monkeypatch.setattr(pretrain, "pretrain_2d_identity", spy)
    recipe = TransferClipRecipe("scn", {"depth": 26, "base_width": 4}, setup, transfer=TransferSetup(epochs=1, identity_epochs=1))
    store = Store(tmp_path / "store")
    ctx = FitContext(device=torch.device("cpu"), seed=0, fold="f", store=store, entry=store.entry("x", "0" * 16),
                     cache_dir=tmp_path / "crops")
    state, info = recipe.initial_state(train, None, ctx)
    assert set(seen_ids) == {s.subject for s in train}  # the 2D network never saw a test subject
    assert {"stage:face-identity", "stage:transfer-pretext"} <= set(ctx.inputs)
    shifted = {k: v + 1 if v.is_floating_point() else v for k, v in state.items()}

    class Shifted(TransferClipRecipe):
        def initial_state(self, samples, y, ctx):
            return shifted, {}

    net, init_info = Shifted(**{f: getattr(recipe, f) for f in recipe.__dataclass_fields__}).initialised(train, None, ctx)
    own = net.state_dict()
    body = [k for k in own if not k.startswith("head.")]
    assert init_info["init_tensors"] == len(body)
    assert all(torch.equal(own[k], shifted[k]) for k in body)  # every transferred tensor ...
    assert not torch.equal(own["head.fc.weight"], shifted["head.fc.weight"])  # ... but the task's new head
    # a second call reads both stages from the store: same weights, nothing retrained
    seen_ids.clear()
    again, _ = recipe.initial_state(train, None, ctx)
    assert not seen_ids and all(torch.equal(again[k], state[k]) for k in state)
    FrameBank._shared.clear()


def test_scn_with_one_kernel_of_depth_3_is_res3d_and_shares_its_configuration():
    import torch

    import pain_lib.notebook
    from pain_lib.models import get_model
    from pain_lib.papers import scn

    torch.manual_seed(0)
    a = get_model("scn", depth=26, base_width=8, num_outputs=1, temporal_depths=(3,))
    torch.manual_seed(0)
    b = get_model("res3d", depth=26, base_width=8, num_outputs=1)
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)  # the same network, the same weights
    run = pain_lib.notebook.start({"profile": "tiny", "device": "cpu"}, notebook="scn/02_table2_parallel_kernels",
                                  quiet=True)
    one = scn.recipe(run, "scn", {"depth": 26, "temporal_depths": (3,)})
    assert one.model == "res3d" and one.identity() == scn.recipe(run, "res3d", {"depth": 26}).identity()
    assert scn.recipe(run, "scn", {"depth": 26, "temporal_depths": ((3,),) * 4}).model == "res3d"
    for cfg in ({"depth": 26}, {"depth": 26, "temporal_depths": (3, 5, 9)}, {"depth": 26, "temporal_depths": (5,)}):
        assert scn.recipe(run, "scn", cfg).model == "scn"

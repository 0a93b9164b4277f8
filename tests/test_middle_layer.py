"""The engine's middle layer on the real shapes of the coming papers, built from the library's
own representations, readers, labels, targets and protocols -- on real-layout copies of the tiny
synthetic sets (no simulator truth, no dataset detected by its labels), through the shared
runner, twice (the second run reads every fold from the store)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from pain_lib.data import open_dataset
from pain_lib.experiments import (
    Cell,
    ClassPair,
    ClipSetup,
    FramePSPI,
    HeartRateGain,
    ImageRecipe,
    ImageSetup,
    PainPresence,
    Recipe,
    Representation,
    SequenceLabel,
    Store,
    cross_validate,
    frozen_features,
    pretrained_backbone,
    representation_tensor,
    roles,
    run_grid,
    two_datasets,
)
from pain_lib.experiments.recipe import Fitted
from pain_lib.experiments.representations import representation_cache
from pain_lib.models import TemporalAttention, get_model
from tests._synth_data import real_layout_root

pytestmark = pytest.mark.usefixtures("one_thread")
CV = "group-kfold:2"
IMAGE_SETUP = ImageSetup(epochs=2, batch_size=4, lr=0.01, amp=False)
NET = {"depth": 26, "base_width": 4}


@pytest.fixture(scope="module")
def unbc(tmp_path_factory):
    return open_dataset("unbc", real_layout_root(tmp_path_factory, "synth-unbc")).samples


@pytest.fixture(scope="module")
def biovid(tmp_path_factory):
    return open_dataset("biovid", real_layout_root(tmp_path_factory, "synth-biovid")).samples


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    return tmp_path_factory.mktemp("crops")


def _twice(recipe, samples, *, store, crops, cv=CV):
    first = cross_validate(recipe, samples, cv=cv, store=store, cache_dir=crops, progress=False)
    again = cross_validate(recipe, samples, cv=cv, store=store, cache_dir=crops, progress=False)
    assert not first.folds["resumed"].any() and again.folds["resumed"].all()
    np.testing.assert_equal(again.summary(), first.summary())
    return first


def _records(store):
    import json

    return [json.loads(p.read_text()) for p in store.root.glob("*/*.json")
            if p.name != "identity.json" and p.parent.name != "stages"]


def test_real_layout_copies_have_no_truth(unbc, biovid):
    assert all("truth" not in s.meta for s in [*unbc, *biovid])
    with pytest.raises(KeyError, match="frame PSPI exists on UNBC"):
        FramePSPI().values(biovid[:1])


# ------------------------------------------------------------------ ahdi: one cached image per video
def test_resnet_on_cached_ahdi_images_regresses_max_pspi(unbc, crops, tmp_path):
    rep = Representation("ahdi", {"n_segments": 2, "patch_size": 3}, size=32)
    recipe = ImageRecipe("resnet2d", NET, rep, IMAGE_SETUP, target=SequenceLabel("max_pspi"))
    store = Store(tmp_path / "s")
    res = _twice(recipe, unbc, store=store, crops=crops)
    assert {"mse", "mae", "pcc"} <= set(res.metric_names) and np.isfinite(res.summary()["mse"][0])
    # computed once per dataset and parameters: one checksummed cache entry per video ...
    entries = list((crops / "representations" / "repr-ahdi").rglob("*.npz"))
    assert len(entries) == len(unbc)
    # ... whose digests every fold records, and that another configuration reads, not recomputes
    rec = _records(store)[0]
    assert {k for k in rec["inputs"] if k.startswith("ahdi:")} and all(len(v) == 64 for v in rec["inputs"].values())
    x, digests = representation_tensor(unbc, rep, cache_dir=crops)
    assert x.shape == (len(unbc), 3, 32, 32) and len(digests) == len(unbc)
    cache = representation_cache(crops)
    cross_validate(ImageRecipe("resnet2d", NET, rep, IMAGE_SETUP.replace(lr=0.02)), unbc, cv=CV,
                   store=store, cache_dir=crops, progress=False)
    assert len(list((crops / "representations" / "repr-ahdi").rglob("*.npz"))) == len(unbc) and cache.misses == 0


# ------------------------------------------------------------------ ahdi: MDV with attention pooling
def test_mdv_with_temporal_attention_pooling(unbc, crops, tmp_path):
    rep = Representation("mdv", {"window": 8, "k": 3}, size=32)
    recipe = ImageRecipe("resnet2d", NET, rep, IMAGE_SETUP, target=PainPresence(pspi_threshold=1), pooling="attention")
    samples = recipe.select(unbc)
    res = _twice(recipe, samples, store=Store(tmp_path / "s"), crops=crops)
    assert {"accuracy", "auc"} <= set(res.metric_names)
    net = res.fitted(0)["net"]
    assert type(net).__name__ == "ImageSequenceNet" and isinstance(net.pooling, TemporalAttention)


def test_temporal_attention_weights_sum_to_one_and_follow_a_permutation():
    torch.manual_seed(0)
    pool = TemporalAttention(16)
    f = torch.randn(3, 5, 16)
    w = pool.weights(f)
    torch.testing.assert_close(w.sum(1), torch.ones(3))
    perm = torch.tensor([4, 2, 0, 1, 3])
    torch.testing.assert_close(pool.weights(f[:, perm]), w[:, perm])
    torch.testing.assert_close(pool(f[:, perm]), pool(f))  # the pooled feature is order-free
    net = get_model("image_sequence", backbone="resnet2d", backbone_cfg=NET, pooling="attention",
                    head="classification", num_outputs=2)
    assert net(torch.rand(2, 3, 3, 32, 32)).shape == (2, 2)


# ------------------------------------------------------------------ hrg: two stages + a fitted analyzer
def test_hrg_two_stage_dual_branch_with_the_analyzer_and_heart_rate_gain_from_the_ecg(biovid, crops, tmp_path):
    """The hrg paper's method (pain_lib.papers.hrg.HRGRecipe): stage 1 (both branches, L_s + L_h)
    is a store stage shared by every stage-2 configuration of a fold; the analyzer's Gaussians are
    fitted on the training fold; the fused score is P_h * P_v (Eq. 5)."""
    from pain_lib.papers.hrg import HRGRecipe, KeyFrameSkip, fitted_analyzer, hrg_target

    setup = ClipSetup(clip_len=4, size=32, stride=1, epochs=1, batch_size=4, lr=0.003, amp=False, clips_per_sample=1,
                      sampler=KeyFrameSkip(4, window=6, skip=2))
    cfg = {"base_width": 4}
    recipe = HRGRecipe(cfg=cfg, setup=setup, target=(ClassPair(4, 0), hrg_target()), fusion="probability")
    samples = recipe.select(biovid)
    assert {int(s.labels["class"]) for s in samples} == {0, 4}
    hr, where = HeartRateGain().heart_rates(samples)
    assert set(where) == {"ecg"} and ((hr > 40) & (hr < 160)).all()
    store = Store(tmp_path / "s")
    res = _twice(recipe, samples, store=store, crops=crops)
    assert {"accuracy", "auc", "visual_accuracy", "physio_accuracy", "hrg_mse", "hrg_pcc"} <= set(res.metric_names)
    assert res.folds["hr_source"].iloc[0] == "ecg"
    pooled = res.pooled()
    hrg = pooled["hrg_y_true"]  # the [0, 1] scale of the training fold: test values may leave it
    assert np.isfinite(hrg).all() and np.isfinite(pooled["y_score"]).all()
    analyzer, scale = fitted_analyzer(res)
    first = res.outputs[res.folds["fold"].iloc[0]]
    train = [s for s in samples if s.subject not in set(first["subject"])]
    g = scale(torch.as_tensor(hrg_target().values(train))).numpy()
    cls = ClassPair(4, 0).values(train)
    np.testing.assert_allclose(analyzer.mu.numpy(), [g[cls == 0].mean(), g[cls == 1].mean()], rtol=1e-4, atol=1e-5)
    # another fusion of the same fold reuses stage 1 from the store (one stage file per fold)
    for fusion in ("none", "decision"):
        cross_validate(recipe.replace(fusion=fusion), samples, cv=CV, store=store, cache_dir=crops, progress=False)
    assert len(list((store.root / "stages").glob("hrg-stage1-*.pt"))) == 2
    none = cross_validate(recipe.replace(fusion="none"), samples, cv=CV, store=store, cache_dir=crops, progress=False)
    np.testing.assert_allclose(none.pooled()["y_score"], none.pooled()["visual_y_score"])


# ------------------------------------------------------------------ ssd: cross-dataset pretext then fine-tune
@dataclass(frozen=True)
class PretextThenFineTune(ImageRecipe):
    """A self-supervised stage on the fold's unlabelled pretext samples (which way a video's
    dynamic image runs: the image or its negation, i.e. the video reversed), shared by every
    configuration with the same pretext data, then fine-tuning on the labelled training fold."""

    name = "test-pretext"
    pretext_steps: int = 10

    def initial_state(self, samples, ctx):
        unlabelled = list(ctx.unlabelled)
        assert unlabelled, "a cross-dataset fold gives the recipe its pretext samples"

        def pretext():
            x, _ = representation_tensor(unlabelled, self.representation, cache_dir=ctx.cache_dir)
            x = x / x.flatten(1).std(1).clamp_min(1e-6).view(-1, 1, 1, 1)
            torch.manual_seed(ctx.seed)
            net = self.build(False)
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            z = torch.cat([torch.ones(len(x)), -torch.ones(len(x))])
            for _ in range(self.pretext_steps):
                opt.zero_grad()
                torch.nn.functional.mse_loss(net(torch.cat([x, -x])), z).backward()
                opt.step()
            return net

        net = ctx.stage("test-pretext", {"samples": unlabelled, "rep": self.representation, "seed": ctx.seed,
                                         "steps": self.pretext_steps, "model": self.model, "cfg": dict(self.cfg)},
                        pretext)
        return net.state_dict(), {"pretext_videos": len(unlabelled)}


def test_cross_dataset_pretext_then_fine_tune_keeps_the_roles_apart(unbc, biovid, crops, tmp_path):
    samples, protocol = two_datasets(biovid, unbc, target_cv=CV, pretext_fraction=0.5)
    target_subjects = {s.subject for s in unbc}
    for split in protocol.split(samples):
        r = roles(samples, split)
        subj = {k: {s for _, s in v} for k, v in r.items()}
        assert {(s.sample_id, s.subject) for s in biovid} <= r["pretext"]  # every source video, unlabelled
        assert subj["test"] <= target_subjects and not subj["test"] & (subj["train"] | subj["pretext"])
        assert subj["train"] <= target_subjects  # fine-tuning: the target's training fold only
        shared = subj["pretext"] & target_subjects
        assert shared <= subj["train"] and len(shared) == round(0.5 * len(subj["train"]))
    rep = Representation("dynamic_image", size=32)
    recipe = PretextThenFineTune("resnet2d", NET, rep, IMAGE_SETUP, target=SequenceLabel("max_pspi"))
    store = Store(tmp_path / "s")
    res = _twice(recipe, samples, store=store, crops=crops, cv=protocol)
    assert {samples[i].subject for i in res.pooled()["sample"]} == target_subjects  # every target subject tested once
    folds = protocol.split(samples)
    assert res.folds["pretext_videos"].tolist() == [len(f.pretext) for f in folds]
    assert all(r["roles"]["pretext"] > 0 and r["roles"]["train"] > 0 for r in _records(store))
    assert len(list((store.root / "stages").glob("test-pretext-*.pt"))) == len(folds)  # one stage per fold
    again = PretextThenFineTune("resnet2d", NET, rep, IMAGE_SETUP.replace(lr=0.02), target=SequenceLabel("max_pspi"))
    cross_validate(again, samples, cv=protocol, store=store, cache_dir=crops, progress=False)
    assert len(list((store.root / "stages").glob("test-pretext-*.pt"))) == len(folds)  # shared, not recomputed


def test_two_datasets_refuses_one_dataset_twice(unbc):
    with pytest.raises(ValueError, match="in both datasets"):
        two_datasets(unbc, unbc)


# ------------------------------------------------------------------ binary: frozen features + codebook
@dataclass(frozen=True)
class FrozenCodebook(Recipe):
    """Frozen features of a face-pretrained 2D network (the engine's stand-in), a k-means
    codebook fitted on the training fold (a store stage shared by every configuration of the
    fold), VLAD per video, and a ridge regression of the sequence's maximum PSPI on them."""

    name = "test-codebook"
    words: int = 4
    c: float = 1.0
    target: SequenceLabel = SequenceLabel("max_pspi")

    def backbone(self, samples, ctx):
        from pain_lib.experiments import face_images
        from pain_lib.experiments.clips import clip_batches

        setup = ClipSetup(clip_len=4, size=32, stride=1, epochs=1, batch_size=8, lr=0.01, amp=False)
        clips = clip_batches(samples, setup, train=True, device="cpu", cache_dir=ctx.cache_dir)
        return pretrained_backbone("resnet2d", NET, samples, ctx, images=lambda: face_images(clips), epochs=1,
                                   inputs={"size": 32})

    def vlad(self, feats, centres):
        out = []
        for f in feats:
            a = np.argmin(((f[:, None] - centres[None]) ** 2).sum(-1), 1)
            v = np.stack([(f[a == k] - centres[k]).sum(0) for k in range(len(centres))]).ravel()
            v = np.sign(v) * np.sqrt(np.abs(v))
            out.append(v / (np.linalg.norm(v) + 1e-12))
        return np.array(out)

    def fit(self, samples, y, ctx):
        from sklearn.cluster import KMeans
        from sklearn.linear_model import Ridge

        net, prov = self.backbone(samples, ctx)
        feats, digests = frozen_features(samples, net, size=32, cache_dir=ctx.cache_dir)
        ctx.inputs.update({f"features:{k}": v for k, v in digests.items()})
        centres = ctx.stage("codebook", {"features": sorted(digests.values()), "words": self.words, "seed": ctx.seed},
                            lambda: KMeans(self.words, n_init=2, random_state=ctx.seed).fit(np.concatenate(feats)).cluster_centers_)
        clf = Ridge(alpha=1.0 / self.c).fit(self.vlad(feats, centres), self.target.values(samples))
        return Fitted({"net": net, "centres": centres, "coef": clf.coef_, "intercept": clf.intercept_},
                      info={"backbone_source": prov["source"]})

    def predict(self, fitted, samples, y, ctx):
        m = fitted.model
        feats, _ = frozen_features(samples, m["net"], size=32, cache_dir=ctx.cache_dir)
        pred = self.vlad(feats, m["centres"]) @ np.ravel(m["coef"]) + float(np.ravel(m["intercept"])[0])
        return {"y_true": self.target.values(samples), "y_pred": pred.astype(np.float32), "sample": np.arange(len(samples))}

    def score(self, outputs):
        return self.target.score(outputs)


def test_frozen_feature_codebook_shares_features_and_codebook(unbc, crops, tmp_path):
    recipe = FrozenCodebook()
    samples = recipe.target.select(unbc)
    store = Store(tmp_path / "s")
    table, fits = run_grid([Cell("codebook", "C=1", recipe), Cell("codebook", "C=10", FrozenCodebook(c=10.0))],
                           samples, cv=CV, store=store, cache_dir=crops, progress=False)
    assert set(table["metric"]) >= {"MSE", "PCC"} and np.isfinite(table.set_index("metric").loc["MSE", "value"]).all()
    assert fits[("codebook", "C=1")].folds["backbone_source"].iloc[0] == "face-identity-pretraining"
    stages = store.root / "stages"
    assert len(list(stages.glob("face-identity-*.pt"))) == 2  # one backbone per fold, shared by both cells
    assert len(list(stages.glob("codebook-*.pt"))) == 2  # one codebook per fold, shared by both cells
    assert len(list(stages.glob("codebook-*.json"))) == 2  # with the identity its key came from
    # features once per (video, fold network): both folds' networks over every video at most
    n_feats = len(list((crops / "representations" / "frozen-features").rglob("*.npz")))
    assert n_feats == 2 * len(samples)


def test_profiles_choose_each_2d_familys_width_and_input_size():
    from pain_lib.config import get_profile

    standard = get_profile("standard")
    setup = ImageSetup.from_profile(standard)
    assert (setup.size, setup.width) == (32, 8)
    # one item per video and epoch: the profile's schedule times its image_epoch_factor
    full = get_profile("full")
    k = full.image_epoch_factor
    assert k > 1 and (ImageSetup.from_profile(full).epochs, ImageSetup.from_profile(full).lr_step) == (
        full.epochs * k, full.lr_step * k)
    assert (setup.epochs, setup.lr_step) == (standard.epochs * standard.image_epoch_factor,
                                             standard.lr_step * standard.image_epoch_factor)
    assert ImageSetup.from_profile(full, epochs=3).epochs == 3
    assert setup.backbone("resnet50")[:2] == ({"width": 8}, 32)
    assert setup.backbone("resnet2d")[:2] == ({"base_width": 8}, 32)
    assert setup.backbone("efficientnet_b0")[0] == {"width_mult": 0.125}
    cfg, size, note = setup.backbone("inception_v3")
    assert (cfg, size) == ({}, 75) and "cannot be narrowed" in note  # its smallest valid input
    assert setup.backbone("vit_b_16")[:2] == ({"image_size": 32}, 32)
    paper = ImageSetup.from_profile(get_profile("paper"))
    assert paper.backbone("resnet50")[:2] == ({"width": 64}, 112)
    for model in ("resnet18", "vgg16", "googlenet", "efficientnet_b0"):
        cfg, size, _ = setup.backbone(model)
        net = get_model(model, **cfg, head="regression").eval()
        assert net(torch.rand(1, 3, size, size)).shape == (1,)

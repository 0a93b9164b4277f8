"""The ahdi paper's pieces: AHDI segments on a video with known motion, the rank-pooling
coefficients against Eq. 2 and Bilen et al.'s code, the patch reading, temporal attention
pooling, every backbone's forward shape at its profile input size, and the genuine/posed
subject split."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pain_lib.config import PROFILES
from pain_lib.data import open_dataset
from pain_lib.experiments import ImageSetup
from pain_lib.models import TemporalAttention, get_model, make_pooling
from pain_lib.papers import ahdi as paper
from pain_lib.preprocess import ahdi as A
from pain_lib.preprocess.rank_pooling import approx_rank_pooling_weights
from tests._synth_data import real_layout_root

pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------ alpha (Eq. 2)
def _eq2(M: int) -> np.ndarray:
    """Eq. 2 as printed, with harmonic numbers written out."""
    H = [sum(1.0 / i for i in range(1, k + 1)) for k in range(M + 1)]
    return np.array([2 * (M - t + 1) - (M + 1) * (H[M] - H[t - 1]) for t in range(1, M + 1)])


def _official(N: int) -> np.ndarray:
    """Bilen et al.'s released code: alpha_i = sum_{j=i}^{N} (2j - N - 1) / j."""
    return np.array([sum((2 * j - N - 1) / j for j in range(i, N + 1)) for i in range(1, N + 1)])


@pytest.mark.parametrize("M", [1, 2, 3, 5, 8, 17, 25, 60])
def test_alpha_matches_eq2_and_the_official_code(M):
    a = approx_rank_pooling_weights(M)
    np.testing.assert_allclose(a, _eq2(M), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(a, _official(M), rtol=1e-12, atol=1e-10)
    assert abs(a.sum()) < 1e-9  # a static clip pools to zero
    if M == 3:
        np.testing.assert_allclose(a, [-4 / 3, 2 / 3, 2 / 3])


def test_alpha_is_the_ranksvm_step_on_time_varying_means():
    """d = sum_t (2t - T - 1) V_t with V_t the mean of frames 1..t equals sum_t alpha_t I_t."""
    rng = np.random.default_rng(0)
    T, D = 13, 7
    frames = rng.standard_normal((T, D))
    V = np.cumsum(frames, 0) / np.arange(1, T + 1)[:, None]
    d = sum((2 * t - T - 1) * V[t - 1] for t in range(1, T + 1))
    np.testing.assert_allclose(approx_rank_pooling_weights(T) @ frames, d, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------ AHDI segments
def _video_with_motion(T: int = 60, size: int = 32, moving: tuple[int, int] = (20, 40)) -> np.ndarray:
    """A bright square on grey that moves 2 px per frame only during ``moving``."""
    clip = np.full((T, size, size, 3), 90, np.uint8)
    x = 4
    for t in range(T):
        if moving[0] <= t < moving[1]:
            x = 4 + (2 * (t - moving[0])) % 16
        clip[t, 10:18, x:x + 8] = 220
    return clip


def test_cluster_segments_put_boundaries_where_the_activity_changes():
    motion = np.r_[np.zeros(30), np.full(20, 2.0), np.zeros(30)]
    clusters = A.motion_clusters(motion, 3)
    np.testing.assert_array_equal(clusters, [[0, 30], [30, 50], [50, 80]])
    seg = A.cluster_segments(motion, 3)
    assert seg[0, 0] == 0 and seg[-1, 1] == 80 and np.all(seg[1:, 0] == seg[:-1, 1])
    bounds = set(seg[:, 0].tolist())
    assert {30, 50} <= bounds  # boundaries at both activity changes
    lengths = seg[:, 1] - seg[:, 0]
    busy = (seg[:, 0] >= 30) & (seg[:, 1] <= 50)
    assert busy.sum() >= 2 and lengths[busy].max() < lengths[~busy].min()  # busy part: shorter segments


def test_ahdi_on_a_video_with_known_motion():
    clip = _video_with_motion()
    res = A.ahdi_details(clip, n_segments=3, segmentation="clusters", patch_mode="normalize", patch_size=5)
    assert res.motion[21:40].mean() > 10 * max(res.motion[1:19].mean(), 1e-3)
    bounds = res.segments[:, 0].tolist() + [int(res.segments[-1, 1])]
    # the flow of frame t is between t-1 and t: the activity starts at 20-21 and stops at 40-41
    assert any(abs(b - 20) <= 1 for b in bounds) and any(abs(b - 40) <= 1 for b in bounds)
    assert res.image.shape == (32, 32, 3) and np.isfinite(res.image).all()
    # the image is zero where nothing ever changed (the background far from the square)
    assert np.abs(res.image[26:, :, :]).max() < 1e-3 * np.abs(res.image).max() + 1e-6


def test_normalize_patch_size_matters_and_mean_patch_is_a_blur():
    rng = np.random.default_rng(3)
    clip = (rng.random((24, 16, 16, 3)) * 255).astype(np.float64)
    motion = np.abs(rng.standard_normal(24))
    kw = {"motion": motion, "segmentation": "clusters", "n_segments": 3}
    # linear reading: patch p is the p x p box blur of the p = 1 image
    base = A.ahdi(torch.from_numpy(clip).permute(3, 0, 1, 2), patch_size=1, **kw)
    blur = A._patch_mean(base[None], 5)[0]
    mean5 = A.ahdi(torch.from_numpy(clip).permute(3, 0, 1, 2), patch_size=5, **kw)
    torch.testing.assert_close(mean5, blur, rtol=1e-6, atol=1e-6 * float(blur.abs().max()))
    # non-linear reading: not a blur of another patch size, and the images differ
    n3, n9 = (A.ahdi(torch.from_numpy(clip).permute(3, 0, 1, 2), patch_size=p, patch_mode="normalize", **kw)
              for p in (3, 9))
    assert not torch.allclose(A._patch_mean(n3[None], 7)[0], n9, atol=1e-2 * float(n9.abs().max()))
    assert float((n3 - n9).abs().mean()) > 0.05 * float(n9.abs().mean())
    # local contrast normalisation: invariant to a gain and an offset of the video
    g = A.ahdi(torch.from_numpy(clip * 2 + 10).permute(3, 0, 1, 2), patch_size=9, patch_mode="normalize",
               patch_floor=8.0, **kw)
    torch.testing.assert_close(g, n9, rtol=1e-4, atol=1e-4 * float(n9.abs().max()))  # floor scaled with the gain
    with pytest.raises(ValueError, match="patch_size >= 3"):
        A.ahdi(clip, patch_size=1, patch_mode="normalize", motion=motion)
    with pytest.raises(ValueError, match="segmentation"):
        A.ahdi(clip, segmentation="kmeans", motion=motion)


def test_contrast_normalisation_removes_gain_and_offset():
    rng = np.random.default_rng(4)
    x = torch.from_numpy(rng.random((5, 3, 12, 12)) * 100)
    a = A.patch_normalize(x, 5, floor=1e-6)
    b = A.patch_normalize(3 * x + 40, 5, floor=3e-6)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ temporal attention pooling
def test_attention_weights_sum_to_one_and_permute_with_the_inputs():
    torch.manual_seed(0)
    pool = TemporalAttention(16)
    f = torch.randn(3, 7, 16)
    w = pool.weights(f)
    torch.testing.assert_close(w.sum(1), torch.ones(3))
    assert (w > 0).all()
    perm = torch.randperm(7)
    torch.testing.assert_close(pool.weights(f[:, perm]), w[:, perm])
    torch.testing.assert_close(pool(f[:, perm]), pool(f))  # the pooled feature ignores the order
    # Eqs. 7-11 by hand
    a = pool.score[2](torch.tanh(pool.score[0](f))).squeeze(-1)
    alpha = torch.exp(a) / torch.exp(a).sum(1, keepdim=True)
    torch.testing.assert_close(pool(f), (alpha[..., None] * f).sum(1))


def test_rank_pooling_of_features_is_eq6():
    f = torch.randn(2, 5, 4, dtype=torch.float64)
    out = make_pooling("rank", 4)(f)
    a = torch.from_numpy(approx_rank_pooling_weights(5))
    torch.testing.assert_close(out, torch.einsum("k,bkd->bd", a, f))


# ------------------------------------------------------------------ backbones
@pytest.mark.parametrize("profile", ["tiny", "standard"])
@pytest.mark.parametrize("model", sorted(set(paper.BACKBONES.values()) | {f"resnet{d}" for d in paper.DEPTHS}))
def test_every_backbone_forward_shape_at_its_profile_input_size(profile, model):
    s = ImageSetup.from_profile(PROFILES[profile])
    cfg, size, note = s.backbone(model)
    assert size >= PROFILES[profile].image_size and note.startswith(model)
    with torch.no_grad():
        reg = get_model(model, **cfg, head="regression").eval()
        assert reg(torch.randn(2, 3, size, size)).shape == (2,)
        cls = get_model(model, **cfg, head="classification", num_outputs=2).eval()
        assert cls(torch.randn(2, 3, size, size)).shape == (2, 2)


def test_paper_labels_map_to_registered_backbones():
    rows = paper.paper_rows("Table 1")
    assert {paper.backbone_of(r) for r in rows} == set(paper.BACKBONES.values())
    assert paper.backbone_of("SDI | ResNet50[56]") == "resnet50"
    with pytest.raises(ValueError, match="unknown backbone"):
        paper.backbone_of("AlexNet")


# ------------------------------------------------------------------ genuine / posed split
def test_genuine_posed_folds_split_by_subject(tmp_path_factory):
    root = real_layout_root(tmp_path_factory, "synth-biovid")
    genuine = open_dataset("biovid", root).samples
    posed = open_dataset("biovid", root, part="posed").samples
    samples = paper.genuine_posed().select([*genuine, *posed])
    values = paper.genuine_posed().values(samples)
    assert set(values) == {0, 1}
    assert {s.subject for s, v in zip(samples, values) if v} == {s.subject for s, v in zip(samples, values) if not v}
    table = paper.subject_split(samples, "group-kfold:2")
    assert len(table) == 2 and (table["subjects in both"] == 0).all()
    assert (table["test genuine videos"] > 0).all() and (table["test posed videos"] > 0).all()
    from pain_lib.experiments.protocols import splits

    for sp in splits(samples, "group-kfold:2"):
        assert not {samples[i].subject for i in sp.train} & {samples[i].subject for i in sp.test}


# ------------------------------------------------------------------ the posed-onset study's data
def test_posed_onset_variants_hold_pa4_and_posed_videos_of_the_same_subjects(tmp_path, monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setenv("PAIN_LIB_DATA", str(tmp_path))
    run = SimpleNamespace(profile=PROFILES["tiny"], params={"synth_seed": 0})
    task = paper.genuine_posed()
    variants = {s: task.select(paper.posed_onset_samples(run, s)) for s in (1.0, 8.0)}
    for samples in variants.values():
        values = task.values(samples)
        assert sorted(values) == [0] * 4 + [1] * 4  # one genuine PA4 and one posed window per tiny subject
        assert {s.sample_id.split("-")[1] for s, v in zip(samples, values) if not v} == {"PA4"}
        assert {s.subject for s, v in zip(samples, values) if v} == {s.subject for s, v in zip(samples, values) if not v}
    slow, fast = ([s.video for s in variants[k]] for k in (1.0, 8.0))
    assert [p.name for p in slow] == [p.name for p in fast] and slow[0].parent != fast[0].parent  # one folder each
    with pytest.raises(ValueError, match="speed-up must be >= 1"):
        paper.posed_onset_samples(run, 0.5)

"""The *binary* paper's pieces: VLAD and the statistics against direct computations, the Eq. 5
bound (an upper bound of the triplet Hamming loss, exact loss-augmented inference, gradients to
the encoder), the Hamming decision on codes with a known answer, the segment sampling, the
pain-level label, and the recipe end to end on a real-layout tree through the engine."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from pain_lib.models.binary_codes import (
    binary_encoder,
    class_codes,
    codes,
    hamming,
    hamming_bound,
    hamming_scores,
    tanh_relaxation,
    triplet_hamming_loss,
)
from pain_lib.papers.binary import (
    BinaryCodeRecipe,
    PainLevel,
    code_costs,
    segment_count,
    snippet_indices,
    triplets,
    video_features,
)
from pain_lib.preprocess.aggregation import aggregate, aggregate_length, vlad

pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------ aggregation
def _vlad_direct(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """VLAD written out: nearest centroid per feature, residual sums, signed sqrt, L2."""
    v = np.zeros_like(c, dtype=np.float64)
    for xi in x:
        k = int(np.argmin([np.sum((xi - ck) ** 2) for ck in c]))
        v[k] += xi - c[k]
    v = np.sign(v) * np.sqrt(np.abs(v))
    v = v.ravel()
    return v / np.linalg.norm(v)


def test_vlad_equals_a_direct_computation():
    rng = np.random.default_rng(0)
    x, c = rng.normal(size=(23, 6)), rng.normal(size=(5, 6))
    got = vlad(torch.tensor(x), torch.tensor(c)).numpy()
    np.testing.assert_allclose(got, _vlad_direct(x, c), atol=1e-6)
    assert got.shape == (30,) and abs(np.linalg.norm(got) - 1) < 1e-6


def test_vlad_of_features_at_the_centroids_is_zero_and_empty_words_stay_zero():
    c = torch.tensor([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    got = vlad(c[:2].clone(), c)
    assert torch.all(got == 0)
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # both nearest to centroid 0
    got = vlad(x, c).reshape(3, 2)
    assert torch.all(got[1:] == 0) and torch.allclose(got[0], torch.tensor([1.0, 2 ** 0.5]) / 3 ** 0.5)


def test_aggregate_is_mean_var_min_max_then_vlad():
    rng = np.random.default_rng(1)
    x, c = rng.normal(size=(9, 4)), rng.normal(size=(3, 4))
    got = aggregate(torch.tensor(x), torch.tensor(c)).numpy()
    want = np.concatenate([x.mean(0), x.var(0), x.min(0), x.max(0), _vlad_direct(x, c)])
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert len(got) == aggregate_length(4, 3)
    stats = aggregate(torch.tensor(x), parts=("mean", "max")).numpy()
    np.testing.assert_allclose(stats, np.concatenate([x.mean(0), x.max(0)]), atol=1e-6)
    with pytest.raises(ValueError, match="codebook"):
        aggregate(torch.tensor(x), parts=("vlad",))
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate(torch.tensor(x), parts=("median",))


# ------------------------------------------------------------------ the loss and its bound
def test_triplet_hamming_loss_counts_bits():
    a = torch.tensor([[1.0, 1, 1, 1]])
    p = torch.tensor([[1.0, -1, 1, 1]])   # 1 bit from a
    n = torch.tensor([[-1.0, -1, -1, 1]])  # 3 bits from a
    assert hamming(a, p).item() == 1 and hamming(a, n).item() == 3
    assert triplet_hamming_loss(a, p, n).item() == 0  # 1 - 3 + 1 < 0
    assert triplet_hamming_loss(a, n, p).item() == 3  # 3 - 1 + 1


def _brute_force_bound(fa, fp, fn):
    """Eq. 5 by enumerating every (g_A, g_P, g_N) in {-1, 1}^q x 3."""
    q = len(fa)
    best = -np.inf
    cube = [np.array(v, float) for v in itertools.product([-1, 1], repeat=q)]
    for ga, gp, gn in itertools.product(cube, repeat=3):
        loss = max(0.0, (q - ga @ gp) / 2 - (q - ga @ gn) / 2 + 1)
        best = max(best, loss + ga @ fa + gp @ fp + gn @ fn)
    return best - np.abs(fa).sum() - np.abs(fp).sum() - np.abs(fn).sum()


def test_bound_is_the_exact_loss_augmented_maximum():
    rng = np.random.default_rng(2)
    for _ in range(5):
        f = rng.normal(size=(3, 3))
        got = hamming_bound(*[torch.tensor(v)[None] for v in f]).item()
        assert got == pytest.approx(_brute_force_bound(*f), abs=1e-9)


def test_bound_is_above_the_triplet_loss_of_random_codes():
    torch.manual_seed(0)
    for q in (1, 8, 64):
        f = torch.randn(3, 2000, q) * torch.rand(1, 2000, 1) * 3
        bound = hamming_bound(f[0], f[1], f[2])
        loss = triplet_hamming_loss(codes(f[0]), codes(f[1]), codes(f[2]))
        assert torch.all(bound >= loss - 1e-5)
        assert (bound > loss + 1e-3).any()  # a bound, not the loss itself
        # tight once the outputs are large and the codes rank the triplet right by a margin
    f = torch.tensor([[[9.0, 9.0]], [[9.0, 9.0]], [[-9.0, -9.0]]])
    assert hamming_bound(f[0], f[1], f[2]).item() == 0 and triplet_hamming_loss(*codes(f)).item() == 0


def test_bound_gradient_reaches_every_encoder_parameter():
    torch.manual_seed(0)
    enc = binary_encoder(in_features=12, bits=16, hidden=(32, 32))
    x = torch.randn(3, 64, 12)
    f = enc(x.reshape(-1, 12)).reshape(3, 64, 16)
    hamming_bound(f[0], f[1], f[2]).mean().backward()
    grads = [p.grad for p in enc.parameters()]
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


def test_training_on_the_bound_lowers_the_triplet_loss():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 20)
    x = torch.tensor(rng.normal(size=(80, 10)) + np.eye(10)[labels] * 3, dtype=torch.float32)
    enc = binary_encoder(in_features=10, bits=64, hidden=(32,))
    opt = torch.optim.Adam(enc.parameters(), lr=1e-2)
    trip = torch.from_numpy(triplets(labels, np.arange(80), 500, rng))

    def loss_of_codes():
        with torch.no_grad():
            h = codes(enc(x))
            return triplet_hamming_loss(h[trip[:, 0]], h[trip[:, 1]], h[trip[:, 2]]).mean().item()

    before = loss_of_codes()
    for _ in range(60):
        f = enc(x)
        loss = hamming_bound(f[trip[:, 0]], f[trip[:, 1]], f[trip[:, 2]]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss_of_codes() < 0.25 * before


def test_tanh_relaxation_equals_the_loss_on_saturated_outputs():
    f = torch.tensor([[[30.0, -30, 30]], [[30.0, 30, 30]], [[-30.0, -30, 30]]])
    assert tanh_relaxation(*f).item() == pytest.approx(triplet_hamming_loss(*codes(f)).item(), abs=1e-5)


# ------------------------------------------------------------------ the Hamming decision
def test_hamming_decision_on_codes_with_a_known_answer():
    q = 8
    c0, c1, c2 = torch.ones(q), -torch.ones(q), torch.tensor([1.0, 1, 1, 1, -1, -1, -1, -1])
    train = torch.stack([c0, c0, c0 * torch.tensor([1.0, 1, 1, 1, 1, 1, 1, -1]), c1, c1, c2])
    labels = np.array([0, 0, 0, 1, 1, 3])  # level 2 absent
    ref, present = class_codes(train, labels, 4, rule="majority")
    assert torch.equal(ref[0], c0) and torch.equal(ref[1], c1) and torch.equal(ref[3], c2)
    assert present.tolist() == [True, True, False, True]
    query = torch.stack([c0 * torch.tensor([1.0, -1, 1, 1, 1, 1, 1, 1]), c1, c2 * torch.tensor([-1.0, 1, 1, 1, 1, 1, 1, 1])])
    scores = hamming_scores(query, ref, present)
    assert scores.argmax(1).tolist() == [0, 1, 3]
    np.testing.assert_array_equal(scores[0], [-1, -7, -(q + 1), -5])  # distances 1, 7, absent, 5
    # nearest neighbour: the distance to the closest training code of each level
    near, present = class_codes(train, labels, 4, rule="nearest")
    scores = hamming_scores(query[:1], near, present)
    np.testing.assert_array_equal(scores[0], [-1, -7, -(q + 1), -5])
    with pytest.raises(ValueError, match="class-code rule"):
        class_codes(train, labels, 4, rule="centroid-ish")


# ------------------------------------------------------------------ segments and triplets
def test_segments_sample_one_frame_in_each_segment():
    rng = np.random.default_rng(0)
    for length, per_segment in [(125, 10), (84, 3), (157, 50), (9, 20)]:
        k = segment_count(length, per_segment)
        assert k == max(1, length // per_segment)
        idx = snippet_indices(length, k, rng=rng, draws=50)
        assert idx.shape == (50, k)
        edges = np.linspace(0, length, k + 1)
        seg = np.searchsorted(edges, idx, side="right") - 1
        assert np.array_equal(seg, np.tile(np.arange(k), (50, 1)))  # frame j lies in segment j
        assert len(np.unique(idx[:, 0])) > 1 or edges[1] < 2  # random within a segment
        mid = snippet_indices(length, k)
        assert mid.shape == (1, k) and np.array_equal(np.searchsorted(edges, mid[0], side="right") - 1, np.arange(k))


def test_triplets_pair_levels_right():
    rng = np.random.default_rng(0)
    labels = np.array([0, 0, 1, 1, 1, 3])
    groups = np.array([0, 1, 2, 3, 4, 5])
    t = triplets(labels, groups, 400, rng)
    assert np.all(labels[t[:, 0]] == labels[t[:, 1]]) and np.all(labels[t[:, 0]] != labels[t[:, 2]])
    assert np.all(groups[t[:, 0]] != groups[t[:, 1]])[()] or True
    multi = np.isin(labels[t[:, 0]], [0, 1])
    assert np.all(groups[t[multi, 0]] != groups[t[multi, 1]])  # another video when the level has one
    assert triplets(np.zeros(5, int), np.arange(5), 10, rng).shape == (0, 3)


def test_raw_features_concatenate_the_snippets():
    f = np.arange(20, dtype=np.float32).reshape(10, 2)
    v = video_features(f, np.array([1, 4, 8]), ("raw",), None)
    assert v.tolist() == [2, 3, 8, 9, 16, 17]


# ------------------------------------------------------------------ the label
def test_pain_level_reads_the_maximum_pspi():
    t = PainLevel()
    assert t.levels(np.array([0, 0.5, 1, 4.9, 5, 8, 9, 15])).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert t.num_outputs == 4 and len(t.describe()) == 4
    with pytest.raises(ValueError, match="increasing"):
        PainLevel((5.0, 1.0))
    # class scores only: the expected level; the trivial baseline's prior gives the training mean
    prior = np.array([0.5, 0.0, 0.25, 0.25])
    out = {"y_true": np.array([0, 3, 2, 0]), "y_score": np.tile(np.log(prior + 1e-6), (4, 1))}
    m = t.score(out)
    assert m["accuracy"] == 0.5 and m["mse"] == pytest.approx(np.mean((np.array([0, 3, 2, 0]) - 1.25) ** 2), rel=1e-4)
    m = t.score({**out, "y_pred": np.array([0.0, 3, 2, 1])})
    assert m["mse"] == 0.25 and m["pcc"] > 0.9


def test_code_costs_pack_bits():
    rng = np.random.default_rng(0)
    c = codes(torch.randn(50, 64)).numpy()
    out = code_costs(c, rng.normal(size=(50, 300)), repeats=2)
    assert out["code_bytes"] == 8 and out["float_bytes"] == 1200
    assert out["code_search_s"] > 0 and out["float_search_s"] > 0


def test_recipe_rejects_bad_settings():
    with pytest.raises(ValueError, match="loss"):
        BinaryCodeRecipe(loss="hinge")
    with pytest.raises(ValueError, match="parts"):
        BinaryCodeRecipe(parts=("mean", "median"))
    with pytest.raises(ValueError, match="class_code"):
        BinaryCodeRecipe(class_code="centroid-ish")


# ------------------------------------------------------------------ end to end through the engine
def test_recipe_runs_through_the_engine_sharing_backbone_features_and_codebook(tmp_path_factory, tmp_path):
    from pain_lib.data import open_dataset
    from pain_lib.experiments import Cell, Store, run_grid
    from tests._synth_data import real_layout_root

    samples = open_dataset("unbc", real_layout_root(tmp_path_factory, "synth-unbc")).samples
    assert all("truth" not in s.meta for s in samples)
    crops, store = tmp_path / "crops", Store(tmp_path / "store")
    common = {"identity_epochs": 1, "epochs": 2, "triplets": 200, "backbone_cfg": {"depth": 26, "base_width": 4}}
    cells = [Cell("bound", "64", BinaryCodeRecipe(**common)),
             Cell("tanh", "64", BinaryCodeRecipe(loss="tanh", **common)),
             Cell("statistics", "64", BinaryCodeRecipe(parts=("mean", "var", "min", "max"), **common))]
    table, fits = run_grid(cells, samples, cv="group-kfold:2", store=store, cache_dir=crops, progress=False)
    assert {"accuracy", "MSE", "PCC"} <= set(table["metric"])
    assert table["baseline"].any()  # trivial and linear baselines on the same folds
    res = fits[("bound", "64")]
    assert res.folds["backbone_source"].iloc[0] == "face-identity-pretraining"
    out = res.pooled()
    assert out["y_score"].shape[1] == 4 and set(np.unique(out["y_pred"])) <= set(range(4))
    stages = store.root / "stages"
    assert len(list(stages.glob("face-identity-*.pt"))) == 2  # one network per fold, shared by all cells
    assert len(list(stages.glob("vlad-codebook-*.pt"))) == 2  # one codebook per fold, shared by both VLAD cells
    again, _ = run_grid(cells, samples, cv="group-kfold:2", store=store, cache_dir=crops, progress=False)
    assert again["reused"].all()

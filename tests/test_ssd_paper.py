"""The ssd paper's library: the affine-hull dissimilarity of Eq. 21 against a long-run reference
solver and its gradient path, the Siamese loss, the pretext baselines' label sets, the 3D
counterparts of Table 3's backbones (a static video through the inflated network equals the 2D
network on one frame), the SSD representation on a video with known statistics and its refusal
of segments longer than half a video, and the paper package's sweeps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pain_lib.experiments import Representation
from pain_lib.experiments.representations import REPRESENTATIONS
from pain_lib.papers import ssd
from pain_lib.papers.ssd import hull as ah
from pain_lib.papers.ssd.pretext import jigsaw_permutations, opn_orders

pytestmark = pytest.mark.usefixtures("one_thread")


def _halves(seed: int, n: int = 5, D: int = 12, shift: float = 0.5):
    g = torch.Generator().manual_seed(seed)
    Hi = torch.randn(n, D, generator=g, dtype=torch.float64)
    Hj = torch.randn(n, D, generator=g, dtype=torch.float64) + shift
    return Hi, Hj


# ------------------------------------------------------------------ affine hulls (Eq. 17)
def test_affine_hull_is_the_mean_and_an_orthonormal_basis_of_the_centred_samples():
    H, _ = _halves(0, n=6, D=10)
    hull = ah.affine_hull(H)
    torch.testing.assert_close(hull.mu, H.mean(0))
    assert hull.U.shape == (10, 5)  # centring removes one dimension
    torch.testing.assert_close(hull.U.T @ hull.U, torch.eye(5, dtype=H.dtype))
    # every sample is mu + U v for some v (it lies in the hull)
    v = (H - hull.mu) @ hull.U
    torch.testing.assert_close(hull.mu + v @ hull.U.T, H)
    with pytest.raises(ValueError, match="n >= 2"):
        ah.affine_hull(H[:1])


# ------------------------------------------------------------------ Eq. 21 vs a reference solver
@pytest.mark.parametrize("seed", range(3))
def test_solver_reaches_the_reference_optimum_of_eq21(seed):
    Hi, Hj = _halves(seed)
    ref_value, ref_z = ah.reference_solution(Hi.numpy(), Hj.numpy())
    sol = ah.solve(Hi, Hj, steps=4000)
    assert float(sol.value) == pytest.approx(ref_value, rel=1e-6, abs=1e-10)
    assert float(sol.value) >= ref_value - 1e-9  # the reference is the minimum
    z = np.concatenate([t.numpy() for t in (sol.v_i, sol.v_j, sol.a, sol.b)])
    np.testing.assert_allclose(z, ref_z, atol=2e-3)
    # lambda2, lambda3 follow Sec. 3.1: 0.1 x the bound above which zero coefficients are optimal
    l1, l2, l3 = sol.lambdas
    assert l1 == 0.01
    assert l2 == pytest.approx(0.1 * float((2 * 0.01 * Hi @ Hi.mean(0)).abs().max()))
    assert l3 == pytest.approx(0.1 * float((2 * 0.01 * Hj @ Hj.mean(0)).abs().max()))
    # the fixed-step solver the pretext trains with is close already, and never below the optimum
    short = float(ah.solve(Hi, Hj, steps=30).value)
    assert ref_value - 1e-9 <= short <= 1.5 * ref_value


def test_the_sparsity_bound_makes_zero_coefficients_optimal():
    Hi, Hj = _halves(4)
    big = (0.01, 1.01 * float(ah.sparsity_bound(ah.affine_hull(Hi))) + 1.0,
           1.01 * float(ah.sparsity_bound(ah.affine_hull(Hj))) + 1.0)
    sol = ah.solve(Hi, Hj, steps=3000, lambdas=big)
    assert float(sol.a.abs().max()) == 0.0 and float(sol.b.abs().max()) == 0.0
    small = ah.solve(Hi, Hj, steps=3000, lambdas=(0.01, 1e-4, 1e-4))
    assert float(small.a.abs().max()) > 0 and float(small.b.abs().max()) > 0


def test_dissimilarity_is_small_for_similar_halves_and_large_for_dissimilar():
    Hi, _ = _halves(5)
    g = torch.Generator().manual_seed(1)
    near = Hi + 0.01 * torch.randn(Hi.shape, generator=g, dtype=Hi.dtype)
    far = torch.randn(Hi.shape, generator=g, dtype=Hi.dtype) + 2.0
    assert float(ah.dissimilarity(Hi, near)) < 0.05 * float(ah.dissimilarity(Hi, far))
    # the same hull (another sample order) is at distance ~0 up to the fidelity terms
    same = float(ah.dissimilarity(Hi, Hi.flip(0), steps=2000))
    assert same < 0.01 * float(ah.dissimilarity(Hi, far))


def test_gradient_of_the_dissimilarity_matches_finite_differences():
    """The unrolled solver's gradient with respect to the features is the derivative of the
    optimal value (checked against central differences of the long-run solution), so the
    pretext's loss reaches the network."""
    Hi, Hj = _halves(6, n=4, D=8)
    lam = ah.solve(Hi, Hj, steps=10).lambdas  # fixed lambdas: the value is a function of H alone
    X = Hi.clone().requires_grad_(True)
    value = ah.dissimilarity(X, Hj, steps=3000, lambdas=lam)
    (grad,) = torch.autograd.grad(value, X)
    assert torch.isfinite(grad).all() and grad.abs().max() > 0
    eps = 1e-5
    g = torch.Generator().manual_seed(2)
    for _ in range(4):
        i, j = int(torch.randint(0, 4, (1,), generator=g)), int(torch.randint(0, 8, (1,), generator=g))
        plus, minus = Hi.clone(), Hi.clone()
        plus[i, j] += eps
        minus[i, j] -= eps
        fd = (ah.reference_solution(plus.numpy(), Hj.numpy(), lam)[0]
              - ah.reference_solution(minus.numpy(), Hj.numpy(), lam)[0]) / (2 * eps)
        assert float(grad[i, j]) == pytest.approx(fd, rel=2e-3, abs=2e-6)


def test_siamese_loss_trains_features_apart_and_together():
    """One optimisation of free features under the Siamese loss: the similar pair's
    dissimilarity falls and the dissimilar pair's rises to the margin."""
    g = torch.Generator().manual_seed(0)
    A = torch.randn(4, 16, generator=g, requires_grad=True)
    A2 = (A.detach() + 0.5 * torch.randn(4, 16, generator=g)).requires_grad_(True)
    B = (A.detach() + 0.1 * torch.randn(4, 16, generator=g)).requires_grad_(True)
    opt = torch.optim.Adam([A, A2, B], lr=0.05)

    def ds():
        f = [torch.nn.functional.normalize(t, dim=1).double() for t in (A, A2, B)]
        return ah.dissimilarity(f[0], f[1], steps=30), ah.dissimilarity(f[0], f[2], steps=30)

    d0 = [float(d.detach()) for d in ds()]
    for _ in range(60):
        opt.zero_grad()
        d_sim, d_dis = ds()
        ssd.siamese_loss(d_sim, d_dis, margin=0.5).backward()
        opt.step()
    d1 = [float(d.detach()) for d in ds()]
    assert d1[0] < 0.5 * d0[0] and d1[1] > max(2 * d0[1], 0.3)


def test_pretext_label_sets():
    orders = opn_orders()
    assert len(orders) == 12 and len(set(orders)) == 12
    assert not any(o[::-1] in orders for o in orders if o != o[::-1])  # an order and its reverse: one class
    perms = jigsaw_permutations(24, seed=0)
    assert len(set(perms)) == 24 and all(sorted(p) == list(range(9)) for p in perms)
    dmin = min(sum(a != b for a, b in zip(p, q)) for i, p in enumerate(perms) for q in perms[i + 1:])
    assert dmin >= 6  # far apart (the paper's selection maximises the minimal Hamming distance)


# ------------------------------------------------------------------ Table 3: inflation of each backbone
@pytest.mark.parametrize("model2d,cfg2d", [("resnet18", {"width": 8}), ("resnet50", {"width": 8}),
                                           ("vgg16", {"width": 8}), ("googlenet", {})],
                         ids=["resnet18", "resnet50", "vgg16", "googlenet"])
def test_static_video_through_each_inflated_counterpart_equals_the_2d_net(model2d, cfg2d):
    torch.manual_seed(0)
    net2d, net3d = ssd.inflated_pair(model2d, cfg2d, head="none")
    with torch.no_grad():  # non-trivial BatchNorm statistics, copied by the inflation
        for m in net2d.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    from pain_lib.models import inflate_2d_to_3d

    inflate_2d_to_3d(net2d, net3d)
    net2d.eval(), net3d.eval()
    _, _, frames = ssd.counterpart_3d(model2d, cfg2d)
    x = torch.randn(2, 3, 32, 32)
    clip = x.unsqueeze(2).expand(-1, -1, max(frames, 4), -1, -1).contiguous()
    with torch.no_grad():
        f2, f3 = net2d.forward_features(x), net3d.forward_features(clip)
        scale = float(f2.abs().max())
        torch.testing.assert_close(f3, f2.unsqueeze(2).expand_as(f3), atol=1e-5 * scale, rtol=1e-4)
    name3d, cfg3d, _ = ssd.counterpart_3d(model2d, cfg2d)
    assert cfg3d["temporal_padding"] == "replicate" and name3d in {"r3d", "res3d", "vgg3d", "inception3d"}


def test_no_counterpart_for_an_unknown_backbone():
    with pytest.raises(ValueError, match="no 3D counterpart of 'xception'"):
        ssd.counterpart_3d("xception", {})


# ------------------------------------------------------------------ SSD representations
def test_ssd_representation_of_a_video_with_known_statistics():
    """A video whose left half is a static texture and whose right half changes by i.i.d.
    Gaussian noise of known variance between the segments: the map is zero on the static half,
    positive on the changing half, and the mean squared change it weights is the noise's."""
    rng = np.random.default_rng(0)
    base = rng.integers(60, 190, (1, 24, 24, 3)).astype(np.float64)
    clip = np.repeat(base, 20, axis=0)
    sigma = 12.0
    clip[10:, :, 12:] += rng.normal(0, sigma, (10, 24, 12, 3))  # segment 2 of l = 10 differs on the right
    clip = clip.clip(0, 255).astype(np.uint8)
    out = REPRESENTATIONS["ssd"][0](clip, segment_length=10, patch=3)  # (3, H, W), [0, 1]^2 units
    assert out.shape == (3, 24, 24)
    assert float(np.abs(out[:, :, :11]).max()) == 0.0  # static left half (one px of block overlap)
    right = out[:, 1:-1, 13:-1]
    assert (right > 0).mean() > 0.95
    d2 = ((clip[10:].astype(float) - clip[:10].astype(float)) / 255) ** 2  # (l, H, W, C)
    noise = d2[:, :, 12:].mean()
    assert noise == pytest.approx((sigma / 255) ** 2, rel=0.15)  # the video's known statistics
    # information-weighted MSE of the changing half: the order of the noise variance
    assert 0.2 * noise < right.mean() < 5 * noise
    # one pair of segments: the map's spatial mean is the weighted MSE of Eq. 6, frame by frame
    from pain_lib.preprocess.ssd import information_weights

    x = torch.from_numpy(clip.astype(np.float64) / 255).permute(3, 0, 1, 2)
    w = information_weights(x[:, :10], x[:, 10:], 3).numpy()  # (C, l, H, W)
    dd = np.moveaxis(d2, -1, 0)
    eq6 = ((w * dd).sum((2, 3)) / w.sum((2, 3))).mean(1)  # per channel
    np.testing.assert_allclose(out.mean((1, 2)), eq6, rtol=1e-4)


def test_ssd_refuses_segments_longer_than_half_a_video():
    clip = np.random.default_rng(0).integers(0, 255, (30, 16, 16, 3)).astype(np.uint8)
    with pytest.raises(ValueError, match=r"segment_length 20 is longer than half of a video of 30 frames; "
                                         r"use segment_length <= 15"):
        Representation("ssd", {"segment_length": 20, "patch": 5}).compute(clip)
    with pytest.raises(ValueError, match="ssd_flow: segment_length 15 is longer than half of a video of 29"):
        Representation("ssd_flow", {"segment_length": 15, "patch": 5}).compute(clip)


def test_sweeps_and_long_enough_videos():
    from pain_lib.config import get_profile
    from pain_lib.data.base import Sample

    assert ssd.segment_lengths(get_profile("standard")) == [5, 10, 20, 30, 40, 60]
    assert ssd.segment_lengths(get_profile("tiny")) == [10, 20]  # the two nearest the paper's 20
    assert ssd.patch_sizes(get_profile("tiny")) == [3, 5]
    vids = [Sample("s", f"v{n}", [f"{i}.png" for i in range(n)], None, 30.0, {}, None, {}) for n in (39, 40, 120)]
    assert [s.sample_id for s in ssd.videos_for_segment(vids, 20)] == ["v40", "v120"]
    assert [s.sample_id for s in ssd.videos_for_segment(vids, 20, flow=True)] == ["v120"]
    assert ssd.other_dataset("synth-unbc") == "synth-biovid" and ssd.other_dataset("biovid") == "unbc"


def test_advantage_trend_reads_the_ends_of_the_gap_sweep():
    import pandas as pd

    def rows(a, b, learned=(True, True)):
        return pd.DataFrame([{"setting": "gap 0", "difference": a[0], "lo": a[1], "hi": a[2], "learned": learned[0]},
                             {"setting": "gap 2", "difference": b[0], "lo": b[1], "hi": b[2], "learned": learned[1]}])

    assert ssd.advantage_trend(rows((1, -2, 4), (12, 6, 18)))[0] == "agrees"
    assert ssd.advantage_trend(rows((12, 6, 18), (1, -2, 4)))[0] == "disagrees"
    assert ssd.advantage_trend(rows((1, -2, 7), (6, 3, 9)))[0] == "cannot tell"  # bands overlap
    # a network that did not learn at the widest gap is the curve falling, not a reason to skip
    assert ssd.advantage_trend(rows((1, -2, 4), (12, 6, 18), (True, False)))[0] == "agrees"
    assert ssd.advantage_trend(rows((1, -2, 4), (12, 6, 18), (False, True)))[0] == "not tested (did not learn)"
    assert ssd.advantage_trend(rows((1, -2, 4), (12, 6, 18)).iloc[:1])[0] == "cannot tell"


def test_domain_gap_pair_moves_only_the_target_domain(tmp_path, monkeypatch):
    """Gap 0 and gap 1 share the source set and the target's subjects; the gap-0 target has the
    source's background colour, refused gaps raise."""
    from types import SimpleNamespace

    from pain_lib.data.video import read_clip
    from pain_lib.synth.scales import get_scale

    monkeypatch.setenv("PAIN_LIB_DATA", str(tmp_path))
    run = SimpleNamespace(profile=SimpleNamespace(synth_scale="tiny"), params={"synth_seed": 0})
    src0, tgt0 = ssd.domain_gap_pair(run, 0.0)
    src1, tgt1 = ssd.domain_gap_pair(run, 1.0)
    assert [s.sample_id for s in src0] == [s.sample_id for s in src1]
    assert {s.subject for s in tgt0} == {s.subject for s in tgt1}
    assert {s.labels["class"] for s in tgt0} == {0, 4}  # only the classes the task reads
    corner = {g: read_clip(t[0], [0])[0, :6, :6].reshape(-1, 3).mean(0) for g, t in ((0, tgt0), (1, tgt1))}
    unbc_bg = np.array(get_scale("synth-unbc", "tiny").domain.bg_rgb)
    assert np.abs(corner[0] - unbc_bg).sum() < np.abs(corner[1] - unbc_bg).sum()
    with pytest.raises(ValueError, match="finite number >= 0"):
        ssd.domain_gap_pair(run, -0.5)

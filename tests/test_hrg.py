"""The hrg paper's library: the network of Table I (mid-widths, attention positions, sharing),
the analyzer's gradient against Eqs. 10-11, HRG labels on subjects with a known heart-rate
response (ECG and rPPG), key frames on a video with known cuts, and the t-test against scipy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from pain_lib.data.base import Sample
from pain_lib.models import conv2plus1d_midplanes, get_model
from pain_lib.models.hrg_net import HRGBlock
from pain_lib.papers import hrg
from pain_lib.preprocess import select_key_frames

pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------ network (Table I)
@pytest.mark.parametrize("width", [8, 64])
def test_every_2plus1d_conv_has_the_mid_width_of_the_3d_conv_it_replaces(width):
    with torch.device("meta"):
        net = get_model("hrg_dual", classes=5, base_width=width)
    convs = net.factorised_convs()
    assert len(convs) == 2 * (3 + 2 * 2)  # two factorised convs per block: 3 shared blocks, 2 per branch
    for name, spatial, temporal in convs:
        n_in, n_out = spatial.in_channels, temporal.out_channels
        m = (3 * 9 * n_in * n_out) // (9 * n_in + 3 * n_out)  # M_i = floor(t d² N_{i-1} N_i / (d² N_{i-1} + t N_i))
        assert spatial.out_channels == temporal.in_channels == m == conv2plus1d_midplanes(n_in, n_out, (3, 3, 3)), name
        assert spatial.kernel_size == (1, 3, 3) and temporal.kernel_size == (3, 1, 1)
        full = 27 * n_in * n_out
        fact = spatial.weight.numel() + temporal.weight.numel()
        assert full - (9 * n_in + 3 * n_out) < fact <= full  # the full conv's parameters, up to the floor
    # both branches: the same widths, their own parameters
    pairs = [(n, s) for n, s, _ in convs if n.startswith(("visual", "physiological"))]
    assert {n.split(".")[0] for n, _ in pairs} == {"visual", "physiological"}
    assert net.visual is not net.physiological


def test_the_network_matches_table_1_and_its_variants():
    t = hrg.table1_rows(base_width=64, clip_len=32, size=112)
    sizes = t[t["metric"] == "output_size"].set_index("row")["value"]
    assert sizes["Shared Blocks | Conv3D"] == "L×56×56"
    assert sizes["Shared Blocks | R(2+1)D (L/4×14×14)"] == "L/4×14×14"
    assert sizes["Visual/Physiological Branch | R(2+1)D (L/8×7×7)"] == "L/8×7×7"
    total = float(t[(t["row"] == "Total")]["value"].iloc[0])
    with torch.device("meta"):
        net = get_model("hrg_dual", classes=5, base_width=64)
    assert total == sum(p.numel() for p in net.parameters())
    x = torch.randn(2, 3, 8, 32, 32)
    for conv_type in ("c3d", "r3d", "r2plus1d"):
        for pos in range(6):
            n = get_model("hrg_dual", classes=5, base_width=4, conv_type=conv_type, attention_position=pos).eval()
            out = n(x)
            assert out.shape == (2, 3 * 5 + 1) and torch.isfinite(out).all()
            att = n.attention_modules()
            assert set(att) == (set() if pos == 0 else {"shared"} if pos < 5 else {"visual", "physiological"})
    c3d = get_model("hrg_dual", base_width=4, conv_type="c3d")
    assert not any(b.residual for b in c3d.modules() if isinstance(b, HRGBlock))
    full = get_model("hrg_dual", base_width=4, shared="full")
    part = get_model("hrg_dual", base_width=4)
    assert full.visual is full.physiological
    assert sum(p.numel() for p in full.parameters()) < sum(p.numel() for p in part.parameters())
    with pytest.raises(ValueError, match="attention_position"):
        get_model("hrg_dual", attention_position=6)


def test_attention_is_eq_1_and_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    net = get_model("hrg_dual", classes=2, base_width=4)
    for m in net.modules():  # undo the zero-init of residual BNs so every parameter gets a gradient
        if isinstance(m, torch.nn.BatchNorm3d):
            torch.nn.init.ones_(m.weight)
    x = torch.randn(2, 3, 8, 32, 32)
    out = net(x)
    parts = net.split(out)
    (parts["visual"].sum() + parts["hrg"].sum() + parts["feature"].sum() + parts["decision"].sum()).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    att = net.attention_modules()["visual"]
    f = torch.randn(1, 16, 2, 4, 4)
    a = torch.sigmoid(att.w2(torch.tanh(att.w1(f))))
    torch.testing.assert_close(att(f), a * f)
    assert att.last_map.shape == (1, 1, 2, 4, 4)


# ------------------------------------------------------------------ analyzer (Eqs. 2-5, 10-12)
def test_analyzer_gradient_matches_eqs_10_and_11():
    an = hrg.GaussianAnalyzer([0.2, 0.45, 0.8], [0.1, 0.15, 0.12])
    pv = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    mu, sigma = an.mu.double(), an.sigma.double()
    for h0 in (0.1, 0.4, 0.65, 0.9):
        for i in range(3):
            h = torch.tensor([h0], dtype=torch.float64, requires_grad=True)
            z = (h[:, None] - mu) / sigma
            lik = torch.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * sigma)  # Eq. 2
            pf = pv * lik / lik.sum(1, keepdim=True)  # Eqs. 4-5
            (g,) = torch.autograd.grad(pf[0, i], h)
            np.testing.assert_allclose(g.item(), hrg.eq10_gradient(h0, pv.numpy(), mu.numpy(), sigma.numpy())[i],
                                       rtol=1e-9, atol=1e-12)
            # Eq. 12: dP_f,i / dP_v,i = P_h,i
            pvr = pv.clone().requires_grad_(True)
            (gv,) = torch.autograd.grad((pvr * lik.detach() / lik.detach().sum())[0, i], pvr)
            assert gv[i].item() == pytest.approx((lik / lik.sum())[0, i].item())
    # the library's posterior is Eq. 4 and sums to one; fusion keeps the product's argmax
    h = torch.linspace(0, 1, 11)
    lik = an.likelihood(h)
    torch.testing.assert_close(an.posterior(h), lik / lik.sum(1, keepdim=True))
    log_pv = torch.log_softmax(torch.randn(11, 3), 1)
    fused = hrg.fuse_log_probabilities(log_pv, an.log_posterior(h))
    torch.testing.assert_close(fused.exp().sum(1), torch.ones(11))
    assert (fused.argmax(1) == (log_pv.exp() * an.posterior(h)).argmax(1)).all()


def test_analyzer_fits_per_level_gaussians_on_the_given_values():
    rng = np.random.default_rng(0)
    lv = np.repeat(np.arange(5), 200)
    h = rng.normal(0.1 + 0.2 * lv, 0.05)
    an = hrg.GaussianAnalyzer.fit(h, lv, 5)
    np.testing.assert_allclose(an.mu.numpy(), [h[lv == i].mean() for i in range(5)], rtol=1e-5)
    np.testing.assert_allclose(an.sigma.numpy(), [h[lv == i].std() for i in range(5)], rtol=1e-5)
    post = an.posterior(torch.tensor([0.2, 0.8]))
    assert post[0].argmax() < post[1].argmax()  # Fig. 14: a larger HRG favours higher levels


# ------------------------------------------------------------------ HRG labels with a known response
def _write_ecg(path, bpm, seconds=10.0, fs=512):
    import neurokit2 as nk

    ecg = nk.ecg_simulate(duration=seconds, sampling_rate=fs, heart_rate=bpm, noise=0.01, random_state=1)
    t = (np.arange(len(ecg)) / fs * 1e6).astype(np.int64)
    with open(path, "w") as fh:
        fh.write("time\tgsr\tecg\temg_trapezius\n")
        for ti, e in zip(t, ecg):
            fh.write(f"{ti}\t1.0\t{e:.6f}\t0.0\n")


def test_hrg_labels_from_the_ecg_follow_a_known_heart_rate_response(tmp_path):
    rates = {0: 60.0, 2: 66.0, 4: 72.0}  # +20 % at level 4
    samples = []
    for subject, base in (("a", 1.0), ("b", 1.25)):
        for level, bpm in rates.items():
            p = tmp_path / f"{subject}-{level}_bio.csv"
            _write_ecg(p, bpm * base)
            samples.append(Sample(subject, f"{subject}-{level}", None, tmp_path / "none.mp4", 25.0,
                                  {"class": level}, physiology=p))
    target = hrg.hrg_target(source="ecg")
    hr, where = target.heart_rates(samples)
    assert set(where) == {"ecg"}
    np.testing.assert_allclose(hr, [bpm * b for b in (1.0, 1.25) for bpm in rates.values()], rtol=0.02)
    g = target.values(samples)  # HRG = HR / mean HR at level 0, per subject: the subject's baseline cancels
    np.testing.assert_allclose(g, [1.0, 1.1, 1.2] * 2, atol=0.02)


def _pulse_frames(n, fps, bpm, rng, amp=1.5, phase=0.0):
    t = np.arange(n) / fps
    base = np.array([200.0, 150.0, 120.0])  # skin (inside the YCrCb box)
    pulse = amp * np.sin(2 * np.pi * bpm / 60 * t + phase)  # each sweep filmed on its own: a new phase
    img = base[None, :] + np.array([0.3, 1.0, 0.5])[None, :] * pulse[:, None]
    frames = np.repeat(np.repeat(img[:, None, None, :], 24, 1), 24, 2) + rng.normal(0, 0.3, (n, 24, 24, 3))
    return np.clip(np.round(frames), 0, 255).astype(np.uint8)


def test_hrg_labels_from_rppg_use_the_trials_recording_around_a_short_sweep(tmp_path):
    """MIntPAIN layout: sweeps of 12 frames at 15 fps (0.8 s) -- too short alone; over 6 s of the
    trial's recording the known heart rates come back, and so does the HRG."""
    import cv2

    fps, rng = 15.0, np.random.default_rng(0)
    samples = []
    for subject, base in (("Sub1 A B", 70.0), ("Sub2 C D", 90.0)):
        for trial, level in ((1, 0), (2, 4)):
            tdir = tmp_path / subject / f"Annotated_data_Sub0{subject[3]}_Trial0{trial}"
            bpm = base * (1.0 if level == 0 else 1.2)
            clock = 0
            for s in range(1, 9):  # every sweep of a trial at one level: the window sees that level only
                sdir = tdir / f"Sub0{subject[3]}_Trial0{trial}_Sweep{s:02d}_Label{level}" / "RGB"
                sdir.mkdir(parents=True)
                frames = _pulse_frames(12, fps, bpm, rng, phase=rng.uniform(0, 2 * np.pi))
                files = []
                for f in frames:
                    clock += 1
                    p = sdir / f"RGB-10-00-{clock // 15:02d}-{(clock % 15) * 66:03d}.jpg"
                    cv2.imwrite(str(p), f[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 100])
                    files.append(p)
                if s == 4:
                    samples.append(Sample(subject, sdir.parent.name, files, None, fps, {"level": level, "class": level},
                                          meta={"trial": trial, "sweep": s}))
    segs = hrg.context_segments(samples[0], 6.0)
    assert sum(len(x) for x in segs) >= 90 and all(len(x) == 12 for x in segs)
    target = hrg.hrg_target(source="rppg", context_s=6.0)
    hr, where = target.heart_rates(samples)
    assert set(where) == {"rppg-pos"}
    np.testing.assert_allclose(hr, [70, 84, 90, 108], atol=4.0)
    np.testing.assert_allclose(target.values(samples), [1.0, 1.2, 1.0, 1.2], atol=0.06)


# ------------------------------------------------------------------ key frames on a video with known cuts
def test_key_frames_avoid_the_cuts_of_a_video():
    rng = np.random.default_rng(0)
    cuts = [7, 15, 20, 31]  # frames that start a new shot
    colours = rng.integers(30, 220, (len(cuts) + 1, 3))
    shot = np.searchsorted(cuts, np.arange(36), side="right")
    frames = np.stack([np.full((16, 16, 3), colours[s]) + rng.integers(0, 3, (16, 16, 3)) for s in shot]).astype(np.uint8)
    keys = select_key_frames(frames, 6)
    assert len(keys) == 6 and (np.diff(keys) > 0).all()
    assert not set(keys) & set(cuts)  # the frame with the least change in its window is never a cut
    assert all(w * 6 <= k < (w + 1) * 6 for w, k in enumerate(keys))
    sampler = hrg.KeyFrameSkip(3, window=6, skip=2)
    pos, idx = sampler.evaluate([36], frames=[torch.from_numpy(frames)])
    assert pos.tolist() == [0, 0]
    assert idx.tolist() == [keys[[0, 2, 4]].tolist(), keys[[1, 3, 5]].tolist()]  # every offset of the skipped key frames
    pos, idx = sampler.train([36], per_sample=4, rng=np.random.default_rng(1), frames=[torch.from_numpy(frames)])
    assert set(idx.ravel()) <= set(keys) and (np.diff(np.searchsorted(keys, idx), axis=1) == 2).all()


# ------------------------------------------------------------------ significance (Tables IV-VI)
def test_two_sample_ttest_equals_scipy():
    rng = np.random.default_rng(3)
    for na, nb in ((5, 5), (14, 9), (87, 87)):
        a, b = rng.normal(0.8, 0.1, na), rng.normal(0.72, 0.12, nb)
        ours = hrg.two_sample_ttest(a, b)
        ref = stats.ttest_ind(a, b, equal_var=True)
        assert ours["statistic"] == pytest.approx(ref.statistic, rel=1e-12)
        assert ours["pvalue"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert hrg.star([0.9, 0.95, 0.92, 0.91], [0.5, 0.55, 0.6, 0.52]) == "*"
    assert hrg.star([0.5, 0.55, 0.6, 0.52], [0.9, 0.95, 0.92, 0.91]) == ""  # better, not worse
    assert hrg.star([0.9], [0.5, 0.6]) == "n/a"

"""rPPG (POS, CHROM), ECG heart rate and heart-rate gain."""

import numpy as np
import pytest

from pain_lib.preprocess import ecg, hrg, rppg
from pain_lib.preprocess.reference import pos_signal_reference

SKIN = np.array([190.0, 140.0, 110.0])  # RGB skin tone inside the YCrCb skin box
PULSE_DIR = np.array([0.33, 0.77, 0.53])  # relative pulsatile strength per channel (R, G, B)


def pulse_clip(bpm, seconds, fps=25.0, size=16, amp=1.0, noise=2.0, seed=0):
    """Skin-coloured uint8 RGB clip with a known pulse, pixel noise and a slow illumination drift."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * fps))) / fps
    drift = 1.0 + 0.06 * np.sin(2 * np.pi * 0.05 * t + 0.3) + 0.01 * t / seconds  # slow, multiplicative
    pulse = np.sin(2 * np.pi * bpm / 60.0 * t)
    colour = SKIN[None] * drift[:, None] * (1 + amp / SKIN[None] * PULSE_DIR[None] * pulse[:, None] / 0.77)
    clip = colour[:, None, None, :] + rng.normal(0, noise, (len(t), size, size, 3))
    clip[:, :2, :2] = (20, 200, 40)  # a few non-skin pixels the YCrCb mask must drop
    return np.clip(np.round(clip), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("method", ["pos", "chrom"])
@pytest.mark.parametrize("bpm", [58.0, 75.0, 96.0, 124.0])
def test_recovers_pulse_on_20s_clips(method, bpm):
    clip = pulse_clip(bpm, 20.0, seed=int(bpm))
    trace = rppg.rgb_trace(clip)
    assert trace.shape == (len(clip), 3)
    assert abs(rppg.estimate_heart_rate(trace, 25.0, method) - bpm) < 3.0


@pytest.mark.parametrize("method", ["pos", "chrom"])
@pytest.mark.parametrize("peak", ["fft", "welch"])
@pytest.mark.parametrize("bpm", [66.0, 88.0, 110.0])
def test_degrades_gracefully_on_5s_clips(method, peak, bpm):
    clip = pulse_clip(bpm, 5.5, seed=int(bpm) + 1)
    est = rppg.estimate_heart_rate(rppg.rgb_trace(clip), 25.0, method, peak=peak)
    assert abs(est - bpm) < 8.0


def test_bgr_order_matters_for_the_skin_mask():
    clip = pulse_clip(80.0, 4.0)
    assert rppg.skin_mask_ycrcb(clip).mean() > 0.9
    assert rppg.skin_mask_ycrcb(clip[..., ::-1]).mean() < 0.1  # BGR read as RGB is not skin


def test_pos_vectorised_equals_reference_loop():
    trace = rppg.rgb_trace(pulse_clip(72.0, 6.0))
    np.testing.assert_allclose(rppg.pos_signal(trace, 25.0), pos_signal_reference(trace, 25.0),
                               rtol=1e-9, atol=1e-12)


def test_trace_masks():
    clip = pulse_clip(70.0, 1.0)
    full = rppg.rgb_trace(clip, "all")
    np.testing.assert_allclose(full, clip.reshape(len(clip), -1, 3).mean(1))
    m = np.zeros(clip.shape[1:3], bool)
    m[4:8, 4:8] = True
    np.testing.assert_allclose(rppg.rgb_trace(clip, m), clip[:, 4:8, 4:8].reshape(len(clip), -1, 3).mean(1))


@pytest.mark.parametrize("bpm", [62, 85, 110])
def test_ecg_heart_rate_matches_simulation(bpm):
    nk = pytest.importorskip("neurokit2")
    sig = nk.ecg_simulate(duration=20, sampling_rate=512, heart_rate=bpm, noise=0.02, random_state=bpm)
    assert abs(ecg.ecg_heart_rate(sig, 512) - bpm) < 2.0


def test_ecg_bad_input():
    with pytest.raises(ValueError, match="constant"):
        ecg.ecg_heart_rate(np.zeros(2048), 512)
    with pytest.raises(ValueError, match="at least 512 samples"):
        ecg.ecg_heart_rate(np.zeros(100), 512)


def test_heart_rate_gain_and_normaliser():
    hr = np.array([60.0, 66.0, 72.0, 80.0, 88.0, 96.0])
    subj = np.array(["a", "a", "a", "b", "b", "b"])
    pain = np.array([0, 0, 4, 0, 2, 4])
    g = hrg.heart_rate_gain(hr, subj, pain)
    np.testing.assert_allclose(g, [60 / 63, 66 / 63, 72 / 63, 1.0, 1.1, 1.2])
    train, test = g[[0, 1, 2, 3]], g[[4, 5]]
    norm = hrg.HRGNormalizer().fit(train)
    np.testing.assert_allclose(norm.transform(train).min(), 0.0)
    np.testing.assert_allclose(norm.transform(train).max(), 1.0)
    out = norm.transform(test)  # min/max come from training only
    np.testing.assert_allclose(out, np.clip((test - train.min()) / (train.max() - train.min()), 0, 1))
    n2 = hrg.HRGNormalizer.from_state_dict(norm.state_dict())
    np.testing.assert_allclose(n2.transform(test), out)
    with pytest.raises(ValueError, match="subject"):
        hrg.heart_rate_gain(hr, subj, np.array([1, 1, 1, 0, 0, 0]))
    with pytest.raises(ValueError, match="fit"):
        hrg.HRGNormalizer().transform(test)


def test_sample_heart_rate_prefers_ecg():
    nk = pytest.importorskip("neurokit2")
    sig = nk.ecg_simulate(duration=10, sampling_rate=512, heart_rate=70, random_state=1)
    hr, src = hrg.sample_heart_rate(ecg=sig, frames=pulse_clip(100.0, 10.0), fps=25.0)
    assert src == "ecg" and abs(hr - 70) < 2
    hr, src = hrg.sample_heart_rate(frames=pulse_clip(100.0, 10.0), fps=25.0)
    assert src == "rppg-pos" and abs(hr - 100) < 3

"""Key frames equal a brute-force search; optical flow recovers a known shift."""

import numpy as np
import pytest

from pain_lib.preprocess import flow as F
from pain_lib.preprocess import keyframes as K


def _brute_force_key_frames(clip, window, bins):
    T = len(clip)

    def hist(f):
        h = [np.histogram(f[..., c], bins=bins, range=(0, 256))[0] / f[..., c].size for c in range(3)]
        return np.concatenate(h)

    def chi2(a, b):
        return 0.5 * sum((x - y) ** 2 / (x + y) for x, y in zip(a, b) if x + y > 0)

    d = [chi2(hist(clip[t - 1]), hist(clip[t])) for t in range(1, T)]
    d = [d[0]] + d
    keys = []
    for s in range(0, T, window):
        ds = d[s:s + window]
        keys.append(s + int(np.argmin(ds)))
    return keys


@pytest.mark.parametrize("T,window,bins", [(20, 6, 32), (17, 6, 16), (9, 4, 8)])
def test_key_frames_equal_brute_force(T, window, bins):
    rng = np.random.default_rng(T)
    base = rng.integers(0, 256, (12, 12, 3))
    # frames whose histograms change by varying amounts
    clip = np.stack([np.clip(base + rng.normal(0, rng.uniform(1, 40), base.shape), 0, 255)
                     for _ in range(T)]).astype(np.uint8)
    keys = K.select_key_frames(clip, window, bins=bins)
    assert list(keys) == _brute_force_key_frames(clip, window, bins)
    assert len(keys) == -(-T // window)


def test_frame_skip_sampling():
    s = K.frame_skip_sampling(10, 3)
    assert [list(x) for x in s] == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    s = K.frame_skip_sampling(10, 3, clip_len=4)
    assert [list(x) for x in s] == [[0, 3, 6, 9]]


NO_TVL1 = "TV-L1 needs cv2.optflow (opencv-contrib-python), which is not installed"


def _shifted_pair(dx, dy):
    """A blurred random texture and the same texture moved by (dx, dy) pixels (integers)."""
    import cv2

    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur(rng.integers(0, 256, (80, 80)).astype(np.float32), (0, 0), 2.0)
    a = big[10:58, 10:58]
    b = big[10 - dy:58 - dy, 10 - dx:58 - dx]  # b(y, x) = a(y - dy, x - dx)
    return np.stack([a, b])[..., None].repeat(3, -1).astype(np.uint8)


@pytest.mark.parametrize(
    "method", ["farneback", "dis", pytest.param("tvl1", marks=pytest.mark.skipif(not F.tvl1_available(), reason=NO_TVL1))]
)
@pytest.mark.parametrize("dx,dy", [(2, 0), (-1, 2)])
def test_flow_recovers_shift(method, dx, dy):
    fl = F.optical_flow(_shifted_pair(dx, dy), method)
    assert fl.shape == (1, 48, 48, 2)
    inner = fl[0, 12:-12, 12:-12]
    assert abs(np.median(inner[..., 0]) - dx) < 0.3 and abs(np.median(inner[..., 1]) - dy) < 0.3


@pytest.mark.skipif(F.tvl1_available(), reason="TV-L1 is installed: there is no fallback to check")
def test_tvl1_fallback_is_dis_and_recovers_the_shift():
    """Without cv2.optflow, ``"tvl1"`` gives DIS's flow exactly (so the shift, too)."""
    clip = _shifted_pair(-1, 2)
    F._warned_tvl1 = False
    with pytest.warns(RuntimeWarning, match="opencv-contrib-python"):
        fl = F.optical_flow(clip, "tvl1")
    np.testing.assert_array_equal(fl, F.optical_flow(clip, "dis"))
    inner = fl[0, 12:-12, 12:-12]
    assert abs(np.median(inner[..., 0]) + 1) < 0.3 and abs(np.median(inner[..., 1]) - 2) < 0.3


def test_flow_encodings():
    fl = np.zeros((2, 4, 4, 2), np.float32)
    fl[0, ..., 0] = 1.0  # rightwards
    mag, ang = F.flow_magnitude_angle(fl)
    assert np.allclose(mag[0], 1) and np.allclose(ang[0], 0) and np.allclose(mag[1], 0)
    rgb = F.flow_to_rgb(fl)
    assert rgb.shape == (2, 4, 4, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0, 0]) == (255, 0, 0) and rgb[1].max() == 0  # hue 0 = red; zero = black
    uvm = F.flow_to_rgb(fl, mode="uvm")
    assert tuple(uvm[0, 0, 0]) == (255, 128, 255) and tuple(uvm[1, 0, 0]) == (128, 128, 0)


def test_tvl1_falls_back_with_a_clear_message():
    clip = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3)).astype(np.uint8)
    if F.tvl1_available():
        assert F.optical_flow(clip, "tvl1").shape == (2, 16, 16, 2)
    else:
        F._warned_tvl1 = False
        with pytest.warns(RuntimeWarning, match="opencv-contrib-python"):
            out = F.optical_flow(clip, "tvl1")
        assert out.shape == (2, 16, 16, 2)

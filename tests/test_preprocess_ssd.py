"""SSD: static video -> zero, weight monotone in sigma_v^2, finite, equal to the loop reference."""

import numpy as np
import pytest
import torch

from pain_lib.preprocess import ssd
from pain_lib.preprocess.reference import ssd_map_reference


def test_static_video_gives_zero_map():
    frame = np.random.default_rng(0).integers(0, 256, (10, 12, 3)).astype(np.uint8)
    clip = np.repeat(frame[None], 16, axis=0)
    out = ssd.ssd_map(clip, segment_length=4, patch=3)
    assert out.shape == (10, 12, 3)
    assert np.abs(out).max() == 0.0


def test_gsm_weight_grows_with_sigma_v2():
    lam = torch.tensor([1e-4, 1e-3, 5e-3, 2e-2], dtype=torch.float64)
    var_v = torch.logspace(-8, -1, 30, dtype=torch.float64)
    for g in (0.0, 0.7, 1.5):
        for alpha2 in (0.0, 0.3, 2.0):
            w = ssd.gsm_weight(var_v, torch.full_like(var_v, g), torch.full_like(var_v, alpha2), lam)
            assert torch.all(torch.diff(w) > 0), (g, alpha2)
    # and equals the printed closed form at one point
    sn = 0.4 / 255.0**2  # IW-SSIM's sigma_nsq = 0.4 grey levels^2 (Wang & Li 2011), on the [0, 1] scale
    v, g, a2 = 1e-3, 0.8, 1.3
    expect = 0.5 * sum(np.log(1 + v / sn + (v / sn**2 + (1 + g * g) / sn) * a2 * lk) for lk in lam.tolist())
    got = ssd.gsm_weight(*(torch.tensor(q, dtype=torch.float64) for q in (v, g, a2)), lam)
    assert abs(float(got) - expect) < 1e-9 * abs(expect)


def test_noise_variance_is_iw_ssims():
    from pain_lib.preprocess import reference

    assert ssd.SIGMA_N2 == pytest.approx(6.151480199923107e-06, rel=1e-12) == reference.SIGMA_N2


def test_vectorised_equals_per_pixel_reference():
    rng = np.random.default_rng(1)
    clip = rng.integers(0, 256, (13, 7, 9, 3)).astype(np.uint8)  # 3 segments of 4 (+1 dropped)
    ref = ssd_map_reference(clip, 4, 3)
    out64 = ssd.ssd_map(clip, 4, 3, dtype=torch.float64)
    np.testing.assert_allclose(out64, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
    out32 = ssd.ssd_map(clip, 4, 3)  # default float32 stays close
    np.testing.assert_allclose(out32, ref, rtol=1e-3, atol=1e-4 * np.abs(ref).max())


def test_weights_match_reference_with_5x5_patches_and_tiles():
    rng = np.random.default_rng(2)
    X = torch.from_numpy(rng.random((3, 5, 8, 8)))
    Y = torch.from_numpy(rng.random((3, 5, 8, 8)))
    w1 = ssd.information_weights(X, Y, 5, tile=1)
    w5 = ssd.information_weights(X, Y, 5, tile=5)
    torch.testing.assert_close(w1, w5)
    clip = np.concatenate([X.permute(1, 2, 3, 0).numpy(), Y.permute(1, 2, 3, 0).numpy()]) * 255
    ref = ssd_map_reference(clip, 5, 5)
    out = ssd.ssd_map(clip, 5, 5, dtype=torch.float64)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_output_is_finite_for_random_valid_inputs(seed):
    rng = np.random.default_rng(seed)
    T = int(rng.integers(6, 20))
    seg_len = int(rng.integers(2, T // 2 + 1))
    H, W = (int(v) for v in rng.integers(3, 12, 2))
    kind = seed % 3
    if kind == 0:
        clip = rng.integers(0, 256, (T, H, W, 3)).astype(np.uint8)
    elif kind == 1:  # near-constant with a few flat channels and extreme values
        clip = np.full((T, H, W, 3), 255, np.uint8)
        clip[..., 0] = 0
        clip[rng.random((T, H, W)) < 0.05, 1] = 254
    else:
        clip = (rng.random((T, H, W, 3)) ** 8 * 255).astype(np.float32)
    out = ssd.ssd_map(clip, seg_len, 3)
    assert out.shape == (H, W, 3)
    assert np.isfinite(out).all() and (out >= 0).all()


def test_motion_shows_up_where_it_happens():
    rng = np.random.default_rng(3)
    clip = np.repeat(rng.integers(60, 200, (1, 16, 16, 3)), 24, axis=0).astype(np.uint8)
    clip[12:, 4:8, 4:8] = 250  # a patch changes between segments 1 and 2 (l = 6)
    out = ssd.ssd_map(clip, 6, 3)
    inside = out[4:8, 4:8].mean()
    assert inside > 10 * out[10:, 10:].mean() and out[12:, 12:].max() == 0


def test_flow_ssd_shape():
    rng = np.random.default_rng(4)
    clip = rng.integers(0, 256, (9, 16, 16, 3)).astype(np.uint8)
    from pain_lib.preprocess import flow

    flow._warned_tvl1 = False
    with pytest.warns(RuntimeWarning, match="opencv-contrib-python") if not _tvl1() else _nullctx():
        out = ssd.ssd_flow_map(clip, 4, 3)
    assert out.shape == (16, 16, 3) and np.isfinite(out).all()


def _tvl1():
    from pain_lib.preprocess.flow import tvl1_available

    return tvl1_available()


class _nullctx:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_one_map_per_consecutive_pair_and_torch_layout():
    clip = torch.from_numpy(np.random.default_rng(5).random((3, 23, 6, 7)))  # (C,T,H,W), l=5 -> 4 segments
    maps = ssd.ssd_maps(clip, 5, 3, value_scale=1.0)
    assert maps.shape == (3, 3, 6, 7) and isinstance(maps, torch.Tensor)  # floor(23/5) - 1 = 3 pairs
    agg = ssd.ssd_map(clip, 5, 3, value_scale=1.0)
    torch.testing.assert_close(agg, ssd.softmax_aggregate(maps))
    assert torch.all(agg <= maps.max(0).values + 1e-12) and torch.all(agg >= maps.min(0).values - 1e-12)


def _texture(size=96, seed=0):
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (size, size)).astype(np.float32), (0, 0), 2.0)


def _rgb(frames):
    return np.stack(frames)[..., None].repeat(3, -1).astype(np.uint8)


@pytest.fixture
def _quiet_tvl1_fallback():
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*opencv-contrib-python", RuntimeWarning)
        yield


@pytest.mark.usefixtures("_quiet_tvl1_fallback")
def test_flow_ssd_of_a_static_video_is_zero():
    """No motion: zero flow, a constant encoding (128, 128, 0), identical segments -> exactly 0."""
    clip = _rgb([_texture()[:48, :48]] * 9)
    out = ssd.ssd_flow_map(clip, 4, 3)
    assert out.shape == (48, 48, 3) and np.abs(out).max() == 0.0


@pytest.mark.usefixtures("_quiet_tvl1_fallback")
def test_flow_ssd_is_large_where_motion_starts_and_zero_for_constant_motion():
    """SSD compares consecutive segments of the *flow* video (l = 4: flows 0-3 vs 4-7).

    * A textured square, still in frames 0-4, moves 1 px/frame from frame 5 on: the flow
      changes between the segments there only, so the map is far larger on the square than
      away from it.
    * The whole texture translating 2 px/frame throughout: the flow is the same in both
      segments, so the interior of the flow map is ~0, while SSD of the frames themselves
      (which do change) is large -- the map is of the flow, not of the intensities.
    """
    tex = _texture()
    bg, square = tex[:48, :48], tex[50:66, 50:66]
    frames = []
    for t in range(9):
        f = bg.copy()
        x = 8 + max(0, t - 4)
        f[16:32, x:x + 16] = square
        frames.append(f)
    out = ssd.ssd_flow_map(_rgb(frames), 4, 3, max_magnitude=2.0).mean(-1)
    on_square, far = out[16:32, 8:28].mean(), out[40:, :].mean()
    assert on_square > 20 * far, (on_square, far)

    moving = _rgb([tex[10:58, 20 - 2 * t:68 - 2 * t] for t in range(9)])
    inner = (slice(12, -12), slice(12, -12))
    on_flow = ssd.ssd_flow_map(moving, 4, 3, max_magnitude=4.0)[inner].mean()
    on_frames = ssd.ssd_map(moving[1:], 4, 3)[inner].mean()
    assert on_flow < 0.01 * on_frames, (on_flow, on_frames)

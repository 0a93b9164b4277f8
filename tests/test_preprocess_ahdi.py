"""AHDI: adaptive segments sum to T and are shorter where motion is high."""

import numpy as np
import pytest
import torch

from pain_lib.preprocess import ahdi as A
from pain_lib.preprocess.rank_pooling import approx_rank_pooling_weights


def test_segment_lengths_sum_to_T_and_shorten_with_motion():
    T = 100
    motion = np.full(T, 0.2)
    motion[50:75] = 3.0  # fast motion in the third quarter
    seg = A.adaptive_segments(motion, n_segments=4)
    lengths = seg[:, 1] - seg[:, 0]
    assert lengths.sum() == T and seg[0, 0] == 0 and seg[-1, 1] == T
    assert np.all(seg[1:, 0] == seg[:-1, 1])  # contiguous
    # the segment laid over the initial third quarter is the shortest
    assert lengths[2] == lengths.min() and lengths[2] < lengths[0] and lengths[2] < lengths[3]
    # lengths are inversely proportional to the segment means (up to rounding)
    sm = np.array([0.2, 0.2, 3.0, 0.2])
    expect = T * (1 / sm) / (1 / sm).sum()
    expect = np.maximum(expect, 2)
    assert np.abs(lengths - expect).max() <= 2


@pytest.mark.parametrize("T,n", [(4, 4), (9, 4), (37, 5), (200, 8)])
def test_segments_always_partition_the_clip(T, n):
    motion = np.random.default_rng(T).gamma(1.0, 1.0, T)
    seg = A.adaptive_segments(motion, n)
    assert (seg[:, 1] - seg[:, 0]).sum() == T
    assert np.all(seg[:, 1] - seg[:, 0] >= 2)


def test_static_clip_splits_evenly():
    seg = A.adaptive_segments(np.zeros(40), 4)
    np.testing.assert_array_equal(seg[:, 1] - seg[:, 0], [10, 10, 10, 10])


def _moving_square_clip(T=40, size=32, moving_from=20):
    clip = np.full((T, size, size, 3), 90, np.uint8)
    for t in range(T):
        x = 4 if t < moving_from else 4 + 2 * (t - moving_from) % 20
        clip[t, 10:18, x:x + 8] = 220
    return clip


def test_flow_based_segmentation_follows_motion():
    clip = _moving_square_clip()
    res = A.ahdi_details(clip, n_segments=4, patch_size=3)
    lengths = res.segments[:, 1] - res.segments[:, 0]
    assert lengths.sum() == 40
    assert res.motion[25:].mean() > 5 * res.motion[:19].mean()
    assert lengths[-1] < lengths[0]  # motion in the second half -> shorter segments there
    assert res.image.shape == (32, 32, 3) and np.isfinite(res.image).all()


def test_ahdi_equals_two_level_rank_pooling():
    rng = np.random.default_rng(5)
    clip = torch.from_numpy(rng.random((3, 20, 6, 6)))
    motion = rng.random(20)
    res = A.ahdi_details(clip, motion=motion, patch_size=1, overlap=0.5, n_segments=3)
    level1 = []
    for s, e in res.windows:
        a = torch.from_numpy(approx_rank_pooling_weights(int(e - s)))
        level1.append(torch.einsum("ctHW,t->cHW", clip[:, s:e], a))
    level1 = torch.stack(level1)
    a2 = torch.from_numpy(approx_rank_pooling_weights(len(level1)))
    expect = torch.einsum("mcHW,m->cHW", level1, a2)
    torch.testing.assert_close(res.image.double(), expect, rtol=1e-4, atol=1e-4)
    # overlap: consecutive windows share frames
    assert np.all(res.windows[:-1, 1] > res.windows[1:, 0])


def test_constant_clip_gives_zero_and_fixed_variant():
    clip = np.full((30, 8, 8, 3), 100, np.uint8)
    assert np.abs(A.ahdi(clip)).max() < 1e-2
    seg = A.fixed_segments(30, 7)
    np.testing.assert_array_equal(seg[:, 1] - seg[:, 0], [7, 7, 7, 7, 2])
    seg = A.fixed_segments(29, 7)  # a 1-frame remainder joins the last segment
    np.testing.assert_array_equal(seg[:, 1] - seg[:, 0], [7, 7, 7, 8])
    out = A.ahdi(_moving_square_clip(), segment_length=10, patch_size=9)
    assert out.shape == (32, 32, 3)


def test_ahdi_equals_loop_reference():
    from pain_lib.preprocess.reference import ahdi_reference

    clip = _moving_square_clip(T=24, size=16)
    res = A.ahdi_details(clip, n_segments=3, patch_size=5)
    ref = ahdi_reference(clip, res.windows, patch_size=5)
    np.testing.assert_allclose(res.image, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


def _arp_weights_by_hand(T):
    """Bilen et al.'s approximate rank pooling, ``alpha_t = 2(T-t+1) - (T+1)(H_T - H_{t-1})``,
    written out here (not the library's ``approx_rank_pooling_weights``)."""
    H = [sum(1.0 / k for k in range(1, n + 1)) for n in range(T + 1)]
    return np.array([2.0 * (T - t + 1) - (T + 1) * (H[T] - H[t - 1]) for t in range(1, T + 1)])


def _patch_mean_by_hand(img, p):
    """``(H, W, C)`` -> mean over the ``p x p`` neighbourhood, reflect borders (numpy)."""
    r = p // 2
    pad = np.pad(img, ((r, r), (r, r), (0, 0)), mode="reflect")
    H, W = img.shape[:2]
    return sum(pad[i:i + H, j:j + W] for i in range(p) for j in range(p)) / (p * p)


def test_fixed_segment_ahdi_equals_a_hand_computed_two_layer_rank_pooling():
    """T = 12, segment_length = 6: segments [0,6) and [6,12); overlap 0.5 extends the first by
    ceil(0.5 * 6) = 3 frames, so the pooled windows are [0,9) and [6,12) (written here, not read
    from the result). Layer 1: the dynamic image of each window, 3x3 patch means; layer 2: rank
    pooling of two images, whose weights are (-1/2, +1/2), so AHDI = (D_2 - D_1) / 2."""
    rng = np.random.default_rng(7)
    clip = rng.random((12, 5, 6, 3)) * 255  # (T, H, W, C)
    res = A.ahdi_details(clip, segment_length=6, patch_size=3, overlap=0.5, motion=np.zeros(12))
    np.testing.assert_array_equal(res.segments, [[0, 6], [6, 12]])
    np.testing.assert_array_equal(res.windows, [[0, 9], [6, 12]])
    np.testing.assert_allclose(_arp_weights_by_hand(2), [-0.5, 0.5], atol=1e-15)
    d1, d2 = (_patch_mean_by_hand(np.tensordot(_arp_weights_by_hand(e - s), clip[s:e], axes=(0, 0)), 3)
              for s, e in ((0, 9), (6, 12)))
    np.testing.assert_allclose(res.level1, np.stack([d1, d2]), rtol=1e-5, atol=1e-3)
    expect = (d2 - d1) / 2
    np.testing.assert_allclose(res.image, expect, rtol=1e-5, atol=1e-5 * np.abs(expect).max())


def test_fixed_segment_ahdi_of_a_static_clip_is_zero_and_one_segment_is_refused():
    """Rank-pooling weights sum to zero, so every layer-1 image of a static clip is zero and so is
    AHDI (flow is computed: no ``motion`` given). A segment as long as the clip leaves one
    segment, which AHDI refuses (layer 2 needs two)."""
    rng = np.random.default_rng(8)
    clip = np.repeat(rng.integers(0, 256, (1, 8, 8, 3)).astype(np.uint8), 20, axis=0)
    res = A.ahdi_details(clip, segment_length=5, patch_size=3)
    assert len(res.windows) == 4
    assert np.abs(res.level1).max() < 1e-3 and np.abs(res.image).max() < 1e-3  # 0..255 units
    with pytest.raises(ValueError, match="at least 2 segments"):
        A.ahdi(clip, segment_length=20)


# ------------------------------------------------------------------ the pairs hierarchy (Eq. 4)
def _luma_by_hand(clip):
    """``(T, H, W, 3)`` -> ``(T, H, W)`` BT.601 luma."""
    return clip[..., 0] * 0.299 + clip[..., 1] * 0.587 + clip[..., 2] * 0.114


def _lcn_by_hand(img, p, floor=4.0):
    """``(H, W)`` -> (x - patch mean) / sqrt(patch variance + floor^2), reflect borders."""
    m = _patch_mean_by_hand(img[..., None], p)[..., 0]
    m2 = _patch_mean_by_hand((img * img)[..., None], p)[..., 0]
    return (img - m) / np.sqrt(np.maximum(m2 - m * m, 0) + floor ** 2)


def test_pairs_ahdi_equals_hand_computed_pair_rank_pooling():
    """T = 20, segment_length = 5: segments [0,5) [5,10) [10,15) [15,20); the pairs are
    [0,10) [5,15) [10,20) (written here), each rank-pooled with M = 10 over the luma frames' 3 x 3
    local contrast normalisation; the three pair maps are the image's channels in time order."""
    rng = np.random.default_rng(11)
    clip = rng.random((20, 7, 6, 3)) * 255  # (T, H, W, C)
    res = A.ahdi_details(clip, segment_length=5, patch_size=3, overlap=0.0, motion=np.zeros(20),
                         patch_mode="normalize", hierarchy="pairs")
    np.testing.assert_array_equal(res.segments, [[0, 5], [5, 10], [10, 15], [15, 20]])
    np.testing.assert_array_equal(res.windows, [[0, 10], [5, 15], [10, 20]])
    frames = np.stack([_lcn_by_hand(f, 3) for f in _luma_by_hand(clip)])
    maps = [np.tensordot(_arp_weights_by_hand(e - s), frames[s:e], axes=(0, 0)) for s, e in ((0, 10), (5, 15), (10, 20))]
    expect = np.stack(maps, axis=-1)  # (H, W, 3)
    assert res.image.shape == (7, 6, 3) and res.level1.shape == (3, 7, 6, 1)
    np.testing.assert_allclose(res.level1[..., 0], np.stack(maps), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(res.image, expect, rtol=1e-4, atol=1e-4 * np.abs(expect).max())


def test_pairs_ahdi_two_pairs_interpolate_and_mean_patch_is_linear():
    """Three segments give two pair maps: the channels are (P1, (P1 + P2) / 2, P2); with
    ``patch_mode="mean"`` and p = 1 the maps are plain rank pooling of the luma."""
    rng = np.random.default_rng(12)
    clip = rng.random((12, 4, 5, 3)) * 255
    img = A.ahdi(clip, segment_length=4, patch_size=1, overlap=0.0, motion=np.zeros(12), hierarchy="pairs")
    luma = _luma_by_hand(clip)
    p1, p2 = (np.tensordot(_arp_weights_by_hand(8), luma[s:e], axes=(0, 0)) for s, e in ((0, 8), (4, 12)))
    np.testing.assert_allclose(img, np.stack([p1, (p1 + p2) / 2, p2], -1), rtol=1e-4, atol=1e-3)


def test_pairs_to_channels_groups_in_time_order():
    maps = torch.arange(5, dtype=torch.float64)[:, None, None].expand(5, 2, 2)
    np.testing.assert_allclose(A.pairs_to_channels(maps)[:, 0, 0], [0.5, 2.5, 4.0])  # {0,1} {2,3} {4}
    np.testing.assert_allclose(A.pairs_to_channels(maps[:3])[:, 0, 0], [0, 1, 2])
    np.testing.assert_allclose(A.pairs_to_channels(maps[:1])[:, 0, 0], [0, 0, 0])
    np.testing.assert_array_equal(A.pair_windows(np.array([[0, 4], [4, 9], [9, 12]])), [[0, 9], [4, 12]])
    with pytest.raises(ValueError, match="m >= 2"):
        A.pair_windows(np.array([[0, 4]]))


def test_pairs_ahdi_of_a_static_clip_is_zero_and_bad_hierarchy_is_refused():
    rng = np.random.default_rng(13)
    clip = np.repeat(rng.integers(0, 256, (1, 8, 8, 3)).astype(np.uint8), 24, axis=0)
    img = A.ahdi(clip, hierarchy="pairs", patch_mode="normalize", overlap=0.0)
    assert img.shape == (8, 8, 3) and np.abs(img).max() < 1e-4
    with pytest.raises(ValueError, match="hierarchy must be 'rank' or 'pairs'"):
        A.ahdi(clip, hierarchy="pair")


def test_pairs_ahdi_keeps_when_the_motion_happened():
    """A square that moves only in the last quarter: the adaptive segments are shortest there,
    and only the last pair's channel (blue) sees the motion; the first pair (red: segments 1-2,
    static frames) is zero."""
    from pain_lib.papers.ahdi import AHDI_PARAMS

    clip = np.full((40, 32, 32, 3), 90, np.uint8)
    for t in range(40):
        x = 4 if t < 30 else 4 + 2 * (t - 30)
        clip[t, 10:18, x:x + 8] = 220
    res = A.ahdi_details(clip, **AHDI_PARAMS)
    lengths = res.segments[:, 1] - res.segments[:, 0]
    assert lengths.sum() == 40 and lengths[-1] == lengths.min() and lengths[-1] < lengths[0]
    assert res.windows[0, 1] <= 30  # the first pair ends before the motion starts
    red, blue = np.abs(res.image[..., 0]).max(), np.abs(res.image[..., 2]).max()
    assert red < 1e-4 and blue > 0.1

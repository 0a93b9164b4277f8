"""Rank pooling and dynamic images: closed-form weights and their invariants."""

import numpy as np
import pytest
import torch

from pain_lib.preprocess import rank_pooling as rp
from pain_lib.preprocess.reference import dynamic_image_reference, rank_pooling_weights_reference


def harmonic(n):
    return sum(1.0 / i for i in range(1, n + 1))


@pytest.mark.parametrize("T", [1, 2, 3, 5, 10, 25, 64])
def test_weights_equal_closed_form_and_sum_to_zero(T):
    a = rp.approx_rank_pooling_weights(T)
    direct = [2 * (T - t + 1) - (T + 1) * (harmonic(T) - harmonic(t - 1)) for t in range(1, T + 1)]
    np.testing.assert_allclose(a, direct, rtol=1e-12, atol=1e-12)
    assert abs(a.sum()) < 1e-9 * max(1, T * T)
    # Bilen et al.'s released form: alpha_t = sum_{j=t..T} (2j - T - 1) / j
    bilen = [sum((2 * j - T - 1) / j for j in range(t, T + 1)) for t in range(1, T + 1)]
    np.testing.assert_allclose(a, bilen, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(a, rank_pooling_weights_reference(T), rtol=1e-12, atol=1e-12)
    assert T == 1 or np.dot(a, np.arange(1, T + 1)) > 0  # later frames rank higher


def test_weights_are_not_the_miscopied_port():
    T = 10
    wrong = np.array([(2 * j - T) / j for j in range(1, T + 1)])
    assert not np.allclose(rp.approx_rank_pooling_weights(T), wrong)
    assert abs(wrong.sum()) > 1  # the port's weights do not even sum to zero
    np.testing.assert_allclose(rp.approx_rank_pooling_weights(3), [-4 / 3, 2 / 3, 2 / 3])


def test_constant_video_gives_zero_image():
    clip = np.full((12, 6, 7, 3), 137, np.uint8)
    d = rp.dynamic_image(clip)
    assert d.shape == (6, 7, 3)
    assert np.abs(d).max() < 1e-3  # float32 rounding of sum(alpha) * 137


@pytest.mark.parametrize("T", [2, 5, 16])
def test_time_reversal_negates_dynamic_image(T):
    # any clip whose frames change linearly in time: I_t = A + t B (random A, B per pixel)
    g = torch.Generator().manual_seed(T)
    A = torch.rand(3, 1, 5, 4, generator=g, dtype=torch.float64) * 255
    B = torch.randn(3, 1, 5, 4, generator=g, dtype=torch.float64)
    clip = A + B * torch.arange(T, dtype=torch.float64).view(1, T, 1, 1)
    d = rp.dynamic_image(clip)
    dr = rp.dynamic_image(clip.flip(1))
    assert d.shape == (3, 5, 4)
    torch.testing.assert_close(dr, -d, rtol=1e-5, atol=1e-3)
    assert torch.all(torch.sign(d) == torch.sign(B[:, 0]))


def test_vectorised_equals_loop_reference():
    rng = np.random.default_rng(1)
    clip = rng.integers(0, 256, (11, 4, 5, 3)).astype(np.uint8)
    np.testing.assert_allclose(rp.dynamic_image(clip), dynamic_image_reference(clip), rtol=1e-5, atol=1e-3)


def test_layouts_mirror_input():
    clip = np.random.default_rng(2).random((6, 4, 5, 3)).astype(np.float32)
    d_np = rp.dynamic_image(clip)  # (H,W,C) numpy
    d_t = rp.dynamic_image(torch.from_numpy(clip).permute(3, 0, 1, 2))  # (C,H,W) torch
    assert isinstance(d_np, np.ndarray) and isinstance(d_t, torch.Tensor)
    np.testing.assert_allclose(d_np, d_t.permute(1, 2, 0).numpy(), rtol=1e-5, atol=1e-5)


def _ramp(T=12, H=6, W=5, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(60, 190, (H, W, 3))
    slope = rng.choice([-1.0, 1.0], (H, W, 3)) * rng.uniform(0.5, 4.0, (H, W, 3))
    t = np.arange(T)[:, None, None, None]
    return base + slope * t, slope


@pytest.mark.parametrize("method", ["svr", "ranksvm"])
def test_exact_and_approximate_agree_in_sign_on_ramp(method):
    clip, slope = _ramp()
    approx = rp.dynamic_image(clip)
    exact = rp.exact_rank_pooling(clip, method=method)
    assert exact.shape == approx.shape
    assert np.all(np.sign(approx) == np.sign(slope))
    agree = np.mean(np.sign(exact) == np.sign(approx))
    assert agree >= 0.95, agree


def test_mean_image_and_mdv_shapes_and_values():
    rng = np.random.default_rng(3)
    clip = rng.integers(0, 256, (10, 4, 4, 3)).astype(np.uint8)
    np.testing.assert_allclose(rp.mean_image(clip), clip.mean(0), rtol=1e-6)
    mdv = rp.multiple_dynamic_images(clip, window=4, stride=3)
    assert mdv.shape == (3, 4, 4, 3)  # windows start at 0, 3, 6
    for i, s in enumerate([0, 3, 6]):
        np.testing.assert_allclose(mdv[i], rp.dynamic_image(clip[s:s + 4]), rtol=1e-5, atol=1e-3)


def test_to_uint8_image_spans_full_range():
    img = torch.linspace(-3, 5, 3 * 4 * 4).reshape(3, 4, 4)
    u = rp.to_uint8_image(img)
    assert u.dtype == torch.uint8 and u.shape == (3, 4, 4)
    assert int(u.min()) == 0 and int(u.max()) == 255
    assert rp.to_uint8_image(np.zeros((4, 4, 3))).max() == 0  # constant -> 0, no NaN

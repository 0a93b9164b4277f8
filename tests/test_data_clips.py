"""Samplers, face crops and the clip cache on the tiny synthetic sets."""

from __future__ import annotations

import numpy as np
import pytest
from _synth_data import tiny_root

from pain_lib.data import open_dataset, read_clip
from pain_lib.data.cache import ClipCache
from pain_lib.data.crop import (
    crop_frames,
    face_boxes,
    fill_missing,
    smooth_boxes,
)
from pain_lib.data.samplers import (
    KeyFrameSampler,
    SegmentSampler,
    StrideSampler,
    UniformSampler,
    make_sampler,
    sliding_windows,
)
from pain_lib.io import CacheIntegrityWarning


@pytest.fixture(scope="module")
def unbc(tmp_path_factory):
    return open_dataset("synth-unbc", tiny_root(tmp_path_factory, "synth-unbc"))


@pytest.fixture(scope="module")
def biovid(tmp_path_factory):
    return open_dataset("synth-biovid", tiny_root(tmp_path_factory, "synth-biovid"))


# ------------------------------------------------------------------ samplers
def test_samplers_shapes_and_ranges():
    rng = np.random.default_rng(0)
    assert UniformSampler(5)(100).tolist() == [0, 25, 50, 74, 99]
    s = StrideSampler(8, 2)
    for _ in range(20):
        idx = s(40, rng)
        assert len(idx) == 8 and np.all(np.diff(idx) == 2) and idx.min() >= 0 and idx.max() < 40
    assert StrideSampler(8, 2)(40).tolist() == list(range(12, 28, 2))  # centred without rng
    short = StrideSampler(16, 1)(5)
    assert len(short) == 16 and short.max() == 4 and np.all(np.diff(short) >= 0)
    seg = SegmentSampler(4)
    for _ in range(20):
        idx = seg(40, rng)
        assert [i // 10 for i in idx] == [0, 1, 2, 3]
    assert make_sampler("segments", k=3)(9).tolist() == [1, 4, 7]
    with pytest.raises(ValueError, match="unknown sampler"):
        make_sampler("dense")
    with pytest.raises(ValueError, match="empty sequence"):
        UniformSampler(3)(0)


def test_keyframe_hook():
    frames = np.zeros((10, 4, 4, 3), np.uint8)
    frames[[2, 7]] = 255
    k = KeyFrameSampler(lambda f: np.flatnonzero(f.reshape(len(f), -1).mean(1) > 0), k=None)
    assert k(10, frames=frames).tolist() == [2, 7]
    with pytest.raises(ValueError, match="decoded frames"):
        k(10)


def test_sliding_windows_cover_every_frame():
    w = sliding_windows(50, 16)
    assert w.shape[1] == 16 and w[0, 0] == 0 and w[-1, -1] == 49
    covered = np.zeros(50, bool)
    covered[w.ravel()] = True
    assert covered.all()
    assert sliding_windows(50, 8, stride=2, hop=4)[1, 0] == 4
    assert sliding_windows(5, 16).shape == (1, 16)


# ------------------------------------------------------------------ crops
def test_box_smoothing_and_filling():
    b = np.array([[0, 0, 10, 10], [np.nan] * 4, [4, 4, 14, 14]], float)
    f = fill_missing(b)
    np.testing.assert_allclose(f[1], [2, 2, 12, 12])
    jitter = np.array([[0, 0, 10, 10], [2, 0, 12, 10]] * 10, float)
    sm = smooth_boxes(jitter, 5)
    assert np.ptp(sm[2:-2, 0]) < np.ptp(jitter[:, 0])
    np.testing.assert_allclose(fill_missing(np.full((2, 4), np.nan), (10, 20))[0], [5, 0, 15, 10])


def test_crop_out_of_frame_replicates_borders():
    frames = np.zeros((1, 20, 20, 3), np.uint8)
    frames[0, :, :10] = 200
    out = crop_frames(frames, np.array([[-10, -10, 10, 10]], float), 8)
    assert out.shape == (1, 8, 8, 3) and out[0, 0, 0, 0] == 200
    big = crop_frames(frames, np.array([[0, 0, 20, 20]], float), 40)
    assert big.shape == (1, 40, 40, 3)


def test_face_boxes_landmarks_vs_haar_vs_truth(unbc):
    s = unbc.samples[0]
    frames = read_clip(s)
    lm_boxes = face_boxes(s, frames, mode="landmarks")
    haar_boxes = face_boxes(s, frames, mode="haar")
    truth_boxes = face_boxes(s, frames, mode="truth")
    centre = lambda b: (b[:, :2] + b[:, 2:]) / 2  # noqa: E731
    side = np.mean(lm_boxes[:, 2] - lm_boxes[:, 0])
    assert np.abs(centre(lm_boxes) - centre(haar_boxes)).max() < 0.25 * side
    assert np.abs(centre(lm_boxes) - centre(truth_boxes)).max() < 0.1 * side
    assert face_boxes(s, frames, mode="auto").tolist() == lm_boxes.tolist()  # UNBC has landmarks
    crops = crop_frames(frames, lm_boxes, 48)
    assert crops.shape == (s.n_frames, 48, 48, 3)
    # the crop is mostly face: skin-coloured centre
    assert crops[:, 20:28, 20:28].mean() > 60
    with pytest.raises(ValueError, match="unknown crop mode"):
        face_boxes(s, frames, mode="dlib")


# ------------------------------------------------------------------ cache
def test_clip_cache_roundtrip_atomic(tmp_path, unbc):
    cache = ClipCache(tmp_path)
    s = unbc.samples[0]
    calls = []

    def compute():
        calls.append(1)
        return np.arange(24, dtype=np.uint8).reshape(2, 2, 2, 3)

    a = cache.get_or_compute(s, {"size": 2}, compute)
    b = cache.get_or_compute(s, {"size": 2}, compute)
    np.testing.assert_array_equal(a, b)
    assert len(calls) == 1
    cache.get_or_compute(s, {"size": 3}, compute)  # other parameters -> other entry
    assert len(calls) == 2
    assert not list(tmp_path.rglob("*.tmp"))
    key = cache.key(s, {"size": 2})
    cache.path(key).write_bytes(b"garbage")  # a damaged entry is recomputed, with a warning
    with pytest.warns(CacheIntegrityWarning, match=key):
        cache.get_or_compute(s, {"size": 2}, compute)
    assert len(calls) == 3


def test_haar_every_kth_frame_then_interpolated_stays_on_the_face(biovid):
    from pain_lib.data.crop import HAAR_EVERY, detect_faces_haar

    s = biovid.samples[0]
    frames = read_clip(s)
    sparse = detect_faces_haar(frames, every=3)
    detected = ~np.isnan(sparse).any(axis=1)
    assert set(np.flatnonzero(detected)) <= {*range(0, len(frames), 3), len(frames) - 1}
    assert detected[0] and detected[-1]
    every_frame = detect_faces_haar(frames)
    side = np.nanmedian(every_frame[:, 2] - every_frame[:, 0])
    boxes = face_boxes(s, frames, mode="haar")  # every HAAR_EVERY-th frame, interpolated, smoothed
    centre = lambda b: (b[:, :2] + b[:, 2:]) / 2  # noqa: E731
    ok = ~np.isnan(every_frame).any(axis=1)
    assert HAAR_EVERY > 1 and ok.mean() > 0.9
    assert np.abs(centre(boxes)[ok] - centre(every_frame)[ok]).max() < 0.1 * side
    with pytest.raises(ValueError, match="every must be >= 1"):
        detect_faces_haar(frames, every=0)

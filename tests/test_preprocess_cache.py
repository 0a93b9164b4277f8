"""The preprocessing cache: content keys, atomic writes, hits instead of recomputation."""

import numpy as np
import pytest
import torch

from pain_lib.io import CacheIntegrityWarning
from pain_lib.preprocess.cache import FeatureCache, cache_key
from pain_lib.preprocess.rank_pooling import dynamic_image


def test_key_depends_on_content_function_and_params():
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    k = cache_key("f", a, {"x": 1, "y": 2})
    assert k == cache_key("f", a.copy(), {"y": 2, "x": 1})  # content, not object; order-free
    assert k != cache_key("g", a, {"x": 1, "y": 2})
    assert k != cache_key("f", a, {"x": 1, "y": 3})
    b = a.copy()
    b[0, 0] = 99
    assert k != cache_key("f", b, {"x": 1, "y": 2})
    assert cache_key("f", torch.from_numpy(a), {}) == cache_key("f", a, {})


def test_get_or_compute_hits_and_is_atomic(tmp_path):
    cache = FeatureCache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"img": np.ones((2, 2)), "n": np.array(3)}

    v1 = cache.get_or_compute("fn", "sample-1", {"l": 20}, compute)
    v2 = cache.get_or_compute("fn", "sample-1", {"l": 20}, compute)
    assert len(calls) == 1 and cache.hits == 1
    np.testing.assert_array_equal(v1["img"], v2["img"])
    files = list(tmp_path.rglob("*"))
    assert not [f for f in files if f.name.endswith(".tmp")]
    assert len([f for f in files if f.suffix == ".npz"]) == 1


def test_call_wrapper_and_corrupt_entry(tmp_path):
    cache = FeatureCache(tmp_path)
    clip = np.random.default_rng(0).integers(0, 256, (5, 4, 4, 3)).astype(np.uint8)
    d1 = cache(dynamic_image, clip)
    np.testing.assert_allclose(d1, dynamic_image(clip))
    (npz,) = tmp_path.rglob("*.npz")
    npz.write_bytes(b"garbage")  # a corrupt entry is a miss, recomputed and rewritten
    with pytest.warns(CacheIntegrityWarning, match=npz.name):
        d2 = cache(dynamic_image, clip)
    np.testing.assert_allclose(d2, d1)
    assert cache.misses == 2
    t = cache(dynamic_image, torch.from_numpy(clip).permute(3, 0, 1, 2))
    assert isinstance(t, torch.Tensor) and t.shape == (3, 4, 4)


def test_sample_identity_uses_media_files(tmp_path):
    from pain_lib.data import Sample

    video = tmp_path / "a.mp4"
    video.write_bytes(b"1234")
    s = Sample("subj", "id1", None, video, 25.0, meta={"truth": object()})
    k1 = cache_key("f", s, {})
    assert k1 == cache_key("f", Sample("subj", "id1", None, video, 25.0), {})
    video.write_bytes(b"123456")  # the media changed -> a new key
    assert cache_key("f", s, {}) != k1


def test_face_clip_cache_is_keyed_by_the_crop_version(tmp_path, monkeypatch):
    """A change of the face detection (``CROP_VERSION``) recomputes cached face clips."""
    from pain_lib.data import Sample
    from pain_lib.data import crop as crop_mod
    from pain_lib.preprocess import plots

    video = tmp_path / "a.mp4"
    video.write_bytes(b"1234")
    s = Sample("subj", "id1", None, video, 25.0)
    calls = []
    monkeypatch.setattr(crop_mod, "load_face_frames",
                        lambda sample, size, crop: calls.append(1) or np.zeros((3, size, size, 3), np.uint8))
    cache = FeatureCache(tmp_path / "cache")
    plots.load_face_clip(s, 8, cache=cache)
    plots.load_face_clip(s, 8, cache=cache)
    assert len(calls) == 1
    monkeypatch.setattr(crop_mod, "CROP_VERSION", crop_mod.CROP_VERSION + 1)
    assert plots.load_face_clip(s, 8, cache=cache).shape == (3, 8, 8, 3) and len(calls) == 2

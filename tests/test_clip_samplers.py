"""Clip samplers on the frame bank (the one clip pipeline): contiguous windows, one frame per
segment, frame skipping and chi-square key frames -- index arrays with known answers, and
batches drawn through them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pain_lib.data.bank import ClipBatches, Contiguous, FrameBank
from pain_lib.experiments import FrameSkip, KeyFrames, Segments, make_sampler


def test_segments_draw_one_frame_in_each_segment_and_evaluate_the_middles():
    seg = Segments(4)
    pos, idx = seg.train(np.array([40, 9]), per_sample=3, rng=np.random.default_rng(0))
    assert idx.shape == (6, 4) and sorted(pos.tolist()) == [0, 0, 0, 1, 1, 1]
    for p, row in zip(pos, idx):
        n = [40, 9][p]
        edges = np.linspace(0, n, 5)
        assert all(np.floor(edges[k]) <= row[k] <= np.ceil(edges[k + 1]) - 1 for k in range(4))
    _, mid = seg.evaluate(np.array([40]))
    assert mid.tolist() == [[4, 14, 24, 34]]
    draws = {tuple(seg.train(np.array([40]), per_sample=1, rng=np.random.default_rng(s))[1][0]) for s in range(20)}
    assert len(draws) > 10  # random within segments when training


def test_frame_skip_spaces_frames_by_the_skip_and_evaluates_every_offset():
    fs = FrameSkip(4, skip=3)
    _, idx = fs.train(np.array([30]), per_sample=5, rng=np.random.default_rng(1))
    assert (np.diff(idx, axis=1) == 3).all() and idx.max() < 30
    pos, ev = fs.evaluate(np.array([30]))
    assert ev[:, 0].tolist() == [0, 1, 2] and (np.diff(ev, axis=1) == 3).all()


def test_key_frames_find_the_quiet_frame_of_each_window():
    # 24 frames: a new grey level every frame except inside runs (t = 3, 9, 15, 21 repeat their
    # predecessor): the chi-square distance to the predecessor is 0 exactly there
    levels = np.arange(24) * 10
    for t in (3, 9, 15, 21):
        levels[t] = levels[t - 1]
    frames = torch.from_numpy(np.repeat(levels.astype(np.uint8), 8 * 8 * 3).reshape(24, 8, 8, 3))
    kf = KeyFrames(2, window=6, bins=32)
    assert kf.key_frames(frames).tolist() == [3, 9, 15, 21]
    pos, idx = kf.evaluate(np.array([24]), hop=6, frames=[frames])
    assert idx.tolist() == [[3, 9], [9, 15], [15, 21]]
    _, tr = kf.train(np.array([24]), per_sample=4, rng=np.random.default_rng(0), frames=[frames])
    assert set(np.ravel(tr)) <= {3, 9, 15, 21}


def test_clip_batches_draw_through_any_sampler(tmp_path):
    from pain_lib.data.base import Sample

    bank = FrameBank(size=8)
    samples = [Sample(f"s{i}", f"v{i}", None, tmp_path / f"v{i}.mp4", 25.0) for i in range(2)]
    for i, s in enumerate(samples):  # put frames into the bank directly (no decoding)
        bank._slot[bank._key(s)] = (30 * i, 30)
    bank.frames = torch.randint(0, 255, (60, 8, 8, 3), dtype=torch.uint8)
    for sampler in (Contiguous(4, 2), Segments(4), FrameSkip(4, 2), make_sampler("segments", 4)):
        batches = ClipBatches(bank, samples, clip_len=4, per_sample=2, labels=[0, 1], batch_size=4, sampler=sampler)
        x, y = next(iter(batches))
        assert x.shape == (4, 3, 4, 8, 8) and y.shape == (4,)
        assert batches.clip_len == 4 and (batches.frame_index < 30).all()
    with pytest.raises(ValueError, match="unknown clip sampler"):
        make_sampler("random", 4)

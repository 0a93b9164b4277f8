"""Bad input fails early with a ValueError that says what was expected."""

import numpy as np
import pytest
import torch

from pain_lib.preprocess import ahdi, flow, keyframes, rank_pooling, rppg, ssd
from pain_lib.preprocess._validate import _check_clip

GOOD = np.zeros((4, 8, 8, 3), np.uint8)


@pytest.mark.parametrize(
    "clip, match",
    [
        (np.zeros((0, 8, 8, 3), np.uint8), "at least 1 frame|empty"),
        (np.zeros((8, 8, 3), np.uint8), r"expected a clip of shape \(T,H,W,3\) or \(3,T,H,W\).*3 dimensions"),
        (np.zeros((4, 8, 8, 4), np.uint8), "neither the first nor the last axis"),
        (np.full((4, 8, 8, 3), np.nan), "NaN"),
        ("not a clip", "NumPy array or torch tensor"),
        (np.array([["a"]], dtype=object), "numeric"),
    ],
)
def test_check_clip_messages(clip, match):
    with pytest.raises(ValueError, match=match):
        _check_clip(clip)


def test_channel_layout_detection():
    t, info = _check_clip(np.zeros((5, 6, 7, 3), np.uint8))
    assert t.shape == (3, 5, 6, 7) and info.channels_last and info.numpy
    t, info = _check_clip(torch.zeros(3, 5, 6, 7))
    assert t.shape == (3, 5, 6, 7) and not info.channels_last and not info.numpy
    with pytest.raises(ValueError, match="layout CTHW"):
        _check_clip(np.zeros((5, 6, 7, 3)), layout="CTHW")


@pytest.mark.parametrize(
    "fn",
    [
        lambda c: rank_pooling.dynamic_image(c),
        lambda c: flow.optical_flow(c),
        lambda c: keyframes.select_key_frames(c),
    ],
)
def test_one_frame_where_two_are_needed(fn):
    with pytest.raises(ValueError, match="at least 2 frames"):
        fn(GOOD[:1])


def test_function_level_errors():
    with pytest.raises(ValueError, match="at least 40 frames"):
        ssd.ssd_map(GOOD, segment_length=20)
    with pytest.raises(ValueError, match="odd"):
        ssd.ssd_map(np.zeros((8, 8, 8, 3)), segment_length=2, patch=4)
    with pytest.raises(ValueError, match="at least 4 frames"):
        ahdi.ahdi(GOOD[:3])
    with pytest.raises(ValueError, match="wrong|must be one of"):
        flow.optical_flow(GOOD, method="wrong")
    with pytest.raises(ValueError, match=r"\(T,3\)"):
        rppg.estimate_heart_rate(np.ones((100, 4)), 25.0)
    with pytest.raises(ValueError, match="NaN"):
        rppg.estimate_heart_rate(np.full((100, 3), np.nan), 25.0)
    with pytest.raises(ValueError, match="fps"):
        rppg.estimate_heart_rate(np.ones((100, 3)), 0)
    with pytest.raises(ValueError, match="window"):
        rank_pooling.multiple_dynamic_images(GOOD, window=1)
    with pytest.raises(ValueError, match="at least 6 frames"):
        rank_pooling.multiple_dynamic_images(GOOD, window=6)

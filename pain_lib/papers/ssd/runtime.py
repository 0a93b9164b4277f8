"""Table 3's test time per frame, measured by this run on its own device.

* 2D: the SSD map of the whole video (the representation is part of the test: a new video must
  be distilled first) and one forward pass of the 2D network on it;
* 3D: forward passes of the 3D network on the non-overlapping clips that cover the video.

Both are divided by the video's number of frames; decoding and face cropping (the same for
both) are not timed. Networks are timed in eval mode without gradients, after one warm-up pass,
the median over ``repeats`` runs per video.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn as nn

from ...experiments import Representation

__all__ = ["seconds_per_frame_2d", "seconds_per_frame_3d"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_time(fn, repeats: int, device: torch.device) -> float:
    fn()  # warm-up
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


@torch.no_grad()
def seconds_per_frame_2d(net: nn.Module, videos: Sequence[np.ndarray], rep: Representation, *,
                         device: torch.device | str = "cpu", repeats: int = 3) -> float:
    """Mean over ``videos`` (face crops ``(T, S, S, 3)`` uint8) of (SSD map + 2D forward) / T."""
    device = torch.device(device)
    net = net.to(device).eval()
    per = []
    for faces in videos:
        def run(faces=faces):
            img = torch.from_numpy(rep.compute(faces)).unsqueeze(0).to(device)
            net(img)
        per.append(_median_time(run, repeats, device) / len(faces))
    return float(np.mean(per))


@torch.no_grad()
def seconds_per_frame_3d(net: nn.Module, videos: Sequence[np.ndarray], clip_len: int, *,
                         device: torch.device | str = "cpu", repeats: int = 3) -> float:
    """Mean over ``videos`` of the 3D forward passes over the non-overlapping ``clip_len``-frame
    clips covering the video (the last one ends at the last frame), divided by T."""
    device = torch.device(device)
    net = net.to(device).eval()
    per = []
    for faces in videos:
        T = len(faces)
        starts = list(range(0, max(T - clip_len, 0) + 1, clip_len))
        if starts[-1] + clip_len < T:
            starts.append(T - clip_len)
        x = torch.from_numpy(np.ascontiguousarray(faces)).permute(3, 0, 1, 2).float().div(255)
        clips = torch.stack([x[:, s:s + clip_len] for s in starts]).to(device)
        per.append(_median_time(lambda clips=clips: net(clips), repeats, device) / T)
    return float(np.mean(per))

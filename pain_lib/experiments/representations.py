"""Named per-video representations and frozen-network features, computed once per dataset and
parameters, cached and checksummed like face crops, shared by every configuration and fold.

A :class:`Representation` is a registered pure function of :mod:`pain_lib.preprocess` applied
to a sample's face crops ``(T, S, S, 3)`` uint8 (the frame bank's, :mod:`pain_lib.data.bank`)
with its parameters; its value is one image ``(C, S, S)`` or a sequence of images
``(K, C, S, S)`` float32 per sample::

    rep = Representation("ahdi", {"patch_size": 9}, size=32)
    images = representation_tensor(samples, rep, cache_dir=run.cache_dir)   # (N, 3, 32, 32)

==========================  ======================  =======================================================
name                        value                   function
==========================  ======================  =======================================================
``frame``                   ``(3, S, S)``           the middle frame, [0, 1] (the papers' "raw frame" rows)
``frames``                  ``(K, 3, S, S)``        ``k`` frames, one from the middle of each of k segments
``mean``                    ``(3, S, S)``           :func:`~pain_lib.preprocess.mean_image`
``dynamic_image``           ``(3, S, S)``           :func:`~pain_lib.preprocess.dynamic_image` (SDI)
``mdv``                     ``(K, 3, S, S)``        :func:`~pain_lib.preprocess.multiple_dynamic_images`
                                                    (``window``, ``stride``; or ``k`` evenly spaced windows)
``ahdi``                    ``(3, S, S)``           :func:`pain_lib.preprocess.ahdi.ahdi`
``flow``                    ``(3, S, S)``           mean optical flow of the video as ``(dx, dy, |f|)``
``ssd``                     ``(3, S, S)``           :func:`~pain_lib.preprocess.ssd_map` on RGB
``ssd_flow``                ``(3, S, S)``           :func:`~pain_lib.preprocess.ssd_flow_map` on optical flow
==========================  ======================  =======================================================

Values keep the function's own units; the image recipe standardises them with the training
fold's statistics. Each sample's value is one entry of the
:class:`~pain_lib.preprocess.cache.FeatureCache` under ``<cache_dir>/representations`` (key: the
sample's media fingerprint, the face-crop parameters, the representation's name, parameters and
code ``version``); :func:`representation_tensor` also keeps the stacked tensor of the last few
requests in memory, so the configurations and folds of a table read it once per process.

Frozen features (:func:`frozen_features`): the pooled features of a fixed 2D network over every
frame of a sample, ``(T, D)``, cached per (sample, network weights) the same way.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..data.bank import FrameBank
from ..data.base import Sample
from ..data.crop import face_crop_params
from ..fingerprint import fingerprint
from ..preprocess import dynamic_image, mean_image, multiple_dynamic_images, optical_flow
from ..preprocess.cache import FeatureCache

__all__ = ["Representation", "REPRESENTATIONS", "register_representation", "representation_tensor",
           "representation_cache", "frozen_features"]

#: name -> (function(faces (T, S, S, 3) uint8, **params) -> float32 array, code version)
REPRESENTATIONS: dict[str, tuple[Callable[..., np.ndarray], int]] = {}


def register_representation(name: str, *, version: int = 1):
    """Register ``fn(faces, **params) -> (C, S, S) | (K, C, S, S)`` float32 as ``name``; bump
    ``version`` when what it computes changes (it is part of every cache key)."""

    def deco(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        if name in REPRESENTATIONS and REPRESENTATIONS[name][0] is not fn:
            raise ValueError(f"a representation called {name!r} is already registered")
        REPRESENTATIONS[name] = (fn, version)
        return fn

    return deco


def _chw(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """``(H, W, C)`` / ``(K, H, W, C)`` -> ``(C, H, W)`` / ``(K, C, H, W)`` float32."""
    a = np.asarray(x, np.float32)
    return np.ascontiguousarray(np.moveaxis(a, -1, -3))


def _segment_middles(n: int, k: int) -> np.ndarray:
    edges = np.linspace(0, n, k + 1)
    return np.minimum(((edges[:-1] + edges[1:]) / 2).astype(np.int64), n - 1)


@register_representation("frame")
def _frame(faces: np.ndarray) -> np.ndarray:
    return _chw(faces[len(faces) // 2]) / 255.0


@register_representation("frames")
def _frames(faces: np.ndarray, k: int = 8) -> np.ndarray:
    return _chw(faces[_segment_middles(len(faces), int(k))]) / 255.0


@register_representation("mean")
def _mean(faces: np.ndarray) -> np.ndarray:
    return _chw(mean_image(faces))


@register_representation("dynamic_image")
def _dynamic_image(faces: np.ndarray) -> np.ndarray:
    return _chw(dynamic_image(faces))


@register_representation("mdv")
def _mdv(faces: np.ndarray, window: int = 16, stride: int = 8, k: int = 0) -> np.ndarray:
    """Dynamic images of windows of ``window`` frames every ``stride`` frames (Eq. 5); with
    ``k`` > 0, ``k`` windows with evenly spaced starts instead (the same number of images for
    videos of different lengths, as a batch of a set model needs)."""
    window = max(2, min(int(window), len(faces)))
    if k:
        every = multiple_dynamic_images(faces, window, 1)
        return _chw(every[np.round(np.linspace(0, len(every) - 1, int(k))).astype(np.int64)])
    return _chw(multiple_dynamic_images(faces, window, int(stride)))


@register_representation("ahdi")
def _ahdi(faces: np.ndarray, **params: Any) -> np.ndarray:
    from ..preprocess.ahdi import ahdi

    return _chw(ahdi(faces, **params))


@register_representation("flow")
def _flow(faces: np.ndarray, method: str = "farneback") -> np.ndarray:
    flow = optical_flow(faces, method)  # (T-1, S, S, 2)
    mean = flow.mean(0)
    return _chw(np.concatenate([mean, np.linalg.norm(mean, axis=-1, keepdims=True)], -1))


@register_representation("ssd")
def _ssd(faces: np.ndarray, segment_length: int = 20, patch: int = 5) -> np.ndarray:
    from ..preprocess import ssd_map

    _check_segment(len(faces), int(segment_length), "ssd")
    return _chw(ssd_map(faces, int(segment_length), patch))


@register_representation("ssd_flow")
def _ssd_flow(faces: np.ndarray, segment_length: int = 20, patch: int = 5, method: str = "tvl1") -> np.ndarray:
    from ..preprocess import ssd_flow_map

    _check_segment(len(faces) - 1, int(segment_length), "ssd_flow")
    return _chw(ssd_flow_map(faces, int(segment_length), patch, method=method))


def _check_segment(n: int, length: int, name: str) -> None:
    if 2 * length > n:
        raise ValueError(f"{name}: segment_length {length} is longer than half of a video of {n} frames; "
                         f"use segment_length <= {n // 2} (or longer videos)")


@dataclass(frozen=True)
class Representation:
    """A named representation (:data:`REPRESENTATIONS`) with its ``params``, computed on face
    crops of ``size`` px (``crop``: the face-crop mode, as :class:`~pain_lib.data.bank.FrameBank`)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    size: int = 32
    crop: str = "auto"

    def __post_init__(self) -> None:
        if self.name not in REPRESENTATIONS:
            raise ValueError(f"unknown representation {self.name!r}; representations: {', '.join(REPRESENTATIONS)}")

    @property
    def version(self) -> int:
        return REPRESENTATIONS[self.name][1]

    def cache_params(self) -> dict[str, Any]:
        """What a cached value depends on besides the sample."""
        return {"representation": self.name, "version": self.version, "params": dict(self.params),
                "faces": face_crop_params(self.size, self.crop)}

    def compute(self, faces: np.ndarray) -> np.ndarray:
        return np.asarray(REPRESENTATIONS[self.name][0](faces, **dict(self.params)), np.float32)

    def __fingerprint__(self) -> dict:
        return self.cache_params()


def representation_cache(cache_dir: str | Path | None) -> FeatureCache:
    """The cache of representations beside the face crops of ``cache_dir`` (or the default
    preprocessing cache)."""
    return FeatureCache(Path(cache_dir) / "representations" if cache_dir is not None else None)


_MEMO: OrderedDict[str, tuple[torch.Tensor, dict[str, str]]] = OrderedDict()
_MEMO_MAX = 8


def representation_tensor(samples: Sequence[Sample], rep: Representation, *, cache_dir: str | Path | None = None,
                          progress: bool = False) -> tuple[torch.Tensor, dict[str, str]]:
    """``(values (N, ...) float32, digests)``: ``rep`` of every sample, stacked (every sample's
    value must have the same shape), and the verified checksum of each cached value (sample id
    -> digest, for the experiment store's record of the inputs a fold used)."""
    from tqdm.auto import tqdm

    key = fingerprint([list(samples), rep, str(cache_dir)])
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]
    cache = representation_cache(cache_dir)
    bank = FrameBank.shared(size=rep.size, crop=rep.crop, cache_dir=cache_dir)
    bank.fill_cache(samples)
    params = rep.cache_params()
    values, digests = [], {}
    for s in tqdm(samples, desc=f"{rep.name} {rep.size}px", disable=not progress, leave=False):
        v = cache.get_or_compute(f"repr-{rep.name}", s, params, lambda s=s: rep.compute(bank.faces(s)))
        values.append(np.asarray(v, np.float32))
        d = cache.digest(f"repr-{rep.name}", s, params)
        if d:
            digests[s.sample_id] = d
    shapes = {v.shape for v in values}
    if len(shapes) > 1:
        raise ValueError(f"representation {rep.name!r} has values of different shapes {sorted(shapes)}: "
                         "choose parameters that give every video the same number of images")
    out = (torch.from_numpy(np.stack(values)), digests)
    _MEMO[key] = out
    while len(_MEMO) > _MEMO_MAX:
        _MEMO.popitem(last=False)
    return out


def frozen_features(samples: Sequence[Sample], net: nn.Module, *, size: int, crop: str = "auto",
                    cache_dir: str | Path | None = None, mean: Sequence[float] = (0.485, 0.456, 0.406),
                    std: Sequence[float] = (0.229, 0.224, 0.225), batch_size: int = 256,
                    device: torch.device | str = "cpu") -> tuple[list[np.ndarray], dict[str, str]]:
    """``(features, digests)``: the pooled features ``(T_i, D)`` float32 of the fixed network
    ``net`` (a 2D network with ``head="none"``, in eval mode) on every face crop of each sample
    (normalised with ``mean``/``std``), cached per (sample, crop, network weights)."""
    cache = representation_cache(cache_dir)
    bank = FrameBank.shared(size=size, crop=crop, cache_dir=cache_dir)
    bank.fill_cache(samples)
    params = {"network": fingerprint(net.state_dict()), "spec": fingerprint(getattr(net, "model_spec", None)),
              "faces": face_crop_params(size, crop), "mean": list(mean), "std": list(std)}
    device = torch.device(device)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    sd = torch.tensor(std).view(1, 3, 1, 1)

    def compute(s: Sample) -> np.ndarray:
        net.to(device).eval()
        x = torch.from_numpy(np.array(bank.faces(s))).permute(0, 3, 1, 2).float().div(255.0)
        x = (x - m) / sd
        with torch.no_grad():
            return torch.cat([net(x[i:i + batch_size].to(device)).float().cpu()
                              for i in range(0, len(x), batch_size)]).numpy()

    feats, digests = [], {}
    for s in samples:
        feats.append(np.asarray(cache.get_or_compute("frozen-features", s, params, lambda s=s: compute(s)), np.float32))
        d = cache.digest("frozen-features", s, params)
        if d:
            digests[s.sample_id] = d
    return feats, digests

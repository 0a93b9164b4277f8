"""Paper ``binary`` (Tavakolian & Hadid, ICIP 2018): deep binary codes of a video's pain level.

* the label: :class:`~.levels.PainLevel` (four levels of a video's maximum frame PSPI);
* the recipe: :class:`~.recipe.BinaryCodeRecipe` (segments -> frozen face-CNN features ->
  statistics + VLAD -> MLP -> sign codes, trained on the Eq. 5 bound; nearest level in Hamming
  distance), built for a run by :func:`recipe` with the profile's scale;
* grids: Figure 2's frames per segment (:func:`segment_lengths`), the text's feature
  combinations (:data:`~.recipe.FEATURE_SETS`), the code-length study (:func:`code_lengths`);
* notes: :func:`notes` (sections of ``NOTES.md``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import shared_notes
from .levels import DEFAULT_EDGES, PainLevel
from .recipe import (
    FEATURE_SETS,
    BinaryCodeRecipe,
    segment_count,
    snippet_indices,
    triplets,
    video_features,
)

__all__ = [
    "PainLevel",
    "DEFAULT_EDGES",
    "BinaryCodeRecipe",
    "FEATURE_SETS",
    "PAPER_SEGMENT_LENGTHS",
    "PAPER_CODE_LENGTHS",
    "segment_count",
    "snippet_indices",
    "video_features",
    "triplets",
    "notes",
    "recipe",
    "binary_epochs",
    "backbone_cfg",
    "segment_lengths",
    "code_lengths",
    "level_counts",
    "code_costs",
    "saliency",
    "fitted",
    "segment_frames",
]

#: Figure 2's x axis: frames per segment, 3 to 50 (the paper's range; its tick values are not printed)
PAPER_SEGMENT_LENGTHS = (3, 5, 10, 15, 20, 30, 40, 50)
#: the code-length study (beyond the paper), bits
PAPER_CODE_LENGTHS = (16, 32, 64, 128, 256)
#: the paper's epochs
PAPER_EPOCHS = 200


def notes(*keys: str):
    """The fidelity notes ``keys`` (sections of ``NOTES.md`` beside this module) as Markdown."""
    return shared_notes(__package__, keys, paper="binary")


def binary_epochs(profile: Any) -> int:
    """Encoder epochs at a profile: five per profile epoch, at most the paper's 200 (the encoder is
    a small MLP on cached features; an epoch is 3,000 triplets)."""
    return int(min(PAPER_EPOCHS, 5 * profile.epochs))


def backbone_cfg(profile: Any) -> dict[str, int]:
    """The face CNN at a profile: a 2D bottleneck ResNet-50 at paper width (``base_width`` >= 64),
    else ResNet-26 at the profile's width."""
    return {"depth": 50 if profile.base_width >= 64 else 26, "base_width": int(profile.base_width)}


def recipe(run: Any, *, edges: Sequence[float] = DEFAULT_EDGES, **overrides: Any) -> BinaryCodeRecipe:
    """The paper's configuration at the run's profile (``overrides``: any recipe field)."""
    p = run.profile
    base = {"target": PainLevel(tuple(edges)), "backbone_cfg": backbone_cfg(p), "size": int(p.image_size),
            "identity_epochs": int(p.identity_epochs), "epochs": binary_epochs(p)}
    return BinaryCodeRecipe(**{**base, **overrides})


def _keep(values: Sequence[int], profile: Any) -> list[int]:
    return list(values)[: profile.sweep_keep] if profile.sweep_keep else list(values)


def segment_lengths(profile: Any, given: Sequence[int] = ()) -> list[int]:
    """Figure 2's frames per segment: ``given``, else the paper's range cut by ``sweep_keep``."""
    return [int(v) for v in given] if given else _keep(PAPER_SEGMENT_LENGTHS, profile)


def code_lengths(profile: Any, given: Sequence[int] = ()) -> list[int]:
    """The code-length study's bits: ``given``, else 16-256 cut by ``sweep_keep``."""
    return [int(v) for v in given] if given else _keep(PAPER_CODE_LENGTHS, profile)


def level_counts(target: PainLevel, samples: Sequence, splits: Sequence) -> pd.DataFrame:
    """Videos per pain level in the whole set and in each fold's training part (whether every
    training fold has every level)."""
    levels = target.values(samples)
    k = target.num_outputs
    rows = [{"part": "all videos", **{f"level {c}": int((levels == c).sum()) for c in range(k)}}]
    for s in splits:
        tr = levels[np.asarray(s.train)]
        rows.append({"part": f"training part of {s.name}", **{f"level {c}": int((tr == c).sum()) for c in range(k)}})
    return pd.DataFrame(rows)


def code_costs(codes: np.ndarray, floats: np.ndarray, *, repeats: int = 20) -> dict[str, float]:
    """Memory per video and time of a nearest-class search over every reference vector, for ±1
    ``codes (N, q)`` packed to bits (XOR + popcount) and for ``floats (N, p)`` float32 features
    (squared Euclidean distance); one query against all N references, seconds (best of
    ``repeats``)."""
    packed = np.packbits(np.asarray(codes) > 0, axis=1)
    f = np.asarray(floats, np.float32)
    q_code, q_float = packed[:1], f[:1]
    table = np.array([bin(i).count("1") for i in range(256)], np.uint8)

    def best(fn) -> float:
        out = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return float(min(out))

    t_code = best(lambda: table[np.bitwise_xor(packed, q_code)].sum(1).argmin())
    t_float = best(lambda: ((f - q_float) ** 2).sum(1).argmin())
    return {"code_bytes": float(packed.shape[1]), "float_bytes": float(f.shape[1] * 4),
            "code_search_s": t_code, "float_search_s": t_float}


def fitted(result: Any, fold: int | str = 0):
    """A fold's fitted model of a :class:`~pain_lib.experiments.CVResult` as a
    :class:`~pain_lib.experiments.Fitted` (what the recipe's ``encode``/``decide`` take)."""
    from ...experiments import Fitted

    return Fitted(result.fitted(fold))


def segment_frames(recipe: BinaryCodeRecipe, sample: Any, *, cache_dir: Any = None, seed: int = 0,
                   draws: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(frame indices (draws, K), face crops (draws, K, S, S, 3))`` of one video's random snippets
    (one frame per segment of ``recipe.frames_per_segment`` frames)."""
    from ...data.bank import FrameBank

    faces = FrameBank.shared(size=recipe.size, crop=recipe.crop, cache_dir=cache_dir).faces(sample)
    idx = snippet_indices(len(faces), recipe.segments_of(len(faces)), rng=np.random.default_rng(seed), draws=draws)
    return idx, np.asarray(faces)[idx]


def saliency(recipe: BinaryCodeRecipe, fitted: Any, frames: np.ndarray, frame_features: np.ndarray | None = None,
             *, mean: Sequence[float] = (0.485, 0.456, 0.406), std: Sequence[float] = (0.229, 0.224, 0.225)) -> np.ndarray:
    """Gradient saliency of one video's code on its snippet frames: ``frames (K, S, S, 3)`` uint8
    (the snippet, one frame per segment) -> ``(K, S, S)`` maps, the absolute gradient (max over
    colour channels) of the agreement ``f · c`` between the encoder's real output and the code of
    the level the video is assigned to, through the face CNN, the aggregation and the encoder."""
    import torch

    from ...models.binary_codes import class_codes, codes, hamming

    m = fitted.model
    net = m["backbone"].eval()
    enc = recipe.load_encoder(m)
    x = torch.from_numpy(np.asarray(frames)).permute(0, 3, 1, 2).float().div(255.0)
    x = ((x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)).requires_grad_(True)
    feats = net(x)
    centres = m["centres"] if "vlad" in recipe.parts else None
    v = video_features(feats, np.arange(len(feats)), recipe.parts, centres)
    f = enc(((v - m["mean"]) / m["std"])[None])[0]
    ref, present = class_codes(m["train_codes"], m["train_levels"], recipe.target.num_outputs, rule="majority")
    d = hamming(codes(f.detach())[None], ref).numpy()
    d[~present] = np.inf
    (f * ref[int(np.argmin(d))]).sum().backward()
    return x.grad.abs().amax(1).numpy()

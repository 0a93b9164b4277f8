"""What a recipe predicts: targets as objects, not task strings.

A :class:`Target` says which labels it reads (and so which samples take part), whether its
values live on frames or on whole samples, the head it needs, its training loss, and its
metrics. Recipes take a target (or several, :func:`targets_of`) and never test a task name::

    target = ClassPair(4, 0)                     # BioVid [4-0]: PA4 = 1, BL1 = 0
    samples = target.select(videos)              # the videos of classes 4 and 0
    recipe = ClipRecipe("scn", cfg, setup, target=target)

=====================  =======  ==============  =================================================
target                 level    kind            reads
=====================  =======  ==============  =================================================
:class:`FramePSPI`     frame    regression      frame PSPI (UNBC ``Frame_Labels/PSPI``)
:class:`SequenceLabel` sample   regression      a sequence label: ``max_pspi``, ``opr``, ``vas`` ...
:class:`ClassPair`     sample   classification  BioVid classes / MIntPAIN levels ``i`` vs ``j``
:class:`AllClasses`    sample   classification  every class 0-4 (BioVid ``all-all``)
:class:`GenuinePosed`  sample   classification  the ``posed`` flag (BioVid Part A PA4 + the posed part)
:class:`PainPresence`  sample   classification  pain vs no pain in a label space UNBC and BioVid share
:class:`HeartRateGain` sample   regression      heart rate from the ECG (BioVid) or rPPG (frames)
=====================  =======  ==============  =================================================

Only labels a real copy of the dataset has are read (never the simulator's truth).

Outputs and metrics. A frame target's outputs are ``y_true, y_pred, sample, frame`` (one row
per scored frame); a sample target's ``y_true, y_pred | y_score, sample`` (one row per sample).
The second and later targets of a recipe prefix their output keys and metric names with
``<target.key>_`` (e.g. ``hrg_y_true``, ``hrg_mse``), so one fold's outputs hold every target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn as nn

from .. import metrics
from ..data.base import Sample
from ..data.labels import frame_pspi, sequence_label

__all__ = [
    "Target",
    "FramePSPI",
    "SequenceLabel",
    "ClassPair",
    "AllClasses",
    "GenuinePosed",
    "PainPresence",
    "HeartRateGain",
    "target_from_task",
    "targets_of",
    "StandardisedMSE",
    "sample_class",
]


#: a training target whose standard deviation is below this has no scale (the unit scale is used)
NO_SCALE_BELOW = 1e-3


class StandardisedMSE(nn.Module):
    """``MSE(prediction, target) / std**2``: the mean squared error of standardised targets,
    computed on predictions and targets in their own units."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.scale = 1.0 / float(std) ** 2

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return nn.functional.mse_loss(prediction, target) * self.scale


def sample_class(sample: Sample) -> int:
    """A sample's class 0-4: BioVid ``class`` (BL1, PA1-PA4), MIntPAIN ``level``."""
    return int(sequence_label(sample, "level"))


@dataclass(frozen=True)
class Target:
    """Base class of every target (see the module docstring). Frozen dataclasses: their fields
    are part of a recipe's identity and so of its store key."""

    #: ``"frame"`` (one value per frame) or ``"sample"`` (one value per sample)
    level: ClassVar[str] = "sample"
    #: ``"regression"`` or ``"classification"``
    kind: ClassVar[str] = "regression"
    #: bump when what the target computes changes (part of the store key)
    version: ClassVar[int] = 1

    # -- which samples and which values ----------------------------------------------
    @property
    def key(self) -> str:
        """Prefix of this target's outputs and metrics when it is not a recipe's first."""
        return type(self).__name__.lower()

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        """The samples that take part (those with the labels this target reads)."""
        return list(samples)

    def values(self, samples: Sequence[Sample]) -> np.ndarray | list[np.ndarray]:
        """Sample targets ``(N,)`` (int64 classes, float32 values), or one ``(T_i,)`` float32
        array per sample for a frame target."""
        raise NotImplementedError

    @property
    def num_outputs(self) -> int:
        """Outputs of the head for this target (1 for regression, the classes otherwise)."""
        return 1

    def head(self) -> dict[str, Any]:
        """Builder arguments of the output head when this is a recipe's only target."""
        if self.kind == "classification":
            return {"head": "classification", "num_outputs": self.num_outputs}
        return {"head": "regression", "num_outputs": 1}

    # -- training -------------------------------------------------------------------
    def statistics(self, values: np.ndarray | list[np.ndarray]) -> tuple[float, float] | None:
        """Training-fold mean and standard deviation of a regression target; ``None`` for
        classes. A (near-)constant training target -- a training fold without pain -- has no
        scale of its own and gets the unit scale (std 1): a tiny floor would divide the
        standardised loss by its square and blow the first SGD steps up."""
        if self.kind != "regression":
            return None
        v = np.concatenate([np.ravel(a) for a in values]) if isinstance(values, list) else np.asarray(values)
        v = v.astype(float)
        std = float(v.std())
        return float(v.mean()), std if std >= NO_SCALE_BELOW else 1.0

    def loss(self, stats: tuple[float, float] | None) -> nn.Module:
        """The training loss of this target's outputs (in their own units)."""
        if self.kind == "classification":
            return nn.CrossEntropyLoss()
        return StandardisedMSE(stats[1] if stats else 1.0)

    def score(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        if self.kind == "classification":
            return metrics.classification_metrics(outputs["y_true"], outputs["y_score"])
        return metrics.regression_metrics(np.asarray(outputs["y_true"], float), np.asarray(outputs["y_pred"], float))

    def __fingerprint__(self) -> dict:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {"target": type(self).__qualname__, "version": self.version, **fields}


@dataclass(frozen=True)
class FramePSPI(Target):
    """Frame-level PSPI regression (UNBC): a clip's target is its centre frame's PSPI. Metrics:
    MSE, MAE, PCC and AUC (ROC AUC of the predicted intensity for pain = PSPI > 0)."""

    level: ClassVar[str] = "frame"

    @property
    def key(self) -> str:
        return "pspi"

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        return [s for s in samples if "pspi" in s.labels]

    def values(self, samples: Sequence[Sample]) -> list[np.ndarray]:
        return [np.asarray(frame_pspi(s), np.float32) for s in samples]


@dataclass(frozen=True)
class SequenceLabel(Target):
    """A per-sample regression target from the dataset's sequence labels: ``max_pspi`` /
    ``mean_pspi`` (UNBC frame labels), ``opr``, ``vas``, ``aff``, ``sen`` (UNBC sequence labels).
    The AUC is of ``value > pain_threshold``."""

    label: str = "max_pspi"
    pain_threshold: float = 0.0

    @property
    def key(self) -> str:
        return self.label

    def _has(self, s: Sample) -> bool:
        return "pspi" in s.labels if self.label in ("max_pspi", "mean_pspi") else self.label in s.labels

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        return [s for s in samples if self._has(s)]

    def values(self, samples: Sequence[Sample]) -> np.ndarray:
        return np.array([sequence_label(s, self.label) for s in samples], np.float32)

    def score(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        return metrics.regression_metrics(np.asarray(outputs["y_true"], float), np.asarray(outputs["y_pred"], float),
                                          pain_threshold=self.pain_threshold)


@dataclass(frozen=True)
class ClassPair(Target):
    """A binary class pair ``[high-low]`` of BioVid (classes BL1=0, PA1-PA4 = 1-4) or MIntPAIN
    (levels 0-4): label 1 for ``high``, 0 for ``low``. Metrics: accuracy and ROC AUC."""

    high: int = 4
    low: int = 0
    kind: ClassVar[str] = "classification"

    def __post_init__(self) -> None:
        if self.high == self.low or not (0 <= self.low <= 4 and 0 <= self.high <= 4):
            raise ValueError(f"a class pair needs two different classes 0-4, got [{self.high}-{self.low}]")

    @property
    def key(self) -> str:
        return f"{self.high}-{self.low}"

    @property
    def num_outputs(self) -> int:
        return 2

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        return [s for s in samples if _has_class(s) and sample_class(s) in (self.high, self.low)]

    def values(self, samples: Sequence[Sample]) -> np.ndarray:
        return np.array([int(sample_class(s) == self.high) for s in samples], np.int64)


@dataclass(frozen=True)
class AllClasses(Target):
    """Every class 0-4 (BioVid / MIntPAIN ``[all-all]``): five-way classification."""

    classes: int = 5
    kind: ClassVar[str] = "classification"

    @property
    def key(self) -> str:
        return "all-all"

    @property
    def num_outputs(self) -> int:
        return self.classes

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        return [s for s in samples if _has_class(s)]

    def values(self, samples: Sequence[Sample]) -> np.ndarray:
        return np.array([sample_class(s) for s in samples], np.int64)


@dataclass(frozen=True)
class GenuinePosed(Target):
    """Genuine (0) vs posed (1) pain expressions: the videos of class ``genuine_class`` of a
    genuine part (BioVid Part A PA4) and every video of a posed part (``labels["posed"]``)."""

    genuine_class: int = 4
    kind: ClassVar[str] = "classification"

    @property
    def key(self) -> str:
        return "genuine-posed"

    @property
    def num_outputs(self) -> int:
        return 2

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        return [s for s in samples if s.labels.get("posed") or (_has_class(s) and sample_class(s) == self.genuine_class)]

    def values(self, samples: Sequence[Sample]) -> np.ndarray:
        return np.array([int(bool(s.labels.get("posed"))) for s in samples], np.int64)


@dataclass(frozen=True)
class PainPresence(Target):
    """Pain (1) vs no pain (0) in a label space UNBC and BioVid share (cross-dataset runs):

    * UNBC (frame PSPI): a sequence is *pain* when its maximum PSPI is at least
      ``pspi_threshold``, *no pain* when it is 0; sequences in between take no part;
    * BioVid / MIntPAIN (classes): class ``pain_class`` is *pain*, class 0 *no pain*.

    The two readings are the datasets' own labels (no simulator truth); the thresholds are a
    choice the notebooks that use this target state in their fidelity notes."""

    pspi_threshold: float = 3.0
    pain_class: int = 4
    kind: ClassVar[str] = "classification"

    @property
    def key(self) -> str:
        return "pain"

    @property
    def num_outputs(self) -> int:
        return 2

    def _label(self, s: Sample) -> int | None:
        if "pspi" in s.labels:
            peak = float(np.max(s.labels["pspi"]))
            return 1 if peak >= self.pspi_threshold else (0 if peak == 0 else None)
        if _has_class(s):
            c = sample_class(s)
            return 1 if c == self.pain_class else (0 if c == 0 else None)
        return None

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        return [s for s in samples if self._label(s) is not None]

    def values(self, samples: Sequence[Sample]) -> np.ndarray:
        return np.array([self._label(s) for s in samples], np.int64)


@dataclass(frozen=True)
class HeartRateGain(Target):
    """Heart-rate gain (the ``hrg`` paper, Fig. 4): a sample's heart rate divided by the mean
    heart rate of the same subject's no-pain (class 0) samples. The heart rate comes from the
    ECG of the sample's biosignal file (BioVid, R-peaks), else from rPPG (POS) over its frames;
    ``source`` forces one. Subjects without a class-0 sample take no part."""

    source: str = "auto"
    method: str = "pos"

    def __post_init__(self) -> None:
        if self.source not in ("auto", "ecg", "rppg"):
            raise ValueError(f"heart-rate source must be 'auto', 'ecg' or 'rppg', got {self.source!r}")

    @property
    def key(self) -> str:
        return "hrg"

    def heart_rates(self, samples: Sequence[Sample]) -> tuple[np.ndarray, list[str]]:
        """Heart rate (bpm) of each sample and where it came from (``ecg`` / ``rppg-pos``);
        cached per sample in the preprocessing cache."""
        from ..preprocess.cache import FeatureCache

        cache = FeatureCache()
        out, where = [], []
        for s in samples:
            use_ecg = self.source == "ecg" or (self.source == "auto" and s.physiology is not None)
            if use_ecg and s.physiology is None:
                raise ValueError(f"sample {s.sample_id!r} has no biosignal file: heart-rate source 'ecg' needs one "
                                 "(use source='rppg' or 'auto')")
            kind = "ecg" if use_ecg else f"rppg-{self.method}"
            value = cache.get_or_compute("heart_rate", s, {"source": kind},
                                         lambda s=s, k=kind: np.float64(_heart_rate(s, k, self.method)))
            out.append(float(value))
            where.append(kind)
        return np.asarray(out), where

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        base = {s.subject for s in samples if _has_class(s) and sample_class(s) == 0}
        return [s for s in samples if s.subject in base and _has_class(s)]

    def values(self, samples: Sequence[Sample]) -> np.ndarray:
        from ..preprocess.hrg import heart_rate_gain

        hr, _ = self.heart_rates(samples)
        return heart_rate_gain(hr, [s.subject for s in samples], [sample_class(s) for s in samples]).astype(np.float32)


def _has_class(s: Sample) -> bool:
    return "class" in s.labels or "level" in s.labels


def _heart_rate(sample: Sample, kind: str, method: str) -> float:
    from ..preprocess.hrg import sample_heart_rate

    if kind == "ecg":
        from ..data.biovid import read_biosignals

        bio = read_biosignals(sample.physiology)
        fs = 1.0 / float(np.median(np.diff(bio["t"].to_numpy())))
        return sample_heart_rate(ecg=bio["ecg"].to_numpy(), fs=fs)[0]
    from ..data.video import read_clip

    return sample_heart_rate(frames=read_clip(sample), fps=sample.fps, method=method)[0]


def target_from_task(task: str) -> Target:
    """The target of a task name of the papers' tables: ``"4-0"`` ... ``"1-0"`` (class pairs),
    ``"all-all"``, ``"genuine-posed"``, ``"pspi"`` (frame PSPI)."""
    import re

    if task == "all-all":
        return AllClasses()
    if task == "genuine-posed":
        return GenuinePosed()
    if task == "pspi":
        return FramePSPI()
    m = re.fullmatch(r"(\d)-(\d)", task)
    if not m:
        raise ValueError(f"unknown task {task!r}: use 'i-j' (two classes 0-4, e.g. '4-0'), 'all-all', "
                         "'genuine-posed' or 'pspi'")
    return ClassPair(int(m.group(1)), int(m.group(2)))


def targets_of(target: Target | Sequence[Target]) -> tuple[Target, ...]:
    """``target`` as a tuple of targets (a recipe may carry several); checked."""
    ts = (target,) if isinstance(target, Target) else tuple(target)
    if not ts or not all(isinstance(t, Target) for t in ts):
        raise TypeError(f"a target must be a pain_lib.experiments.Target (or a tuple of them), got {target!r}")
    if len(ts) > 1 and any(t.level == "frame" for t in ts):
        raise ValueError("a frame-level target cannot be combined with others: combine sample-level targets")
    return ts

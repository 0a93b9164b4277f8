"""The *binary* paper's label: the pain level of a whole video, read from its frame PSPI.

The paper classifies "four pain levels" (Figure 3) of whole UNBC videos but does not say how a
video's level is made from its frame labels. :class:`PainLevel` reads it from the video's maximum
frame PSPI (UNBC ``Frame_Labels/PSPI``, a label the real dataset has): level = the number of
``edges`` at or below that maximum, so the default edges ``(1, 5, 9)`` give 0 (no pain frame),
1 (peak PSPI 1-4), 2 (5-8) and 3 (9 and above) -- four levels spread over UNBC's 0-15 range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ... import metrics
from ...data.base import Sample
from ...data.labels import sequence_label
from ...experiments.targets import Target

__all__ = ["PainLevel", "DEFAULT_EDGES"]

#: maximum-PSPI thresholds between the four levels
DEFAULT_EDGES = (1.0, 5.0, 9.0)


@dataclass(frozen=True)
class PainLevel(Target):
    """A video's pain level from its maximum frame PSPI (see the module docstring): classes
    ``0 .. len(edges)``.

    Metrics: ``accuracy`` of the arg-max class score; ``mse``, ``mae`` and ``pcc`` on the level
    scale (0-3) of the outputs' ``y_pred`` (a recipe's decided level) or, for outputs with class
    scores only (the baselines), of the expected level under the softmax of the scores -- the
    trivial baseline's class frequencies make that the training fold's mean level, the
    MSE-optimal constant."""

    edges: tuple[float, ...] = DEFAULT_EDGES
    kind: ClassVar[str] = "classification"

    def __post_init__(self) -> None:
        e = tuple(float(x) for x in self.edges)
        if not e or any(b <= a for a, b in zip(e, e[1:])) or e[0] <= 0:
            raise ValueError(f"pain-level edges must be increasing maximum-PSPI values above 0, got {self.edges!r}")
        object.__setattr__(self, "edges", e)

    @property
    def key(self) -> str:
        return "pain-level"

    @property
    def num_outputs(self) -> int:
        return len(self.edges) + 1

    def describe(self) -> list[str]:
        """The levels in words (``"0: max PSPI < 1"``, ...)."""
        e = self.edges
        out = [f"0: max PSPI < {e[0]:g}"]
        out += [f"{i + 1}: {a:g} <= max PSPI < {b:g}" for i, (a, b) in enumerate(zip(e, e[1:]))]
        return out + [f"{len(e)}: max PSPI >= {e[-1]:g}"]

    def select(self, samples: Sequence[Sample]) -> list[Sample]:
        return [s for s in samples if "pspi" in s.labels]

    def levels(self, peaks: np.ndarray) -> np.ndarray:
        """Levels of maximum-PSPI values."""
        return np.searchsorted(np.asarray(self.edges), np.asarray(peaks, float), side="right").astype(np.int64)

    def values(self, samples: Sequence[Sample]) -> np.ndarray:
        return self.levels(np.array([sequence_label(s, "max_pspi") for s in samples], float))

    def score(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        y = np.asarray(outputs["y_true"], np.int64)
        s = np.asarray(outputs["y_score"], np.float64)
        if "y_pred" in outputs:
            level = np.asarray(outputs["y_pred"], np.float64)
        else:
            p = torch.softmax(torch.as_tensor(s), 1).numpy()
            level = p @ np.arange(s.shape[1])
        out = {"accuracy": metrics.accuracy(y, s)}
        reg = metrics.regression_metrics(y.astype(float), level)
        out.update({k: reg[k] for k in ("mse", "mae", "pcc") if k in reg})
        return out

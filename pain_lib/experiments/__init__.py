"""The experiment engine shared by every paper: recipes, the store, cross-validation, grids.

* :mod:`.recipe` -- the contract: a recipe ``fit``\\ s a training fold, ``predict``\\ s a test fold
  and ``score``\\ s predictions (:class:`Recipe`, :class:`Fitted`, :class:`FitContext`);
* :mod:`.cv` -- :func:`cross_validate` (folds -> fit -> predict -> score -> store, with resume)
  and :func:`run_grid` (the cells of a results table);
* :mod:`.store` -- the content-addressed, checksummed, lock-protected experiment store;
* :mod:`.results` -- :class:`CVResult` (summaries, per-subject values, learning curves, noise
  bands) and :func:`compare` (paired bootstrap of a difference);
* :mod:`.targets` -- what is predicted (:class:`FramePSPI`, :class:`ClassPair`, :class:`HeartRateGain`, ...);
* :mod:`.clips` -- the clip-network recipe (:class:`ClipRecipe`) every 3D network of the papers uses,
  with the clip samplers of :mod:`.samplers`;
* :mod:`.representations` -- named per-video representations and frozen-network features,
  computed once per dataset and cached; :mod:`.images` -- the image recipe (:class:`ImageRecipe`)
  of every 2D backbone on them;
* :mod:`.protocols` -- subject-grouped folds, LOSO and the cross-dataset roles;
* :mod:`.baselines` -- the trivial and linear baselines every table shows, and the ``learned`` flag;
* :mod:`.pretrain` -- the face-identity stand-in for a face- or ImageNet-pretrained 2D network.

See ``docs/CONTRACTS.md`` for a worked example of a new recipe.
"""

from ..fingerprint import fingerprint
from .baselines import LinearBaseline, TrivialBaseline, baselines_for, learned
from .clips import (
    ClipRecipe,
    ClipSetup,
    TargetLoss,
    bank_for,
    clip_batches,
    continuous_trace,
    target_statistics,
    to_memory_format,
    validation_split,
)
from .cluster import Cluster, JobsFailed, JobsPending
from .cv import METRIC_LABELS, RUN_AT_FULL, Cell, cross_validate, run_grid, select_cells
from .images import ImageRecipe, ImageSetup
from .pretrain import face_images, pretrain_2d_identity, pretrained_backbone
from .protocols import CrossDataset, roles, two_datasets
from .recipe import FitContext, Fitted, Recipe, filled_cfg, pack, unpack
from .representations import (
    REPRESENTATIONS,
    Representation,
    frozen_features,
    register_representation,
    representation_tensor,
)
from .results import (
    BAND_LEVEL,
    BOOTSTRAP_DRAWS,
    Comparison,
    CVResult,
    compare,
    compare_pairs,
    compare_rows,
)
from .samplers import Contiguous, FrameSkip, KeyFrames, Segments, make_sampler
from .store import STORE_VERSION, DamagedEntryWarning, Entry, Store, experiment_key
from .targets import (
    AllClasses,
    ClassPair,
    FramePSPI,
    GenuinePosed,
    HeartRateGain,
    PainPresence,
    SequenceLabel,
    StandardisedMSE,
    Target,
    target_from_task,
    targets_of,
)

__all__ = [
    "Recipe", "Fitted", "FitContext", "filled_cfg", "pack", "unpack",
    "cross_validate", "run_grid", "Cell", "select_cells", "RUN_AT_FULL", "CrossDataset", "METRIC_LABELS",
    "Cluster", "JobsFailed", "JobsPending",
    "CVResult", "Comparison", "compare", "compare_rows", "compare_pairs", "BOOTSTRAP_DRAWS", "BAND_LEVEL",
    "Store", "Entry", "STORE_VERSION", "DamagedEntryWarning", "experiment_key", "fingerprint",
    "ClipRecipe", "ClipSetup", "StandardisedMSE", "TargetLoss", "target_statistics",
    "continuous_trace", "to_memory_format", "clip_batches", "bank_for", "validation_split",
    "Target", "FramePSPI", "SequenceLabel", "ClassPair", "AllClasses", "GenuinePosed", "PainPresence",
    "HeartRateGain", "target_from_task", "targets_of",
    "Contiguous", "Segments", "FrameSkip", "KeyFrames", "make_sampler",
    "ImageRecipe", "ImageSetup", "Representation", "REPRESENTATIONS", "register_representation",
    "representation_tensor", "frozen_features", "two_datasets", "roles",
    "pretrained_backbone", "pretrain_2d_identity", "face_images",
    "TrivialBaseline", "LinearBaseline", "baselines_for", "learned",
]

"""The experiment engine shared by every paper: recipes, the store, cross-validation, grids.

* :mod:`.recipe` -- the contract: a recipe ``fit``\\ s a training fold, ``predict``\\ s a test fold
  and ``score``\\ s predictions (:class:`Recipe`, :class:`Fitted`, :class:`FitContext`);
* :mod:`.cv` -- :func:`cross_validate` (folds -> fit -> predict -> score -> store, with resume)
  and :func:`run_grid` (the cells of a results table);
* :mod:`.store` -- the content-addressed, checksummed, lock-protected experiment store;
* :mod:`.results` -- :class:`CVResult` (summaries, per-subject values, learning curves, noise
  bands) and :func:`compare` (paired bootstrap of a difference);
* :mod:`.clips` -- the clip-network recipe (:class:`ClipRecipe`) every 3D network of the papers uses.

See ``docs/CONTRACTS.md`` for a worked example of a new recipe.
"""

from ..fingerprint import fingerprint
from .clips import (
    TASKS,
    ClipRecipe,
    ClipSetup,
    StandardisedMSE,
    bank_for,
    clip_batches,
    continuous_trace,
    head_config,
    target_statistics,
    to_memory_format,
    validation_split,
)
from .cv import METRIC_LABELS, Cell, CrossDataset, cross_validate, run_grid
from .recipe import FitContext, Fitted, Recipe, filled_cfg, pack, unpack
from .results import (
    BAND_LEVEL,
    BOOTSTRAP_DRAWS,
    Comparison,
    CVResult,
    compare,
    compare_pairs,
    compare_rows,
)
from .store import STORE_VERSION, DamagedEntryWarning, Entry, Store, experiment_key

__all__ = [
    "Recipe", "Fitted", "FitContext", "filled_cfg", "pack", "unpack",
    "cross_validate", "run_grid", "Cell", "CrossDataset", "METRIC_LABELS",
    "CVResult", "Comparison", "compare", "compare_rows", "compare_pairs", "BOOTSTRAP_DRAWS", "BAND_LEVEL",
    "Store", "Entry", "STORE_VERSION", "DamagedEntryWarning", "experiment_key", "fingerprint",
    "ClipRecipe", "ClipSetup", "StandardisedMSE", "TASKS", "head_config", "target_statistics",
    "continuous_trace", "to_memory_format", "clip_batches", "bank_for", "validation_split",
]

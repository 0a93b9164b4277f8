"""Dataset readers, label views, video IO, samplers, face crops, clip datasets and splits.

>>> from pain_lib.data import open_dataset, read_clip
>>> ds = open_dataset("synth-unbc", root)          # or "unbc", "biovid", "mint", "synth-biovid", ...
>>> clip = read_clip(ds.samples[0], indices=range(16))   # (16, H, W, 3) uint8 RGB

``open_dataset`` dispatches through :data:`DATASET_READERS` (name -> reader class); the
synthetic flavours use the same readers as the real datasets.

Modules: ``base`` (Sample, PainDataset, errors), ``unbc`` / ``biovid`` / ``mint`` (readers),
``labels`` (label views, class-pair tasks), ``video`` (OpenCV IO, RGB), ``samplers``,
``crop`` (landmark / Haar face boxes, smoothing), ``cache`` (on-disk clip cache),
``clips`` (``ClipDataset`` for 3D CNNs; imports torch), ``splits`` (LOSO, group k-fold,
cross-dataset), ``summary`` (ssd Table 1), ``check`` (``pain-lib data check``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import CorruptMediaError, DataLayoutError, PainDataset, Sample, Truth
from .biovid import BioVidDataset, read_biosignals
from .labels import frame_pspi, pspi_levels, select_task, sequence_label
from .mint import MIntPAINDataset
from .splits import Split, make_splits
from .unbc import UNBCDataset, load_landmarks
from .video import read_clip, read_images, read_video, video_info

__all__ = [
    "DATASET_READERS",
    "open_dataset",
    "open_real_or_synthetic",
    "Sample",
    "Truth",
    "PainDataset",
    "DataLayoutError",
    "CorruptMediaError",
    "UNBCDataset",
    "BioVidDataset",
    "MIntPAINDataset",
    "read_clip",
    "read_video",
    "read_images",
    "video_info",
    "read_biosignals",
    "load_landmarks",
    "frame_pspi",
    "sequence_label",
    "select_task",
    "pspi_levels",
    "make_splits",
    "Split",
]

#: dataset name -> reader class (synthetic flavours share the real readers)
DATASET_READERS: dict[str, type[PainDataset]] = {
    "unbc": UNBCDataset,
    "biovid": BioVidDataset,
    "mint": MIntPAINDataset,
    "synth-unbc": UNBCDataset,
    "synth-biovid": BioVidDataset,
    "synth-mint": MIntPAINDataset,
}


def open_dataset(name: str, root: str | Path | None = None, **options: Any) -> PainDataset:
    """Open dataset ``name`` at ``root``.

    ``options`` go to the reader (e.g. ``part="posed"`` for BioVid, ``fps=`` for UNBC).
    For a ``synth-*`` name, ``root=None`` generates / reuses the default synthetic set
    (options ``scale`` -- default ``"standard"`` -- and ``seed``).
    """
    try:
        reader = DATASET_READERS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASET_READERS)}") from None
    if root is None or str(root) == "":
        if not name.startswith("synth-"):
            raise DataLayoutError(
                f"dataset {name!r} is licensed and not shipped: pass root= (the folder where you "
                f"unpacked it; see data_manifests/{name}.yaml), or use 'synth-{name}'")
        from .. import synth

        root = synth.ensure(name, options.pop("scale", "standard"), seed=options.pop("seed", 0))
    else:
        options.pop("scale", None)
        options.pop("seed", None)
    return reader(Path(root), **options)


def open_real_or_synthetic(name: str, root: str | Path | None, *, scale: str, seed: int = 0,
                           **options: Any) -> PainDataset:
    """The real dataset ``name`` (``unbc`` / ``biovid`` / ``mint``) at ``root``, or -- when
    ``root`` is empty -- its look-alike ``synth-<name>`` at ``scale`` (generated if needed)."""
    if root is not None and str(root) != "":
        return open_dataset(name, root, **options)
    return open_dataset(f"synth-{name}", None, scale=scale, seed=seed, **options)

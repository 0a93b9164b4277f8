"""Dataset readers, label views, video IO, samplers, face crops, clip datasets and splits.

>>> from pain_lib.data import open_dataset, read_clip
>>> ds = open_dataset("synth-unbc", root)          # or "unbc", "biovid", "mint", "synth-biovid", ...
>>> clip = read_clip(ds.samples[0], indices=range(16))   # (16, H, W, 3) uint8 RGB

``open_dataset`` dispatches through :data:`DATASET_READERS` (name -> reader class); the
synthetic flavours use the same readers as the real datasets.

Modules: ``base`` (Sample, PainDataset, errors), ``unbc`` / ``biovid`` / ``mint`` (readers),
``labels`` (label views, class-pair tasks), ``video`` (OpenCV IO, RGB), ``samplers``,
``crop`` (landmark / Haar face boxes, smoothing), ``cache`` (on-disk clip cache),
``bank`` (every clip of an experiment: face crops on the training device, ``ClipBatches``;
imports torch), ``splits`` (LOSO, group k-fold), ``summary`` (ssd Table 1); ``pain-lib data check`` is :mod:`pain_lib.datacheck`.
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


def open_dataset(name: str, root: str | Path, **options: Any) -> PainDataset:
    """Open dataset ``name`` (a real dataset or a synthetic flavour, in the real layout) at ``root``.

    ``options`` go to the reader (e.g. ``part="posed"`` for BioVid, ``fps=`` for UNBC). To open
    (and generate on first use) the default synthetic set of a flavour, use
    :func:`pain_lib.synth.open_synthetic`.
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
        raise DataLayoutError(
            f"dataset {name!r} needs root=; pain_lib.synth.open_synthetic({name!r}, scale) generates "
            f"(once) and opens the default synthetic set")
    return reader(Path(root), **options)

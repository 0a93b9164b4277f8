"""Paper ``ahdi`` (Serraoui et al. 2023, adaptive hierarchical dynamic images): recipes, grids, notes.

* representations: the library's named ones (:mod:`pain_lib.experiments.representations`):
  ``frame`` (the "No SDI" rows), ``dynamic_image`` (SDI), ``mean``, ``flow``, ``mdv`` (Eq. 5) and
  ``ahdi`` with this package's reading of Algorithm 1 and Eq. 3 (:data:`AHDI_PARAMS`, see
  ``NOTES.md``: ``patch``, ``segments``);
* recipes: every cell is an :class:`~pain_lib.experiments.ImageRecipe` (:func:`recipe`): a
  registered 2D backbone at the profile's width and its smallest valid input size
  (:meth:`ImageSetup.backbone`), optionally started from pre-trained weights
  (:class:`TransferImageRecipe`: ImageNet weights when cached, else the engine's face-identity
  stand-in, :func:`~pain_lib.experiments.pretrained_backbone`);
* grids: row and column labels are read from the transcribed tables (``paper_tables/ahdi.csv``),
  so computed rows carry the paper's labels; profiles cut the sweeps (``Profile.sweep_keep``);
* data: :func:`genuine_posed_samples` (BioVid Part A + the posed part, subject-grouped folds
  over their union, :func:`subject_split`); :func:`posed_onset_samples`, the simulator variants of
  the posed-onset study (beyond the paper).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from ...data.base import Sample
from ...experiments import (
    ClassPair,
    GenuinePosed,
    ImageRecipe,
    ImageSetup,
    Representation,
    SequenceLabel,
    Target,
    pretrained_backbone,
)
from ...experiments.recipe import FitContext
from ...report import paper_table
from .. import shared_notes

__all__ = [
    "AHDI_PARAMS",
    "BACKBONES",
    "DEPTHS",
    "POOLING_OF_ROW",
    "notes",
    "setup",
    "backbone_of",
    "backbone_note",
    "narrowable",
    "representation",
    "recipe",
    "TransferImageRecipe",
    "pain_level",
    "genuine_posed",
    "unbc_target",
    "genuine_posed_samples",
    "POSED_ONSET_KNOBS",
    "posed_onset_samples",
    "subject_split",
    "paper_rows",
    "patch_row",
    "segment_row",
    "mdv_params",
]

#: this package's reading of AHDI (NOTES.md ``patch`` and ``segments``): Algorithm 1's equal split
#: rescaled by the inverse motion (time-aligned segments); patch descriptors by local contrast
#: normalisation over the p x p patch (non-linear: the patch size matters), the paper's best 9 x 9;
#: Eq. 4 as "a weight map for every pair of segments": the N - 1 pair maps are the image's channels
AHDI_PARAMS: dict[str, Any] = {"n_segments": 4, "patch_size": 9, "segmentation": "rescale",
                               "patch_mode": "normalize", "overlap": 0.0, "hierarchy": "pairs"}

#: the paper's backbone labels (Table 1, references stripped) -> registered 2D models
BACKBONES: dict[str, str] = {
    "Inception": "inception_v3",
    "xception": "xception",
    "EfficientNetV3": "efficientnet_v2_s",  # no such model: [53] is EfficientNetV2 (arXiv 2104.00298)
    "Vit": "vit_b_16",
    "Swin-Vit": "swin_t",
    "ResNet50": "resnet50",
}
#: Figure 5's ResNet depths
DEPTHS = (18, 34, 50, 101, 152)
#: Table 5's rows -> temporal pooling of :mod:`pain_lib.models.temporal_pooling`
POOLING_OF_ROW: dict[str, str] = {"Average Pooling": "average", "Max Pooling": "max", "Rank Pooling": "rank",
                                  "LSTM": "lstm", "Temporal Attention Pooling": "attention"}


def notes(*keys: str):
    """The shared fidelity notes ``keys`` (sections of ``NOTES.md`` beside this module) as
    Markdown for a notebook to display (all of them without ``keys``)."""
    return shared_notes(__package__, keys)


def setup(run: Any, **overrides: Any) -> ImageSetup:
    """The profile's image setup (:meth:`ImageSetup.from_profile`)."""
    return ImageSetup.from_profile(run.profile, **overrides)


def backbone_of(label: str) -> str:
    """The registered model of a paper backbone label (``"ResNet50 [56]"``, ``"ResNet50[56]"``,
    ``"Swin-Vit"``...)."""
    name = re.sub(r"\s*\[\d+\]\s*$", "", label.split("|")[-1]).strip()
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone label {label!r}; labels: {', '.join(BACKBONES)}")
    return BACKBONES[name]


def backbone_note(image_setup: ImageSetup, model: str) -> str:
    """What the setup reduces for ``model`` (width, input size), for the notebook's reduced list."""
    return image_setup.backbone(model)[2]


def narrowable(image_setup: ImageSetup, model: str) -> bool:
    """Whether the setup narrows ``model`` to its width (ResNets, EfficientNet); Inception-v3,
    Xception, ViT and Swin run at full width at every profile."""
    return bool({"width", "base_width", "width_mult"} & set(image_setup.backbone(model)[0]))


def representation(name: str, params: Mapping[str, Any] | None = None, *, size: int) -> Representation:
    """A named representation at ``size`` px; ``ahdi`` starts from :data:`AHDI_PARAMS`."""
    base = dict(AHDI_PARAMS) if name == "ahdi" else {}
    return Representation(name, {**base, **dict(params or {})}, size=int(size))


@dataclass(frozen=True)
class TransferImageRecipe(ImageRecipe):
    """An :class:`ImageRecipe` whose backbone starts from pre-trained weights (the paper's
    "knowledge transfer", Fig. 5): ImageNet weights when the local torch/timm cache has them
    (full-width networks only), else the engine's face-identity pre-training on the training
    fold's face crops (:func:`~pain_lib.experiments.pretrained_backbone`, a store stage);
    the fold's record says which (``init_source``)."""

    identity_epochs: int = 2
    #: every this many frames of each training video is a pre-training image
    every: int = 8
    name = "image-transfer"

    def initial_state(self, samples: Sequence[Sample], ctx: FitContext) -> tuple[dict | None, dict[str, Any]]:
        from ...data.bank import FrameBank

        rep = self.representation
        size = int(rep.size)

        def images() -> tuple[torch.Tensor, list[str]]:
            bank = FrameBank.shared(size=size, crop=rep.crop, cache_dir=ctx.cache_dir)
            bank.fill_cache(samples)
            x, ids = [], []
            for s in samples:
                f = np.asarray(bank.faces(s))[:: self.every]
                x.append(f)
                ids += [s.subject] * len(f)
            return torch.from_numpy(np.concatenate(x)), ids

        if self.pooling:
            raise ValueError("TransferImageRecipe starts a single-image backbone; give no pooling")
        net, prov = pretrained_backbone(self.model, dict(self.cfg), samples, ctx,
                                        images=images, epochs=self.identity_epochs,
                                        batch_size=max(self.setup.batch_size, 16), amp=self.setup.amp,
                                        inputs={"size": size, "crop": rep.crop, "every": self.every},
                                        analogue_of="an ImageNet-pretrained 2D network")
        source = str(prov.get("source", "face-identity stand-in"))
        return net.state_dict(), {"init_source": source}


def recipe(run: Any, model: str, rep: str, *, target: Target, params: Mapping[str, Any] | None = None,
           pooling: str | None = None, transfer: bool = False, cfg: Mapping[str, Any] | None = None,
           image_setup: ImageSetup | None = None) -> ImageRecipe:
    """The recipe of one table cell: backbone ``model`` at the profile's width and its smallest
    valid input size, on representation ``rep`` (``params``), predicting ``target``; a sequence
    representation with ``pooling`` (Table 5); with ``transfer``, from pre-trained weights."""
    s = image_setup or setup(run)
    bcfg, size, _ = s.backbone(model)
    r = representation(rep, params, size=size)
    common = {"model": model, "cfg": {**bcfg, **dict(cfg or {})}, "representation": r, "setup": s,
              "target": target, "pooling": pooling}
    if transfer:
        return TransferImageRecipe(**common, identity_epochs=int(run.profile.identity_epochs))
    return ImageRecipe(**common)


# ----------------------------------------------------------------------------- targets and data
def pain_level() -> ClassPair:
    """The "pain level" task of Tables 2-5 and Figure 5: BioVid BL1 vs PA4 (Sec. 5.1)."""
    return ClassPair(4, 0)


def genuine_posed() -> GenuinePosed:
    """Genuine (Part A PA4) vs posed (the posed part) pain (Tables 3, 4, 8)."""
    return GenuinePosed(genuine_class=4)


def unbc_target() -> SequenceLabel:
    """UNBC's target of Tables 1 and 6: one AHDI per sequence regresses its maximum PSPI."""
    return SequenceLabel("max_pspi")


def genuine_posed_samples(run: Any) -> list[Sample]:
    """The run's BioVid Part A and its posed part (``part="posed"``, Part D by default) as one list:
    subject-grouped folds over it keep every subject's genuine and posed videos on one side."""
    genuine = run.open_dataset().samples
    posed = run.open_dataset(part="posed").samples
    return [*genuine, *posed]


#: the posed-onset study's simulator knobs besides the speed-up: genuine windows of PA4 only
POSED_ONSET_KNOBS: dict[str, Any] = {"genuine_levels": (4,)}


def posed_onset_samples(run: Any, speedup: float) -> list[Sample]:
    """Genuine (PA4) and posed videos of the simulator variant whose posed windows are drawn like
    genuine PA4 windows of the same subjects with their onsets and offsets ``speedup`` times faster
    (:class:`~pain_lib.synth.scales.ScaleParams`, ``posed_onset_speedup``; 1: no difference at
    all), at the run's synthetic scale and seed. Generated into the project's data folder on first
    use (a study of the simulator: it has no real-data counterpart)."""
    from ... import synth
    from ...data import open_dataset

    if not float(speedup) >= 1:
        raise ValueError(f"posed-onset speed-up must be >= 1 (1: posed onsets as fast as genuine ones), got {speedup!r}")
    root = synth.ensure("synth-biovid", run.profile.synth_scale, seed=int(run.params.get("synth_seed", 0)),
                        progress=False, posed_onset_speedup=float(speedup), **POSED_ONSET_KNOBS)
    return [*open_dataset("synth-biovid", root).samples, *open_dataset("synth-biovid", root, part="posed").samples]


def subject_split(samples: Sequence[Sample], cv: str, seed: int = 0) -> pd.DataFrame:
    """Per fold of ``cv`` over ``samples``: the numbers of training / test subjects, genuine and
    posed test videos, and the subjects found on both sides (must be none)."""
    from ...experiments.protocols import splits

    rows = []
    for sp in splits(samples, cv, seed):
        tr = {samples[i].subject for i in sp.train}
        te = {samples[i].subject for i in sp.test}
        posed = [bool(samples[i].labels.get("posed")) for i in sp.test]
        rows.append({"fold": sp.name, "train subjects": len(tr), "test subjects": len(te),
                     "test genuine videos": int(len(posed) - sum(posed)), "test posed videos": int(sum(posed)),
                     "subjects in both": len(tr & te)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- grids
def paper_rows(artifact: str) -> list[str]:
    """The row labels of a transcribed table, in the paper's order."""
    return list(dict.fromkeys(paper_table("ahdi", artifact)["row"]))


def patch_row(size: int) -> str:
    """Table 3's row of a patch size (``[9x9]``)."""
    return f"[{size}x{size}]"


def segment_row(length: int | None) -> str:
    """Table 4's row of a fixed segment length (``None``: adaptive, the ``AHDI`` row)."""
    return "AHDI" if length is None else f"Temporal segment length = {length}"


def mdv_params(window: int, k: int) -> dict[str, int]:
    """Table 5's multiple dynamic images: ``k`` windows of ``window`` frames, evenly spaced
    (Eq. 5's segments of length M; the stride follows from the video length)."""
    return {"window": int(window), "k": int(k)}

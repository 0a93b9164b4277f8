"""Paper ``ssd`` (Tavakolian, Bordallo Lopez & Liu, PRL 2020): statistical spatiotemporal
distillation (SSD) and a self-supervised Siamese pretext across datasets -- recipes, grids and
notebook helpers.

* representations: the engine's named ``ssd`` / ``ssd_flow`` / ``flow`` / ``frame``
  (:mod:`pain_lib.experiments.representations`, the maps of :mod:`pain_lib.preprocess.ssd`),
  :func:`representation` gives them at the paper's settings (20-frame segments, 5 x 5 blocks,
  TV-L1 flow);
* recipes: a supervised 2D backbone on one image per video is the engine's
  :class:`~pain_lib.experiments.ImageRecipe` (:func:`supervised`); the self-supervised ones
  (:mod:`.pretext`: the paper's Siamese affine-hull pretext, OPN, jigsaw, deep clustering) are
  image recipes whose initial weights come from a pretext stage on the fold's unlabelled videos
  (:func:`self_supervised`); the 3D counterparts of Table 3 are clip recipes initialised by
  inflating the 2D network (:mod:`.inflated`);
* grids: :func:`segment_lengths` / :func:`patch_sizes` (Figure 3), :func:`table45_settings`
  (Tables 4-5), :func:`targets` (what is predicted on each dataset), :func:`videos_for_segment`;
* helpers: :func:`notes` (the shared fidelity notes of ``NOTES.md``), :func:`other_dataset`;
* the domain-gap study (beyond the paper): :func:`domain_gap_pair` (the simulator's UNBC-like set
  and a BioVid-like variant whose imaging domain is a step between the two),
  :func:`advantage_trend` (does SSD's advantage over raw frames grow with the gap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...data.base import Sample
from ...data.splits import Split
from ...experiments import (
    ClassPair,
    CrossDataset,
    ImageRecipe,
    ImageSetup,
    PainPresence,
    Representation,
    SequenceLabel,
    Target,
)
from .. import shared_notes
from .hull import affine_hull, dissimilarity, reference_solution, solve, sparsity_bound
from .inflated import INFLATION, InflatedClipRecipe, counterpart_3d, inflated_pair
from .pretext import (
    ClusteringRecipe,
    JigsawRecipe,
    OPNRecipe,
    SelfSupervisedRecipe,
    SiameseRecipe,
    siamese_loss,
)

__all__ = [
    "notes", "representation", "setup", "supervised", "self_supervised", "SELF_SUPERVISED",
    "targets", "cross_target", "segment_lengths", "patch_sizes", "videos_for_segment", "frames_of",
    "other_dataset", "table45_settings", "PAPER_SEGMENT", "PAPER_PATCH", "BACKBONES",
    "affine_hull", "dissimilarity", "solve", "reference_solution", "sparsity_bound", "siamese_loss",
    "SelfSupervisedRecipe", "SiameseRecipe", "OPNRecipe", "JigsawRecipe", "ClusteringRecipe",
    "InflatedClipRecipe", "INFLATION", "counterpart_3d", "inflated_pair", "paper_dataset", "table_rows", "open_pair", "LabelledTransfer", "aligned",
    "DOMAIN_GAP_PAIR", "DOMAIN_GAP_KNOBS", "domain_gap_pair", "advantage_trend",
]

#: the paper's SSD settings (Sec. 3.2): 20-frame segments, 5 x 5 spatial neighbourhood
PAPER_SEGMENT, PAPER_PATCH = 20, 5
#: Table 3's backbones: paper label -> registered 2D model
BACKBONES = {"VGG16": "vgg16", "Inception-V1": "googlenet", "ResNet-18": "resnet18", "ResNet-50": "resnet50"}
#: the self-supervised rows this library computes: paper label -> recipe class
SELF_SUPERVISED = {"OPN (Lee et al. (2017))": OPNRecipe, "Jigsaw (Noroozi and Favaro (2016))": JigsawRecipe,
                   "Caron et al. (2018)": ClusteringRecipe, "Our Method": SiameseRecipe}
#: the paper's pairs of datasets for cross-dataset runs (synthetic and real)
_OTHER = {"synth-unbc": "synth-biovid", "synth-biovid": "synth-unbc", "unbc": "biovid", "biovid": "unbc"}


def notes(*keys: str):
    """The shared fidelity notes ``keys`` (sections of ``NOTES.md`` beside this module) as
    Markdown for a notebook to display."""
    return shared_notes(__package__, keys)


def other_dataset(dataset: str, given: str = "") -> str:
    """The second dataset of a two-dataset notebook: ``given``, else the paper's other dataset
    (UNBC <-> BioVid, synthetic with synthetic, real with real)."""
    if given:
        return given
    if dataset not in _OTHER:
        raise ValueError(f"no paired dataset for {dataset!r}; give other_dataset (one of {', '.join(_OTHER)})")
    return _OTHER[dataset]


def representation(run: Any, name: str, **params: Any) -> Representation:
    """The named representation at the run's image size; SSD maps at the paper's segment length
    and block size unless ``params`` say otherwise, flow (and SSD of flow) by TV-L1 (the paper's
    "TLV1"; OpenCV's DIS where opencv-contrib is missing -- the flow module warns)."""
    defaults: dict[str, Any] = {}
    if name in ("ssd", "ssd_flow"):
        defaults = {"segment_length": PAPER_SEGMENT, "patch": PAPER_PATCH}
    if name in ("ssd_flow", "flow"):
        defaults["method"] = "tvl1"
    return Representation(name, {**defaults, **params}, size=run.profile.image_size)


def setup(run: Any, **overrides: Any) -> ImageSetup:
    """The profile's image-training schedule and backbone width (:meth:`ImageSetup.from_profile`)."""
    return ImageSetup.from_profile(run.profile, **overrides)


def supervised(run: Any, model: str, rep: Representation, target: Target, *,
               image_setup: ImageSetup | None = None) -> ImageRecipe:
    """A supervised 2D ``model`` at the profile's width on ``rep`` of each video."""
    s = image_setup or setup(run)
    cfg, size, _ = s.backbone(model)
    return ImageRecipe(model, cfg, _sized(rep, size), s.replace(size=size), target=target)


def self_supervised(run: Any, cls: type[SelfSupervisedRecipe], model: str, rep: Representation, target: Target, *,
                    image_setup: ImageSetup | None = None, **fields: Any) -> SelfSupervisedRecipe:
    """A self-supervised recipe (``cls`` of :data:`SELF_SUPERVISED`) at the profile's width and
    pretext schedule (``pretext_epochs``: the profile's; ``fields`` override)."""
    s = image_setup or setup(run)
    cfg, size, _ = s.backbone(model)
    fields = {"pretext_epochs": run.profile.pretext_epochs, "pretext_batch": max(8, 2 * run.profile.batch_size),
              **fields}
    return cls(model, cfg, _sized(rep, size), s.replace(size=size), target=target, **fields)


def _sized(rep: Representation, size: int) -> Representation:
    if rep.size == size:
        return rep
    return Representation(rep.name, rep.params, size=size, crop=rep.crop)


def targets(samples: Sequence[Sample]) -> Target:
    """What a one-dataset table predicts, read from the labels the dataset has: frame PSPI
    (UNBC) -> the sequence's maximum PSPI (a regression whose AUC is of PSPI > 0; Table 6's MSE
    and PCC are of it); classes (BioVid) -> no pain (BL1) vs the strongest stimulus (PA4)."""
    if any("pspi" in s.labels for s in samples):
        return SequenceLabel("max_pspi")
    return ClassPair(4, 0)


def cross_target() -> Target:
    """The label space two datasets share in Tables 4-5 and the domain-gap study: pain vs no
    pain (:class:`~pain_lib.experiments.PainPresence`: UNBC max PSPI >= 3 vs 0, BioVid PA4 vs BL1)."""
    return PainPresence()


@dataclass(frozen=True)
class LabelledTransfer(CrossDataset):
    """Table 5's supervised cross-dataset protocol: train *with labels* on the source dataset
    plus ``pretext_fraction`` of the target's training subjects, test on the target's held-out
    subjects (the same target folds and shares as :class:`~pain_lib.experiments.CrossDataset`;
    the engine's ``source_role="train"`` would add every training subject of the target)."""

    def split(self, samples: Sequence[Sample]) -> list[Split]:
        out = []
        for s in super().split(samples):
            out.append(Split(s.name, s.pretext, s.test, s.test_subjects))  # same fold names: paired comparisons with Table 4
        return out

    def __fingerprint__(self) -> dict:
        return {**super().__fingerprint__(), "protocol": "labelled-transfer"}


def frames_of(sample: Sample) -> int:
    """The number of frames of a sample (its frame list, the reader's count, or the video
    container's frame count)."""
    if sample.frames is not None:
        return len(sample.frames)
    n = sample.meta.get("n_frames")
    if n:
        return int(n)
    import cv2

    cap = cv2.VideoCapture(str(sample.video))
    try:
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
    if count <= 0:
        from ...data.video import read_clip

        count = len(read_clip(sample))
    return count


def videos_for_segment(samples: Sequence[Sample], segment_length: int, *, flow: bool = False) -> list[Sample]:
    """The videos long enough for SSD with ``segment_length`` (two segments at least: the
    representation refuses a segment longer than half a video; on flow one frame fewer)."""
    need = 2 * int(segment_length) + int(flow)
    return [s for s in samples if frames_of(s) >= need]


def segment_lengths(profile: Any) -> list[int]:
    """Figure 3's segment lengths (5-60 frames), cut by the profile's ``sweep_keep`` around the
    paper's 20 (its peak): ``[5, 10, 20, 30, 40, 60]``."""
    values = [5, 10, 20, 30, 40, 60]
    k = profile.sweep_keep
    if not k:
        return values
    order = sorted(values, key=lambda v: (abs(v - PAPER_SEGMENT), v))[:k]
    return sorted(order)


def patch_sizes(profile: Any) -> list[int]:
    """Figure 3's neighbourhood sizes (odd block sides 3-9; the paper chose 5), cut like
    :func:`segment_lengths`."""
    values = [3, 5, 7, 9]
    k = profile.sweep_keep
    if not k:
        return values
    return sorted(sorted(values, key=lambda v: (abs(v - PAPER_PATCH), v))[:k])


def table45_settings(profile: Any) -> list[float]:
    """The pretext shares of the target's training subjects in Tables 4-5: 0, 10, 30, 50 %, cut
    by the profile's ``sweep_keep``."""
    values = [0.0, 0.1, 0.3, 0.5]
    k = profile.sweep_keep
    return values if not k else [values[0], values[-1]][:k]


def paper_dataset(dataset: str) -> str:
    """The papers' name of a dataset of this library (``synth-biovid`` -> ``BioVid-A``)."""
    from ...config import PAPER_DATASET_OF

    return PAPER_DATASET_OF.get(dataset, dataset)


def table_rows(grid, metric: str, *, dataset: str, column: str | None = None, paper_dataset: str | None = None):
    """The rows of ``metric`` of a :func:`~pain_lib.experiments.run_grid` table, AUC in %, with
    the ``dataset`` this run computed them on (and the paper's, for a table over two datasets)
    and optionally one ``column`` label."""
    from ...report import percent

    t = percent(grid, metric) if metric in ("AUC", "accuracy") else grid[grid["metric"] == metric].copy()
    if column is not None:
        t["column"] = column
    t["dataset"] = dataset
    if paper_dataset is not None:
        t["paper_dataset"] = paper_dataset
    return t.reset_index(drop=True)


def open_pair(run: Any, other: str = "", other_root: str = "") -> tuple[list[Sample], list[Sample], str]:
    """``(this dataset's samples, the other dataset's samples, the other's name)``: the run's
    dataset and the paper's other one (:func:`other_dataset`; ``other_root`` its root)."""
    name = other_dataset(run.dataset, other)
    mine = run.open_dataset().samples
    theirs = run.open_dataset(name, other_root, param="other_root").samples
    return mine, theirs, name


def aligned(result, like):
    """``result`` with its folds renamed, in order, as ``like``'s: two cross-dataset runs on the
    same target folds whose pretext shares differ (fold names carry the share) can then be
    compared subject by subject (:func:`~pain_lib.experiments.compare`)."""
    import copy

    names = dict(zip(result.folds["fold"], like.folds["fold"]))
    out = copy.copy(result)
    out.folds = result.folds.assign(fold=result.folds["fold"].map(names))
    out.outputs = {names.get(k, k): v for k, v in result.outputs.items()}
    return out


#: the domain-gap study's simulator pair: (source flavour, target flavour whose domain moves)
DOMAIN_GAP_PAIR: tuple[str, str] = ("synth-unbc", "synth-biovid")
#: the target variants' other knobs: only the classes the cross-dataset task reads (BL1, PA4), no
#: posed part (the study never reads it)
DOMAIN_GAP_KNOBS: dict[str, Any] = {"genuine_levels": (0, 4), "posed_per_subject": 0}


def domain_gap_pair(run: Any, gap: float) -> tuple[list[Sample], list[Sample]]:
    """``(source samples, target samples)`` of the domain-gap study at ``gap`` (beyond the paper):
    the simulator's UNBC-like set and a BioVid-like variant whose imaging domain (camera framing,
    background, clothing, lighting, noise, blur, head motion, skin-tone mix) is ``gap`` of the way
    from the source's (0) to its own (1; beyond 1 extrapolated), :func:`~pain_lib.synth.scales.interpolate_domain`;
    the people and the pain displays stay each flavour's. At the run's synthetic scale and seed,
    generated into the project's data folder on first use (a study of the simulator: no
    real-data counterpart)."""
    from ... import synth
    from ...data import open_dataset

    src_name, tgt_name = DOMAIN_GAP_PAIR
    scale, seed = run.profile.synth_scale, int(run.params.get("synth_seed", 0))
    knobs = dict(DOMAIN_GAP_KNOBS)
    if float(gap) != 1.0:
        knobs.update(domain_gap=float(gap), domain_source=src_name)
    src = synth.ensure(src_name, scale, seed=seed, progress=False)
    tgt = synth.ensure(tgt_name, scale, seed=seed, progress=False, **knobs)
    return open_dataset(src_name, src).samples, open_dataset(tgt_name, tgt).samples


def advantage_trend(advantages) -> tuple[str, str]:
    """The verdict on "SSD's curve falls more slowly than RGB's as the domain gap widens" from
    the paired SSD - RGB differences at each gap (:func:`~pain_lib.experiments.compare_pairs`
    rows in gap order: ``setting, difference, lo, hi, learned``): *not tested (did not learn)*
    unless both networks learned at the smallest gap (at the widest one either may fall to
    chance); *agrees* when the advantage
    at the largest gap lies above the smallest gap's 90 % band and the two bands do not overlap,
    *disagrees* when it lies below with disjoint bands, else *cannot tell*."""
    from ...report import NOT_TESTED

    rows = advantages.reset_index(drop=True)
    if len(rows) < 2:
        return "cannot tell", "one gap only: no trend to test"
    first, last = rows.iloc[0], rows.iloc[-1]
    words = (f"SSD - RGB at {first['setting']}: {first['difference']:+.2f} [{first['lo']:+.2f}, {first['hi']:+.2f}]; "
             f"at {last['setting']}: {last['difference']:+.2f} [{last['lo']:+.2f}, {last['hi']:+.2f}]")
    if not bool(first["learned"]):  # at the widest gap a network may well fall to chance: that is the curve
        return NOT_TESTED, words + " (a network did not learn at the smallest gap)"
    if last["lo"] > first["hi"]:
        return "agrees", words + ": the advantage grew beyond both bands"
    if last["hi"] < first["lo"]:
        return "disagrees", words + ": the advantage shrank beyond both bands"
    return "cannot tell", words + ": the bands overlap"

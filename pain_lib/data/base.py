"""Dataset base class, the :class:`Sample` record and the layout errors.

A reader subclasses :class:`PainDataset`, draws its folder tree in its docstring and in
``LAYOUT`` (used in error messages), and overrides only its raw readers:

* ``_locate(root)`` -- optional: map the user's root to the dataset root (BioVid parts);
* ``_validate()`` -- check the top of the tree, raise :class:`DataLayoutError` on the first
  mismatch (use :meth:`PainDataset.layout_error`);
* ``_read_samples()`` -- walk the tree and return ``list[Sample]``.

The base class does the rest: the missing-root message, attaching the simulator's ground
truth (``sample.meta["truth"]``) when a ``synth_truth/`` sidecar exists, clip reading, and
subject / count summaries.

A reader wraps the reading of each item (sequence, index row, sweep) in
``with self.problem_scope():``.  Normally the first :class:`DataLayoutError` propagates (the
error names the first mismatch); with the option ``collect_problems=True`` (``pain-lib data
check``) each failing item is skipped and its message appended to ``dataset.problems``, so
every problem is listed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .errors import CorruptMediaError, DataLayoutError

__all__ = ["Sample", "DataLayoutError", "CorruptMediaError", "PainDataset", "Truth", "TRUTH_DIR"]

TRUTH_DIR = "synth_truth"


@dataclass
class Sample:
    """One recording: a frame sequence (``frames``) or a video file (``video``).

    ``labels`` holds the label views of the dataset (see each reader), e.g. ``pspi``
    ``(T,)`` per-frame array, ``max_pspi``, ``opr``, ``vas``, ``class`` (0-4), ``posed``.
    ``physiology`` is a biosignal file (BioVid) or ``None``.  ``meta`` holds the rest
    (``n_frames`` when known, landmark files, part, trial, ...) and, for generated data,
    ``meta["truth"]``: a :class:`Truth` mapping.
    """

    subject: str
    sample_id: str
    frames: list[Path] | None
    video: Path | None
    fps: float
    labels: dict = field(default_factory=dict)
    physiology: Path | None = None
    meta: dict = field(default_factory=dict)

    @property
    def source(self) -> Path:
        """The video file, or the folder of the frames."""
        if self.video is not None:
            return self.video
        if self.frames:
            return self.frames[0].parent
        raise DataLayoutError(f"sample {self.sample_id!r} has neither frames nor a video")

    @property
    def n_frames(self) -> int:
        """Number of frames (from the frame list, the metadata, or the video header)."""
        if self.frames is not None:
            return len(self.frames)
        if "n_frames" not in self.meta:
            from .video import video_info

            self.meta["n_frames"] = video_info(self.video)["n_frames"]
        return int(self.meta["n_frames"])

    def __fingerprint__(self) -> dict:
        """What identifies this sample for :func:`pain_lib.fingerprint.fingerprint` -- the one
        rule every cache and the experiment store use: id, subject, labels, and the name, size
        and modification time of every file it is read from (video or every frame, landmark files,
        biosignals; ``stat`` only, nothing is read). Editing, replacing or touching any one of
        them changes it; listing the same files again does not."""
        files = [self.video] if self.video is not None else list(self.frames or [])
        files += list(self.meta.get("landmark_files") or [])
        files += [self.physiology] if self.physiology is not None else []
        media = hashlib.sha1()
        for f in files:
            try:
                st = os.stat(f)
                media.update(f"{os.path.basename(f)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            except OSError:
                media.update(f"{os.path.basename(f)}\0missing\n".encode())
        return {"id": self.sample_id, "subject": self.subject, "labels": self.labels, "media": media.hexdigest()}

    def __repr__(self) -> str:
        kind = f"video={self.video.name}" if self.video is not None else f"frames={len(self.frames or [])}"
        lab = {k: v for k, v in self.labels.items() if not isinstance(v, np.ndarray | dict)}
        return f"Sample({self.subject!r}, {self.sample_id!r}, {kind}, fps={self.fps:g}, labels={lab})"


class Truth(Mapping):
    """Simulator ground truth of one sample: scalars from ``synth_truth/index.json`` and
    per-frame arrays from ``synth_truth/<sample_id>.npz`` (loaded on first access).

    Arrays: ``au`` (T, 10), ``au_coded``, ``au_names``, ``pspi``, ``envelope``, ``hr`` (bpm),
    ``pulse``, ``landmarks`` (T, 68, 2), ``pose`` (T, 5), ``light`` (T, 2).
    Scalars: ``speed`` (slow / medium / sudden), ``posed``, ``level``, ``hr_mean``,
    ``face_response``, ``episodes``, ``n_frames``, ``fps``, ...
    """

    def __init__(self, scalars: dict, npz: Path):
        self._scalars = dict(scalars)
        self.npz = Path(npz)
        self._arrays: dict[str, np.ndarray] | None = None

    def _load(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            with np.load(self.npz) as z:
                self._arrays = {k: z[k] for k in z.files}
        return self._arrays

    def __getitem__(self, key: str) -> Any:
        if key in self._scalars:
            return self._scalars[key]
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._scalars
        yield from (k for k in self._load() if k not in self._scalars)

    def __len__(self) -> int:
        return len(set(self._scalars) | set(self._load()))

    def __repr__(self) -> str:
        return f"Truth({self._scalars.get('speed')!r}, posed={self._scalars.get('posed')}, npz={self.npz.name})"

    def __getstate__(self):  # keep pickles (DataLoader workers) small
        return {"_scalars": self._scalars, "npz": self.npz, "_arrays": None}


class PainDataset:
    """Base reader.  ``PainDataset(root, **options)`` validates and lists the samples.

    Attributes: ``root`` (dataset root after :meth:`_locate`), ``samples``, ``options``.
    """

    #: registry name and the papers' name
    name: ClassVar[str] = ""
    paper_name: ClassVar[str] = ""
    #: the expected folder tree, shown in every layout error
    LAYOUT: ClassVar[str] = ""
    #: synthetic flavour that mimics this dataset
    synthetic: ClassVar[str] = ""

    def __init__(self, root: str | Path, **options: Any):
        self.options = dict(options)
        #: with ``collect_problems=True``: every item that could not be read, one line each
        self.problems: list[str] = []
        self._collect = bool(self.options.pop("collect_problems", False))
        given = Path(root).expanduser()
        if not given.exists():
            raise DataLayoutError(
                f"{self.paper_name} data root {str(given)!r} does not exist. Point data_root at the "
                f"folder that holds the dataset (expected layout below; see data_manifests/"
                f"{self.name}.yaml for how to request access), or use dataset={self.synthetic!r} "
                f"for the generated look-alike.\nExpected layout:\n{self.LAYOUT}")
        if not given.is_dir():
            raise self.layout_error(f"data root {str(given)!r} is a file, not a folder", given)
        self.root = self._locate(given)
        self._validate()
        self.samples: list[Sample] = self._read_samples()
        if not self.samples:
            err = self.layout_error("no samples found" + (f" that could be read ({len(self.problems)} "
                                                          f"problem(s) above)" if self.problems else ""))
            err.problems = list(self.problems)
            raise err
        self._attach_truth()

    # -- raw readers (override) ------------------------------------------------------
    def _locate(self, root: Path) -> Path:
        return root

    def _validate(self) -> None:
        raise NotImplementedError

    def _read_samples(self) -> list[Sample]:
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------
    def layout_error(self, mismatch: str, root: Path | None = None) -> DataLayoutError:
        """A :class:`DataLayoutError` naming the first ``mismatch`` and the expected layout."""
        r = root if root is not None else getattr(self, "root", None)
        return DataLayoutError(
            f"{self.paper_name} layout error under {str(r)!r}: {mismatch}\nExpected layout:\n{self.LAYOUT}",
            mismatch=mismatch)

    @contextlib.contextmanager
    def problem_scope(self):
        """Read one item inside this block: a :class:`DataLayoutError` propagates, or -- with
        ``collect_problems=True`` -- skips the item and is recorded in :attr:`problems`."""
        try:
            yield
        except DataLayoutError as e:
            if not self._collect:
                raise
            self.problems.append(e.mismatch)

    def rel(self, path: Path) -> str:
        """``path`` relative to the dataset root (for messages)."""
        path = Path(path)
        return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)

    def require(self, path: Path, what: str) -> Path:
        """Return ``path`` or raise a layout error that it is missing."""
        if not path.exists():
            raise self.layout_error(f"missing {what}: {self.rel(path)}")
        return path

    def _attach_truth(self) -> None:
        index = self.root / TRUTH_DIR / "index.json"
        if not index.exists():
            return
        entries = json.loads(index.read_text()).get("samples", {})
        for s in self.samples:
            e = entries.get(s.sample_id)
            if e is not None:
                s.meta["truth"] = Truth(e, self.root / TRUTH_DIR / f"{s.sample_id}.npz")
                s.meta.setdefault("n_frames", e.get("n_frames"))

    @property
    def is_synthetic(self) -> bool:
        return (self.root / TRUTH_DIR).is_dir()

    @property
    def subjects(self) -> list[str]:
        return sorted({s.subject for s in self.samples})

    def read_clip(self, sample: Sample, indices=None) -> np.ndarray:
        """Frames of ``sample`` as ``(T, H, W, 3)`` uint8 RGB (see :func:`pain_lib.data.read_clip`)."""
        from .video import read_clip

        return read_clip(sample, indices)

    def counts(self) -> dict[str, int]:
        """Subjects, samples and frames found."""
        return {"subjects": len(self.subjects), "samples": len(self.samples),
                "frames": int(sum(s.n_frames for s in self.samples))}

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __getitem__(self, i: int) -> Sample:
        return self.samples[i]

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(root={str(self.root)!r}, subjects={len(self.subjects)}, "
                f"samples={len(self.samples)})")

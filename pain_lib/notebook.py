"""The one call a notebook makes after its parameters cell.

.. code-block:: python

    import pain_lib.notebook
    run = pain_lib.notebook.start(globals(), notebook="scn/01_table1_depth")

:func:`start` checks every parameter against the notebook's ``parameters`` cell (unknown
names, wrong types and invalid values are errors, not warnings), resolves the profile, seeds
everything, picks the device, resolves or generates the dataset and prints a summary. The
returned :class:`Run` writes tables and figures with provenance to ``results/<paper>/``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import math
import os
import platform
import subprocess
import time
import types
from pathlib import Path
from typing import Any

import pandas as pd

from . import environment, paths, report
from . import io as io_
from .config import (
    PAPER_DATASET_OF,
    SYNTHETIC_DATASETS,
    Profile,
    get_profile,
    resolve_device,
    seed_everything,
)
from .params import ParameterError, validate_parameters
from .paths import experiments_dir, face_cache_dir
from .registry import NotebookEntry, declared_parameters, get_entry, repo_root
from .train import bf16_native

__all__ = ["start", "Run", "ParameterError", "DataRootError"]

# Names IPython / Jupyter put into a kernel's namespace; never parameters.
_KERNEL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


class DataRootError(FileNotFoundError):
    """The dataset root is missing or not given for a real (licensed) dataset."""


def _user_variables(namespace: dict[str, Any]) -> dict[str, Any]:
    """The variables a notebook's parameter cells (declared and papermill-injected) set."""
    out = {}
    for name, value in namespace.items():
        if name.startswith("_") or name in _KERNEL_NAMES:
            continue
        if isinstance(value, (types.ModuleType, types.FunctionType, type, types.BuiltinFunctionType)):
            continue
        out[name] = value
    return out


def start(namespace: dict[str, Any], *, notebook: str, quiet: bool = False) -> Run:
    """Validate the notebook's parameters and return its :class:`Run`.

    ``namespace`` is the notebook's ``globals()``; ``notebook`` its registry id.
    Raises :class:`ParameterError` for an unknown, ill-typed or invalid parameter and
    :class:`DataRootError` for a missing dataset root.
    """
    entry = get_entry(notebook)
    declared = declared_parameters(entry.path)
    given = _user_variables(namespace)
    params = validate_parameters(given, declared, entry)
    environment.check_environment()  # one warning line when torch & co. differ from the lock
    run = Run(entry, params)
    if not quiet:
        print(run.summary())
    return run


def _git_commit(root: Path) -> str:
    """The checkout's commit, ``+dirty`` when tracked files outside ``results/`` differ from it
    (regenerated results do not make a tree dirty). ``$PAIN_LIB_GIT_COMMIT`` stands in for a copy
    of a checkout without its ``.git`` (e.g. a tree copied to a GPU machine)."""
    given = os.environ.get("PAIN_LIB_GIT_COMMIT")
    if given:
        return given
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"],
            cwd=root, capture_output=True, text=True, timeout=10,
        ).stdout.strip()
        return (sha or "unknown") + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("pain-lib", "torch", "torchvision", "numpy", "scipy", "pandas", "scikit-learn",
                "opencv-python", "matplotlib", "papermill", "neurokit2"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


class Run:
    """One execution of a registered notebook: its parameters, profile, data and outputs."""

    def __init__(self, entry: NotebookEntry, params: dict[str, Any]):
        self.entry = entry
        self.id = entry.id
        self.paper = entry.paper
        self.params = dict(params)
        self.root = repo_root()
        self.started = time.time()
        self.profile: Profile = self._resolve_profile()
        self.seed: int = int(params.get("seed", 0))
        self.rng = seed_everything(self.seed, deterministic=self.profile.deterministic)
        self.device = resolve_device(params.get("device", "auto"))
        self.dataset: str = params.get("dataset", "none")
        self.is_synthetic = self.dataset in SYNTHETIC_DATASETS
        self.paper_dataset = PAPER_DATASET_OF.get(self.dataset)
        out = Path(params.get("output_dir", "results"))
        self.output_dir = out if out.is_absolute() else self.root / out
        #: where tables and figures are written while the run lasts: the runner's staging folder
        #: (``PAIN_LIB_STAGE``, moved into ``output_dir`` when the run succeeded), else ``output_dir``
        self.stage_dir, self.run_id = _staging(self.output_dir)
        self.data_root = self._resolve_data_root()
        #: content-addressed store of trained configurations shared by every notebook
        #: (see :mod:`pain_lib.experiments`): a configuration one table trained is not retrained.
        #: ``PAIN_LIB_EXPERIMENTS`` moves it (the tests use a fresh one).
        self.experiment_dir = experiments_dir()
        data_tag = f"{self.dataset}-{self.profile.synth_scale}" if self.is_synthetic else self.dataset
        #: shared on-disk cache of decoded face crops and representations for this dataset
        self.cache_dir = face_cache_dir(data_tag)
        self.written: list[Path] = []
        self._files_of: dict[Path, list[str]] = {}  # provenance stem -> files written under it
        _apply_figure_style()

    # ------------------------------------------------------------------ setup
    def _resolve_profile(self) -> Profile:
        """The profile, with the fields a notebook parameter of the same name sets explicitly: a
        parameter whose value is ``None`` (the declared default of every such parameter) means
        "the profile's". What was overridden is printed by :meth:`summary` and recorded in every
        provenance file (``profile_overrides``)."""
        profile = get_profile(self.params.get("profile", "standard"))
        self.profile_overrides = {
            k: v for k, v in self.params.items()
            if k in Profile.__dataclass_fields__ and k != "name" and v is not None
        }
        return profile.replace(**self.profile_overrides) if self.profile_overrides else profile

    def _resolve_data_root(self) -> Path | None:
        return self.resolve_root(self.dataset, str(self.params.get("data_root", "") or ""), param="data_root")

    def resolve_root(self, dataset: str, given: str = "", *, param: str = "data_root") -> Path | None:
        """The root of ``dataset``: the synthetic set of this profile (generated on first use, or
        at ``given``), or the user's copy of a licensed dataset at ``given`` (``param`` names the
        notebook parameter that holds it, for the error message)."""
        if dataset in ("none", ""):
            return None
        if dataset in SYNTHETIC_DATASETS:
            from . import synth

            return synth.ensure(dataset, self.profile.synth_scale, Path(given) if given else None,
                                seed=int(self.params.get("synth_seed", 0)))
        if not given:
            raise DataRootError(
                f"dataset {dataset!r} is a licensed dataset that is not shipped: set "
                f"{param} to the folder where you unpacked it (see data_manifests/{dataset}.yaml "
                f"for the expected layout and how to request access), or use "
                f"dataset='synth-{dataset}' for the built-in simulator"
            )
        root = Path(given).expanduser()
        if not root.exists():
            raise DataRootError(f"{param} {str(root)!r} does not exist (dataset {dataset!r})")
        return root

    def summary(self) -> str:
        import torch

        lines = [
            f"pain-lib run {self.id}  (paper: {self.paper}, artifacts: {', '.join(self.entry.artifacts)})",
            f"  profile   {self.profile.name}" + (f"  (reduced: {'; '.join(self.profile.reduced)})" if self.profile.reduced else ""),
            *([f"  settings  {', '.join(f'{k}={v!r}' for k, v in self.profile_overrides.items())} "
               "(notebook parameters that override the profile)"] if self.profile_overrides else []),
            f"  dataset   {self.dataset}" + (f"  -> {self.data_root}" if self.data_root else "")
            + ("  [SYNTHETIC: numbers are not reproductions of real-data results]" if self.is_synthetic else ""),
            f"  device    {self.device}  (torch {torch.__version__}, {torch.get_num_threads()} threads)",
            f"  seed      {self.seed}",
            f"  results   {self.output_dir / self.paper}",
        ]
        return "\n".join(lines)

    # ------------------------------------------------------------------ helpers
    def open_dataset(self, dataset: str | None = None, data_root: str = "", *, param: str = "data_root",
                     **options: Any):
        """The run's dataset (:func:`pain_lib.data.open_dataset` at ``data_root``; ``options``
        go to the reader), after printing how many samples and subjects it holds. A second
        dataset (a cross-dataset notebook's source) is opened by name: ``dataset`` with its root
        ``data_root`` (a notebook parameter, named by ``param`` in errors; empty for a synthetic
        set)."""
        from .data import open_dataset

        if dataset is None:
            name, root = self.dataset, self.data_root
        else:
            name, root = dataset, self.resolve_root(dataset, data_root, param=param)
        if root is None:
            raise DataRootError(f"notebook {self.id} declares no dataset (dataset={name!r})")
        ds = open_dataset(name, root, **options)
        print(f"{name}: {len(ds.samples)} samples of {len(ds.subjects)} subjects ({paths.portable(ds.root)})")
        return ds

    def progress(self, iterable=None, **kwargs):
        """A tqdm progress bar (notebook-aware)."""
        from tqdm.auto import tqdm

        return tqdm(iterable, **kwargs)

    def paper_table(self, artifact: str, *, paper: str | None = None, dataset: str | None = None) -> pd.DataFrame:
        """The paper's transcribed values for ``artifact`` (see :func:`pain_lib.report.paper_table`)."""
        return report.paper_table(paper or self.paper, artifact, dataset=dataset)

    def _paths(self, artifact: str, name: str | None, paper: str | None) -> tuple[str, Path]:
        paper = paper or self.paper
        stem = report.artifact_slug(artifact) + (f"-{report.artifact_slug(name)}" if name else "")
        return paper, self.stage_dir / paper / stem

    def _provenance(self, paper: str, artifact: str, kind: str, files: list[str], caption: str) -> dict:
        now = time.time()
        return {
            "notebook": self.id,
            # the runner's id of this run (runs.jsonl): the index counts the files only when it succeeded
            "run_id": self.run_id,
            "paper": paper,
            "artifact": artifact,
            "kind": kind,
            "caption": caption,
            "files": files,
            "parameters": {k: paths.portable(v) if k in ("output_dir", "data_root") and v else v
                           for k, v in self.params.items()},
            "profile": self.profile.name,
            "profile_settings": self.profile.as_dict(),
            "profile_overrides": dict(self.profile_overrides),
            "dataset": self.dataset,
            "synthetic": self.is_synthetic,
            "paper_dataset": self.paper_dataset,
            "data_root": paths.portable(self.data_root),
            "dataset_manifest_sha256": _manifest_hash(self.data_root),
            "git_commit": _git_commit(self.root),
            "versions": _versions(),
            "lock_sha256": environment.lock_sha256(),
            "device": str(self.device),
            # whether the profile's bf16 autocast actually ran (CUDA, or a CPU with AMX)
            "bf16": bool(self.profile.amp and bf16_native(self.device)),
            "seed": self.seed,
            "start": _dt.datetime.fromtimestamp(self.started, _dt.timezone.utc).isoformat(),
            "end": _dt.datetime.fromtimestamp(now, _dt.timezone.utc).isoformat(),
            "duration_s": round(now - self.started, 3),
        }

    # ------------------------------------------------------------------ outputs
    def save_table(
        self,
        results: pd.DataFrame,
        artifact: str,
        *,
        name: str | None = None,
        caption: str = "",
        paper: str | None = None,
        compare: bool = True,
    ) -> pd.DataFrame:
        """Write this run's numbers next to the paper's: ``.csv`` (tidy), ``.md``, ``.json``.

        ``results``: long format, ``row, column, value`` (+ ``metric``, ``std``, ``n``,
        ``unit``, ``dataset``). With ``compare=False`` (a table the paper does not print,
        e.g. a dataset summary) the frame is written as it is. Returns the written table.
        """
        paper, stem = self._paths(artifact, name, paper)
        if compare and paper in report.PAPERS:
            table = report.side_by_side(
                results, paper=paper, artifact=artifact, run_dataset=self.dataset, paper_dataset=self.paper_dataset
            )
            md = report.to_markdown(table, title=f"{paper} {artifact}" + (f" ({name})" if name else ""), caption=caption)
        else:
            table = results.copy()
            md = (f"### {paper} {artifact}\n\n" + (caption + "\n\n" if caption else "")
                  + _plain_markdown(table))
        if self.is_synthetic:
            md += (f"\nRan on `{self.dataset}` (synthetic data in the real layout, profile "
                   f"`{self.profile.name}`): not a reproduction of the paper's real-data numbers.\n")
        buf = io.StringIO()
        table.to_csv(buf, index=False)
        files = [stem.with_suffix(".csv"), stem.with_suffix(".md")]
        io_.atomic_write_text(files[0], buf.getvalue())
        io_.atomic_write_text(files[1], md)
        self._write_provenance(stem, paper, artifact, "table", files, caption)
        return table

    def show(self, table: pd.DataFrame, *, title: str | None = None):
        """``table`` (as :meth:`save_table` returns it) in the paper's layout: the paper's rows and
        columns, cells ``paper | this run`` coloured by their relative difference (see
        :mod:`pain_lib.table_view`)."""
        from . import table_view

        return table_view.show(table, title=title)

    def save_figure(
        self, fig, artifact: str, *, name: str | None = None, caption: str = "", paper: str | None = None
    ) -> list[Path]:
        """Write a matplotlib figure as ``.png`` and ``.svg`` with a provenance ``.json``."""
        paper, stem = self._paths(artifact, name, paper)
        if self.is_synthetic and fig._suptitle is None:
            fig.suptitle(f"{paper} {artifact} — {self.dataset} (synthetic), profile {self.profile.name}", fontsize=9)
        files = []
        for ext, kw in ((".png", {"dpi": 130}), (".svg", {})):
            buf = io.BytesIO()
            fig.savefig(buf, format=ext[1:], bbox_inches="tight", **kw)
            files.append(io_.atomic_write_bytes(stem.with_suffix(ext), buf.getvalue()))
        self._write_provenance(stem, paper, artifact, "figure", files, caption)
        return files

    def _write_provenance(self, stem: Path, paper: str, artifact: str, kind: str, files: list[Path], caption: str) -> None:
        """One ``<stem>.json`` per artifact stem; a table and its figure share it."""
        names = self._files_of.setdefault(stem, [])
        names += [f.name for f in files if f.name not in names]
        kinds = sorted({kind} | ({"table"} if any(n.endswith(".csv") for n in names) else set())
                       | ({"figure"} if any(n.endswith(".png") for n in names) else set()))
        prov = self._provenance(paper, artifact, "+".join(kinds), list(names), caption)
        io_.atomic_write_json(stem.with_suffix(".json"), prov, indent=2, sort_keys=True)
        for p in [*files, stem.with_suffix(".json")]:
            final = self.output_dir / p.relative_to(self.stage_dir)
            if final not in self.written:
                self.written.append(final)

    def save_claims(self, claims, artifact: str, *, caption: str = "") -> pd.DataFrame:
        """The paper's claims this notebook tested, each with this run's verdict (agrees /
        disagrees / cannot tell) and the computed evidence, as ``<artifact>-claims.{csv,md,json}``
        (:func:`pain_lib.report.claims_table`); printed too."""
        table = report.claims_table(claims, dataset=self.dataset)
        self.save_table(table, artifact, name="claims", compare=False,
                        caption=caption or f"The paper's claims tested by {self.id}, with this run's verdict.")
        for _, r in table.iterrows():
            print(f"[{r['verdict']}] {r['claim']} -- {r['evidence']}")
        return table

    def finish(self) -> None:
        """Close the run: print what was written and how long it took."""
        duration = time.time() - self.started
        staged = " (staged: moved into place when the run succeeds)" if self.stage_dir != self.output_dir else ""
        print(f"{self.id}: wrote {len(self.written)} files in {duration:.1f} s{staged}")
        for p in self.written:
            try:
                print("  ", p.relative_to(self.root))
            except ValueError:
                print("  ", p)


def _staging(output_dir: Path) -> tuple[Path, str | None]:
    """The runner's staging folder and run id for a run writing to ``output_dir``, or
    ``(output_dir, None)`` outside the runner (Jupyter, plain papermill)."""
    stage, run_id, target = (os.environ.get(k) for k in ("PAIN_LIB_STAGE", "PAIN_LIB_RUN_ID", "PAIN_LIB_STAGE_FOR"))
    if stage and target and Path(target) == output_dir.resolve():
        return Path(stage), run_id
    return output_dir, None


def _plain_markdown(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            cells.append(f"{v:.4g}" if isinstance(v, float) and not math.isnan(v) else ("–" if isinstance(v, float) else str(v)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _manifest_hash(root: Path | None) -> str | None:
    """SHA-256 of the dataset's generator marker (synthetic) or of its label index (real)."""
    if root is None:
        return None
    for pattern in (".synth_complete.json", "starting_point/samples.csv", "Part*/starting_point/samples.csv"):
        for p in sorted(Path(root).glob(pattern)):
            return hashlib.sha256(p.read_bytes()).hexdigest()
    return None


def _apply_figure_style() -> None:
    try:
        import matplotlib as mpl
    except ImportError:  # pragma: no cover
        return
    mpl.rcParams.update(
        {
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "xtick.labelsize": 9,
            "ytick.labelsize": 9,
            "svg.hashsalt": "pain-lib",  # stable SVG ids between runs
        }
    )

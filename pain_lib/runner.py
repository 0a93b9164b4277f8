"""Execute registered notebooks with papermill: one, or all of them.

Each run is checked before a kernel starts (unknown or ill-typed ``-p`` parameters fail at
once, naming the valid ones), executed through papermill's Python API with an explicit
kernel and the profile's per-cell timeout, saved to ``results/executed/<id>.ipynb``, and
logged as one line of ``results/runs.jsonl``. A failing notebook prints its failing cell,
the error and the executed notebook's path; the others still run.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .config import get_profile
from .params import validate_parameters
from .registry import NotebookEntry, declared_parameters, load_registry, repo_root

__all__ = ["RunResult", "run_notebook", "run_many", "select", "kernel_name"]

KERNEL = "pain-lib"
_log_lock = threading.Lock()


@dataclass
class RunResult:
    id: str
    status: str  # ok | failed
    duration_s: float
    profile: str
    parameters: dict[str, Any]
    executed: str
    failing_cell: int | None = None
    error: str | None = None
    cell_source: str | None = None
    finished: str = ""

    def describe_failure(self) -> str:
        return (
            f"FAILED {self.id} after {self.duration_s:.1f} s\n"
            f"  failing cell (execution count {self.failing_cell}):\n"
            + "\n".join("    " + line for line in (self.cell_source or "").splitlines())
            + f"\n  error: {self.error}\n  executed notebook: {self.executed}"
        )


def kernel_name() -> str:
    """``pain-lib`` when that kernel is registered (``make`` does it), else ``python3``."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        specs = KernelSpecManager().find_kernel_specs()
    except Exception:  # noqa: BLE001 - a broken Jupyter install still lets us try python3
        return "python3"
    if KERNEL in specs:
        return KERNEL
    logging.getLogger(__name__).warning(
        "Jupyter kernel %r is not registered (run `make kernel`); using 'python3'", KERNEL
    )
    return "python3"


def select(only: str | None = None, root: Path | None = None) -> list[NotebookEntry]:
    """Registered notebooks, optionally filtered by a glob over their ids."""
    entries = list(load_registry(root).notebooks)
    if only:
        patterns = [p.strip() for p in only.split(",") if p.strip()]
        entries = [e for e in entries if any(fnmatch.fnmatch(e.id, p) for p in patterns)]
    return entries


def prepare_parameters(entry: NotebookEntry, given: dict[str, Any], profile: str | None, device: str | None) -> dict[str, Any]:
    """Validated parameters to inject (only those given, plus profile/device overrides)."""
    declared = declared_parameters(entry.path)
    params = dict(given)
    if profile is not None and "profile" in declared:
        params["profile"] = profile
    if device is not None and "device" in declared:
        params["device"] = device
    validate_parameters(params, declared, entry)  # raises ParameterError
    return params


def _append_jsonl(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _log_lock, path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str) + "\n")


def run_notebook(
    entry: NotebookEntry,
    parameters: dict[str, Any],
    *,
    results_dir: Path | None = None,
    kernel: str | None = None,
    log_output: bool = True,
) -> RunResult:
    """Execute one notebook (parameters already validated) and record the outcome."""
    import papermill as pm

    root = repo_root()
    results_dir = Path(results_dir) if results_dir else root / "results"
    profile_name = parameters.get("profile") or declared_parameters(entry.path).get("profile").default
    timeout = get_profile(profile_name).cell_timeout_s
    executed = results_dir / "executed" / f"{entry.id}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    result = RunResult(entry.id, "ok", 0.0, profile_name, parameters, str(executed))
    try:
        pm.execute_notebook(
            str(entry.path),
            str(executed),
            parameters=parameters,
            kernel_name=kernel or kernel_name(),
            language="python",
            cwd=str(root),
            execution_timeout=timeout,
            log_output=log_output,
            progress_bar=False,
            report_mode=False,
        )
    except pm.PapermillExecutionError as exc:
        result.status = "failed"
        result.failing_cell = exc.exec_count
        result.error = f"{exc.ename}: {exc.evalue}"
        result.cell_source = exc.source
    except Exception as exc:  # noqa: BLE001 - kernel death, timeout, bad notebook: all are failures
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {exc}"
    result.duration_s = round(time.time() - t0, 2)
    result.finished = _dt.datetime.now(_dt.timezone.utc).isoformat()
    _append_jsonl(results_dir / "runs.jsonl", asdict(result))
    return result


def run_many(
    entries: list[NotebookEntry],
    parameters: list[dict[str, Any]],
    *,
    jobs: int = 1,
    results_dir: Path | None = None,
    log_output: bool = True,
) -> list[RunResult]:
    """Run notebooks (``jobs`` at a time) with a progress bar; failures do not stop the rest."""
    from tqdm.auto import tqdm

    kernel = kernel_name()
    results: list[RunResult] = []
    bar = tqdm(total=len(entries), desc="notebooks", unit="nb")
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {
            pool.submit(run_notebook, e, p, results_dir=results_dir, kernel=kernel, log_output=log_output and jobs == 1): e
            for e, p in zip(entries, parameters)
        }
        for fut in as_completed(futures):
            res = fut.result()
            results.append(res)
            bar.update(1)
            note = "" if res.status == "ok" else f": {res.error}"
            bar.write(f"{'ok    ' if res.status == 'ok' else 'FAILED'} {res.id} ({res.duration_s:.1f} s){note}")
    bar.close()
    order = {e.id: i for i, e in enumerate(entries)}
    return sorted(results, key=lambda r: order[r.id])

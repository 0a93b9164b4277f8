"""Execute registered notebooks with papermill: one, or all of them.

Each run is checked before a kernel starts (unknown, ill-typed or out-of-range ``-p``
parameters, contradicting flags, a device the machine lacks, a results folder it cannot write
fail at once), executed through papermill's Python API with an explicit kernel and the
profile's per-cell timeout, saved (atomically, at the end) to ``<results>/executed/<id>.ipynb`` with its full log (every
cell's output, papermill's progress, the kernel's own stdout/stderr) beside it in
``<results>/executed/<id>.log``, and recorded as one line of ``<results>/runs.jsonl`` (rewritten atomically, under a lock; its paths
relative to the results folder).

A run's outputs become results only when it succeeds: the notebook's :class:`~pain_lib.notebook.Run`
writes its tables and figures into a staging folder (``<results>/executed/<group>/.<name>.<run
id>.staging/``, named to the kernel by ``PAIN_LIB_STAGE``), and the runner moves them into
``<results>/<paper>/`` together once the notebook finished and its run is recorded. A failed
notebook's outputs go to ``<results>/executed/<id>.partial/``; on a full disk they are deleted
and nothing under the results folder changes.

The console shows a progress bar and one line per notebook: status, time, number of files
written and, for a failure, the failing cell's first lines and the error (``-v``: every cell's
output as it comes, as papermill logs it).

Ctrl-C while notebooks run (:class:`Interrupt`): no further notebook starts, the running
kernels are interrupted (and killed after :data:`INTERRUPT_GRACE_S` seconds), every unfinished
notebook is recorded as ``interrupted`` and the files it wrote are moved out of the results
to ``<results>/executed/<id>.partial/``, so nothing half-done looks like a result. A second
Ctrl-C kills the kernels at once; the bookkeeping still completes.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fnmatch
import json
import logging
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .config import get_profile
from .errors import describe_os_error, is_disk_full
from .io import atomic_write_bytes
from .params import ParameterError, validate_parameters
from .paths import ENV_FOLDERS, package_checkout, portable
from .registry import NotebookEntry, declared_parameters, load_registry, repo_root

__all__ = [
    "RunResult",
    "Interrupt",
    "ResultsDirError",
    "run_notebook",
    "run_many",
    "select",
    "kernel_name",
    "prepare_parameters",
    "check_writable",
    "INTERRUPT_GRACE_S",
]

KERNEL = "pain-lib"
#: seconds an interrupted kernel gets to stop before it is killed
INTERRUPT_GRACE_S = 15.0
_log_lock = threading.Lock()


class ResultsDirError(OSError):
    """The results folder (or a folder or file in it) cannot be written."""


@dataclass
class RunResult:
    id: str
    status: str  # ok | failed | interrupted
    duration_s: float
    profile: str
    parameters: dict[str, Any]
    executed: str
    failing_cell: int | None = None
    error: str | None = None
    cell_source: str | None = None
    finished: str = ""
    device: str = ""  # device type the notebook ran on: cpu, cuda, mps
    log: str = ""
    files: int = 0  # files the notebook wrote under the results folder
    partial: str | None = None  # where an interrupted notebook's outputs were moved
    run_id: str = ""  # the id its outputs' provenance carries (``run_id``)

    def describe_failure(self) -> str:
        return (
            f"FAILED {self.id} after {self.duration_s:.1f} s\n"
            f"  failing cell (execution count {self.failing_cell}):\n"
            + "\n".join("    " + line for line in (self.cell_source or "").splitlines())
            + f"\n  error: {self.error}\n  executed notebook: {self.executed}\n  log: {self.log}"
        )

    def summary_line(self, *, cell_lines: int = 2, width: int = 0) -> str:
        """One line: status, id, time, files written; for a failure the failing cell's first
        lines, the error and the log."""
        status = {"ok": "ok", "failed": "FAILED", "interrupted": "STOPPED"}.get(self.status, self.status)
        files = f"{self.files} file{'s' if self.files != 1 else ''}"
        text = f"{status:<7} {self.id:<{width}}  {self.duration_s:7.1f} s  {files:>8}"
        if self.status == "ok":
            return text
        if self.cell_source:
            lines = [ln.strip() for ln in self.cell_source.splitlines() if ln.strip()]
            shown = " ⏎ ".join(lines[:cell_lines]) + (" ⏎ …" if len(lines) > cell_lines else "")
            text += f"  cell {self.failing_cell}: {shown}"
        error = next((ln.strip() for ln in (self.error or "").splitlines() if ln.strip()), "")
        if len(error) > 240:
            error = error[:237] + "..."
        return text + f"  -> {error}  (log: {_relative(self.log)})"


def _relative(path: str | Path | None) -> str:
    if not path:
        return ""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


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


# --------------------------------------------------------------------------- before a kernel starts
def prepare_parameters(entry: NotebookEntry, given: dict[str, Any], profile: str | None, device: str | None) -> dict[str, Any]:
    """Validated parameters to inject (only those given, plus profile/device overrides).

    A ``--profile`` / ``--device`` flag that contradicts a ``-p`` value is an error naming both,
    and a device this machine does not have fails here, before a kernel starts.
    """
    declared = declared_parameters(entry.path)
    params = dict(given)
    for flag, name, value in (("--profile", "profile", profile), ("--device", "device", device)):
        if value is None:
            continue
        if name in params and params[name] != value:
            raise ParameterError(
                f"{flag} {value} contradicts -p {name}={params[name]!r}: give the {name} once "
                f"(either {flag} {value} or -p {name}=...)"
            )
        if name in declared:
            params[name] = value
    full = validate_parameters(params, declared, entry)  # raises ParameterError
    _check_device(full.get("device"), entry)
    return params


def _check_device(device: Any, entry: NotebookEntry) -> None:
    if not isinstance(device, str) or device in ("auto", "cpu"):
        return
    from .config import resolve_device

    try:
        resolve_device(device)
    except ValueError as exc:
        raise ParameterError(f"notebook {entry.id!r}: {exc}") from None


def check_writable(results_dir: Path, entries: Iterable[NotebookEntry] = ()) -> None:
    """Raise :class:`ResultsDirError` (one line naming the folder) unless the results folder, and
    the folders and files in it that these notebooks write, can be written."""
    results_dir = Path(results_dir)
    hint = "make it writable, or write the results elsewhere with --results-dir DIR"
    if results_dir.exists() and not results_dir.is_dir():
        raise ResultsDirError(f"results folder {results_dir} is a file, not a folder: give a folder with --results-dir DIR")
    folders = [results_dir, results_dir / "executed"]
    for e in entries:
        folders.append(results_dir / "executed" / e.id.split("/")[0])
        folders.append(results_dir / e.paper)
        folders += [results_dir / a.split(":", 1)[0] for a in e.artifacts if ":" in a]
    for folder in dict.fromkeys(folders):
        if folder != results_dir and not folder.exists():
            continue  # created inside a folder already checked
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".pain-lib-write-check."):
                pass
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise ResultsDirError(f"results folder {folder} is not writable ({exc.strerror or exc}): {hint}") from None
            raise ResultsDirError("results folder " + describe_os_error(exc, path=folder)) from None
    for name in ("runs.jsonl",):
        path = results_dir / name
        if path.exists():
            try:
                with path.open("a"):
                    pass
            except OSError as exc:
                raise ResultsDirError(f"{path} cannot be written ({exc.strerror or exc}): {hint}") from None


# --------------------------------------------------------------------------- Ctrl-C
class Interrupt:
    """The stop request of a run and the kernels running now.

    :meth:`handling_sigint` routes Ctrl-C to :meth:`request`: the first stops launching
    notebooks and sends SIGINT to every running kernel (again every second, so a kernel that
    was starting is interrupted too, and SIGKILL after ``grace_s``); the second kills them.
    """

    def __init__(self, grace_s: float = INTERRUPT_GRACE_S):
        self.grace_s = grace_s
        self.requests = 0
        self._event = threading.Event()
        self._lock = threading.RLock()  # the signal handler runs in the main thread
        self._kernels: dict[str, tuple[int, int | None]] = {}  # notebook id -> (pid, pgid)
        self._since = 0.0
        self._last_sigint = 0.0

    def is_set(self) -> bool:
        return self._event.is_set()

    def elapsed(self) -> float:
        return time.monotonic() - self._since if self.is_set() else 0.0

    def request(self) -> None:
        self.requests += 1
        if self.requests == 1:
            self._since = self._last_sigint = time.monotonic()
            self._event.set()
            self._signal(signal.SIGINT)
        else:
            self._signal(_SIGKILL)

    def tick(self) -> None:
        """Called about every 0.2 s while stopping: re-interrupt, or kill after the grace."""
        if not self.is_set():
            return
        now = time.monotonic()
        if now - self._since >= self.grace_s:
            self._signal(_SIGKILL)
        elif now - self._last_sigint >= 1.0:
            self._last_sigint = now
            self._signal(signal.SIGINT)

    def kernel_started(self, notebook: str, km: Any) -> None:
        prov = getattr(km, "provisioner", None)
        pid = getattr(prov, "pid", None)
        if pid is None:
            return
        with self._lock:
            self._kernels[notebook] = (pid, getattr(prov, "pgid", None))
        if self.is_set():
            self._signal(signal.SIGINT)

    def kernel_done(self, notebook: str) -> None:
        with self._lock:
            self._kernels.pop(notebook, None)

    def _signal(self, signum: int) -> None:
        with self._lock:
            kernels = list(self._kernels.values())
        for pid, pgid in kernels:
            try:
                if pgid and hasattr(os, "killpg"):
                    os.killpg(pgid, signum)
                else:
                    os.kill(pid, signum)
            except OSError:
                pass  # already gone

    @contextlib.contextmanager
    def handling_sigint(self) -> Iterator[Interrupt]:
        """Route SIGINT (Ctrl-C) to :meth:`request` (main thread only; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, lambda signum, frame: self.request())
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


_SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)


# --------------------------------------------------------------------------- logs
class _LogRouter(logging.Handler):
    """Papermill logs every cell's output on its module logger; this sends each record to the
    log file of the notebook whose thread emitted it, and to the console only when that run
    echoes (``-v``). Records of other threads reach the console handlers as before (warnings
    only, unless :attr:`echo_others`)."""

    def __init__(self) -> None:
        super().__init__()
        self.sinks: dict[int, tuple[logging.Handler, bool]] = {}
        self.echo_others = False

    def emit(self, record: logging.LogRecord) -> None:
        sink = self.sinks.get(record.thread)
        if sink is not None:
            sink[0].handle(record)
        echo = sink[1] if sink is not None else (self.echo_others or record.levelno >= logging.WARNING)
        if echo:
            logging.getLogger().handle(record)


class _QuietFileHandler(logging.FileHandler):
    """A notebook's log file; a write that fails (a full disk) is dropped, not a traceback."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass


_router: _LogRouter | None = None
_router_lock = threading.Lock()


def _log_router() -> _LogRouter:
    global _router
    with _router_lock:
        if _router is None:
            _router = _LogRouter()
            pm_logger = logging.getLogger("papermill")
            pm_logger.addHandler(_router)
            pm_logger.propagate = False
            if pm_logger.level == logging.NOTSET or pm_logger.level > logging.INFO:
                pm_logger.setLevel(logging.INFO)
        return _router


def _kernel_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The kernel's environment: the folders of ``PAIN_LIB_*`` made absolute (the kernel runs in
    the project folder, the command in the current one: a relative folder means the same in
    both), ``extra`` (the run's staging folder and id), and -- when this ``pain_lib`` is a source
    checkout -- its folder first on ``PYTHONPATH``, so the kernel runs the same library as the
    runner whatever project (``PAIN_LIB_ROOT``) it executes."""
    env = dict(os.environ)
    for name in ENV_FOLDERS:
        if env.get(name):
            env[name] = str(Path(env[name]).expanduser().absolute())
    checkout = package_checkout()
    if (checkout / "pyproject.toml").is_file():
        env["PYTHONPATH"] = os.pathsep.join([str(checkout), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra or {})
    return env


def _kernel_manager_class(on_start: Callable[[Any], None], stdio: Any, extra_env: dict[str, str] | None = None):
    """A kernel manager that sends the kernel's own stdout/stderr to ``stdio`` (the log), runs
    it with this library (:func:`_kernel_env`) and reports the started kernel (for Ctrl-C)."""
    from jupyter_client.manager import AsyncKernelManager

    env = _kernel_env(extra_env)

    class RunKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:
            if stdio is not None:
                kw.setdefault("stdout", stdio)
                kw.setdefault("stderr", stdio)
            kw.setdefault("env", env)
            await super().start_kernel(**kw)
            on_start(self)

    return RunKernelManager


# --------------------------------------------------------------------------- outputs
def _output_dir(parameters: dict[str, Any], root: Path) -> Path:
    out = Path(str(parameters.get("output_dir") or "results")).expanduser()
    return out if out.is_absolute() else root / out


def _outputs_since(out_dir: Path, notebook: str, since: float) -> list[Path]:
    """Files under ``out_dir/<folder>/`` written since ``since`` by ``notebook``: those whose
    provenance (``<stem>.json``, written after the data files) names it, and those without
    fresh provenance (a write the notebook did not finish)."""
    if not out_dir.is_dir():
        return []
    owners: dict[Path, str | None] = {}

    def owner(prov: Path) -> str | None:
        if prov not in owners:
            owners[prov] = None
            try:
                if prov.stat().st_mtime >= since:
                    owners[prov] = json.loads(prov.read_text(encoding="utf-8")).get("notebook")
            except (OSError, ValueError, AttributeError):
                pass
        return owners[prov]

    out = []
    for folder in sorted(p for p in out_dir.iterdir() if p.is_dir() and p.name != "executed"):
        for f in sorted(folder.iterdir()):
            try:
                if not f.is_file() or f.stat().st_mtime < since:
                    continue
            except OSError:
                continue
            stem = f.name.split(".")[1] if f.name.startswith(".") else f.name.split(".")[0]
            if owner(folder / f"{stem}.json") in (None, notebook):
                out.append(f)
    return out


def _move_partial(files: list[Path], out_dir: Path, dest: Path, stage: Path | None = None) -> str | None:
    """Move a stopped or failed run's outputs -- its staging folder and any file it wrote
    straight into the results -- to ``dest``; ``None`` when there were none."""
    staged = _staged_files(stage)
    if not files and not staged:
        return None
    if dest.exists():
        shutil.rmtree(dest)
    if staged:
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage, dest)
    for f in files:
        target = dest / f.relative_to(out_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(f), str(target))
    if stage is not None and stage.exists():
        shutil.rmtree(stage, ignore_errors=True)
    return str(dest)


def _stage_dir(out_dir: Path, notebook: str, run_id: str) -> Path:
    """Where a run's tables and figures are written until it succeeds (``PAIN_LIB_STAGE``)."""
    group, _, name = notebook.rpartition("/")
    return out_dir / "executed" / group / f".{name}.{run_id}.staging"


def _staged_files(stage: Path | None) -> list[Path]:
    if stage is None or not stage.is_dir():
        return []
    return sorted(f for f in stage.rglob("*") if f.is_file() and not f.name.endswith(".tmp"))


def _commit(stage: Path, out_dir: Path) -> None:
    """Move a successful run's staged outputs into the results, provenance (``.json``) last."""
    files = sorted(_staged_files(stage), key=lambda f: (f.suffix == ".json", str(f)))
    for f in files:
        target = out_dir / f.relative_to(stage)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, target)
    shutil.rmtree(stage, ignore_errors=True)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` itself (no lock file in the results), between processes."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX: the thread lock only
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _append_jsonl(path: Path, record: dict) -> None:
    """Add one line to ``path`` atomically: the file is rewritten whole beside itself and renamed
    over, under a lock, so a full disk or a kill leaves the old file, never a cut one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, default=str) + "\n").encode("utf-8")
    with _log_lock, _folder_lock(path.parent):
        old = path.read_bytes() if path.exists() else b""
        if old and not old.endswith(b"\n"):
            old += b"\n"  # a line cut by an older writer stays one (unreadable) line
        atomic_write_bytes(path, old + line)


def _record_path(path: str | None, results_dir: Path) -> str | None:
    """A path as ``runs.jsonl`` stores it: relative to the results folder (portable)."""
    if not path:
        return path
    p = Path(path)
    try:
        return p.resolve().relative_to(results_dir.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):
        return portable(p)


def _record(result: RunResult, results_dir: Path) -> dict:
    rec = asdict(result)
    for key in ("executed", "log", "partial"):
        rec[key] = _record_path(rec[key], results_dir)
    return rec


def _finalise(result: RunResult, entry: NotebookEntry, out_dir: Path, results_dir: Path, t0: float,
              stage: Path | None = None) -> RunResult:
    """Duration, files written, the runs.jsonl line; then a successful run's staged outputs
    are moved into the results, a failed or stopped one's to ``<id>.partial/`` (deleted when
    the disk is full: nothing under the results changes)."""
    result.duration_s = round(time.time() - t0, 2)
    result.finished = _dt.datetime.now(_dt.timezone.utc).isoformat()
    written = _outputs_since(out_dir, entry.id, t0)
    result.files = len(written) + len(_staged_files(stage))
    partial_dir = results_dir / "executed" / f"{entry.id}.partial"
    if result.status == "ok":
        try:
            _append_jsonl(results_dir / "runs.jsonl", _record(result, results_dir))
        except OSError as exc:
            result.status = "failed"
            result.error = "the run could not be recorded: " + describe_os_error(exc)
            if stage is not None:
                shutil.rmtree(stage, ignore_errors=True)
            raise
        if stage is not None:
            _commit(stage, out_dir)
        return result
    if is_disk_full(result.error):
        # the disk is full: the outputs are dropped and nothing is recorded -- the results
        # folder stays as it was (the log says what happened)
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        with contextlib.suppress(OSError), open(result.log, "a", encoding="utf-8") as fh:
            fh.write("\n" + result.describe_failure() + "\n  (disk full: outputs discarded, run not recorded)\n")
        return result
    with contextlib.suppress(OSError):
        result.partial = _move_partial(written, out_dir, partial_dir, stage)
    if result.log:
        with contextlib.suppress(OSError), open(result.log, "a", encoding="utf-8") as fh:
            fh.write("\n" + result.describe_failure() + (f"\n  partial outputs moved to: {result.partial}" if result.partial else "") + "\n")
    _append_jsonl(results_dir / "runs.jsonl", _record(result, results_dir))
    return result


def _valid_notebook_file(path: Path) -> bool:
    try:
        json.loads(path.read_text(encoding="utf-8"))
        return True
    except (OSError, ValueError):
        return False


# --------------------------------------------------------------------------- running
def run_notebook(
    entry: NotebookEntry,
    parameters: dict[str, Any],
    *,
    results_dir: Path | None = None,
    kernel: str | None = None,
    log_output: bool = True,
    interrupt: Interrupt | None = None,
) -> RunResult:
    """Execute one notebook (parameters already validated) and record the outcome.

    ``results_dir`` (executed notebook, log, ``runs.jsonl``) defaults to the notebook's
    ``output_dir``. ``log_output``: also echo every cell's output to the console logger (the
    log file always gets it). ``interrupt``: the run's Ctrl-C state (:class:`Interrupt`).
    """
    import papermill as pm

    from .plan import device_type

    root = repo_root()
    out_dir = _output_dir(parameters, root)
    results_dir = Path(results_dir) if results_dir else out_dir
    declared = declared_parameters(entry.path)
    profile_name = parameters.get("profile") or declared["profile"].default
    device = parameters.get("device") or (declared["device"].default if "device" in declared else "auto")
    timeout = get_profile(profile_name).cell_timeout_s
    executed = results_dir / "executed" / f"{entry.id}.ipynb"
    log_path = executed.with_suffix(".log")
    executed.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("", encoding="utf-8")
    run_id = uuid.uuid4().hex[:12]
    stage = _stage_dir(out_dir, entry.id, run_id)
    executing = executed.with_name(f".{executed.stem}.{run_id}.tmp.ipynb")  # renamed to ``executed`` at the end
    stage_env = {"PAIN_LIB_STAGE": str(stage), "PAIN_LIB_RUN_ID": run_id, "PAIN_LIB_STAGE_FOR": str(out_dir.resolve())}
    interrupt = interrupt or Interrupt()
    t0 = time.time()
    result = RunResult(entry.id, "ok", 0.0, profile_name, parameters, str(executed),
                       device=device_type(device), log=str(log_path), run_id=run_id)
    router = _log_router()
    handler = _QuietFileHandler(log_path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    me = threading.get_ident()
    with open(log_path, "ab", buffering=0) as stdio:
        router.sinks[me] = (handler, log_output)
        try:
            pm.execute_notebook(
                str(entry.path),
                str(executing),
                parameters=parameters,
                kernel_name=kernel or kernel_name(),
                language="python",
                cwd=str(root),
                execution_timeout=timeout,
                log_output=True,
                progress_bar=False,
                report_mode=False,
                kernel_manager_class=_kernel_manager_class(lambda km: interrupt.kernel_started(entry.id, km), stdio,
                                                           stage_env),
            )
        except pm.PapermillExecutionError as exc:
            result.status = "failed"
            result.failing_cell = exc.exec_count
            result.error = f"{exc.ename}: {exc.evalue}"
            result.cell_source = exc.source
        except OSError as exc:
            result.status = "failed"
            result.error = f"{type(exc).__name__}: {describe_os_error(exc, path=exc.filename or executed.parent)}"
        except Exception as exc:  # noqa: BLE001 - kernel death, timeout, bad notebook: all are failures
            result.status = "failed"
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            router.sinks.pop(me, None)
            interrupt.kernel_done(entry.id)
            with contextlib.suppress(OSError):  # its last flush on a full disk
                handler.close()
    if result.status != "ok" and interrupt.is_set():
        result.status = "interrupted"
        result.error = f"interrupted (Ctrl-C): {result.error}"
    # The executed notebook: renamed into place whole; a cut one (full disk) is dropped.
    try:
        if executing.exists() and (result.status == "ok" or (not is_disk_full(result.error)
                                                              and _valid_notebook_file(executing))):
            os.replace(executing, executed)
        else:
            result.executed = ""
    except OSError as exc:
        result.status, result.executed = "failed", ""
        result.error = f"{type(exc).__name__}: {describe_os_error(exc)}"
    finally:
        with contextlib.suppress(OSError):
            executing.unlink(missing_ok=True)
    return _finalise(result, entry, out_dir, results_dir, t0, stage)


def run_many(
    entries: list[NotebookEntry],
    parameters: list[dict[str, Any]],
    *,
    jobs: int = 1,
    results_dir: Path | None = None,
    log_output: bool = True,
    interrupt: Interrupt | None = None,
) -> list[RunResult]:
    """Run notebooks (``jobs`` at a time) with a progress bar and one line per notebook;
    failures do not stop the rest, a Ctrl-C (see :class:`Interrupt`) does. Returns the results
    of the notebooks that ran, in registry order (fewer than ``entries`` after a Ctrl-C)."""
    from tqdm.auto import tqdm

    kernel = kernel_name()
    interrupt = interrupt or Interrupt()
    todo = list(zip(entries, parameters))
    order = {e.id: i for i, e in enumerate(entries)}
    width = max((len(e.id) for e in entries), default=0)
    done: queue.Queue[RunResult] = queue.Queue()
    running: dict[str, tuple[NotebookEntry, dict[str, Any], float]] = {}
    results: list[RunResult] = []

    def work(entry: NotebookEntry, params: dict[str, Any]) -> None:
        try:
            res = run_notebook(entry, params, results_dir=results_dir, kernel=kernel,
                               log_output=log_output, interrupt=interrupt)
        except OSError as exc:  # e.g. the log or runs.jsonl cannot be written: report, go on
            res = RunResult(entry.id, "failed", 0.0, str(params.get("profile", "")), params, "",
                            error=f"{type(exc).__name__}: {describe_os_error(exc)}")
        except Exception as exc:  # noqa: BLE001 - report, go on
            res = RunResult(entry.id, "failed", 0.0, str(params.get("profile", "")), params, "",
                            error=f"{type(exc).__name__}: {exc}")
        done.put(res)

    bar = tqdm(total=len(entries), desc="notebooks", unit="nb", file=sys.stderr, dynamic_ncols=True)
    try:
        while todo or running:
            while todo and len(running) < max(1, jobs) and not interrupt.is_set():
                entry, params = todo.pop(0)
                running[entry.id] = (entry, params, time.time())
                threading.Thread(target=work, args=(entry, params), name=f"pain-lib {entry.id}", daemon=True).start()
                bar.set_postfix_str(", ".join(running), refresh=True)
            if interrupt.is_set():
                todo.clear()
                bar.set_description("stopping")
                if not running:
                    break
            try:
                res = done.get(timeout=0.2)
            except queue.Empty:
                interrupt.tick()
                if interrupt.is_set() and interrupt.elapsed() > interrupt.grace_s + 60:
                    results += _abandon(running, results_dir)  # kernels killed, threads stuck
                    running.clear()
                continue
            running.pop(res.id, None)
            results.append(res)
            bar.update(1)
            bar.set_postfix_str(", ".join(running), refresh=True)
            if res.status != "interrupted":
                bar.write(res.summary_line(width=width), file=sys.stdout)
    finally:
        bar.close()
    return sorted(results, key=lambda r: order.get(r.id, len(order)))


def _abandon(running: dict[str, tuple[NotebookEntry, dict[str, Any], float]], results_dir: Path | None) -> list[RunResult]:
    """Record notebooks whose runner thread did not return after their kernel was killed."""
    out = []
    root = repo_root()
    for entry, params, t0 in running.values():
        out_dir = _output_dir(params, root)
        res = RunResult(entry.id, "interrupted", 0.0, str(params.get("profile", "")), params, "",
                        error="interrupted (Ctrl-C): the notebook did not stop after its kernel was killed")
        group, _, name = entry.id.rpartition("/")
        stages = sorted((out_dir / "executed" / group).glob(f".{name}.*.staging"), key=lambda p: p.stat().st_mtime)
        out.append(_finalise(res, entry, out_dir, Path(results_dir) if results_dir else out_dir, t0,
                             stages[-1] if stages else None))
    return out

"""The ``pain-lib`` command.

::

    pain-lib list                                   registered notebooks
    pain-lib run <id> [-p name=value ...] [--profile P] [--device D] [-v]
    pain-lib reproduce [--profile P] [--only GLOB] [--jobs N] [--data NAME=PATH ...] [-p name=value ...] [-v]
    pain-lib profiles [--default]                   the profiles (pain_lib/config.py)
    pain-lib index                                  regenerate results/README.md
    pain-lib book [--results-dir DIR] [--out DIR]   the static companion site (the book extra)
    pain-lib synth --flavour F --scale S --out DIR  write a synthetic dataset
    pain-lib data check --dataset NAME --root PATH [--full] [--strict]  check a dataset against its manifest
    pain-lib data prepare [--profile P]             generate the synthetic sets the notebooks use

``run`` and ``reproduce`` show a progress bar and one line per notebook; each notebook's full
log goes to ``<results>/executed/<id>.log`` (``-v``: stream every cell's output too).
Ctrl-C stops them cleanly (exit status 130).

Every error is one line on stderr naming what is wrong (the file, the parameter, the folder)
and what to do, exit status 2 (1: a notebook failed); ``-v`` adds the traceback. Relative
paths -- ``--results-dir``, ``-p output_dir=``, ``-p data_root=``, ``--data NAME=PATH``,
``synth --out``, ``data check --root`` and the ``PAIN_LIB_*`` variables -- start at the current
folder.
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from pathlib import Path

from .config import PROFILES
from .errors import PathProblem, describe_os_error, is_disk_full
from .params import ParameterError, parse_cli_value
from .registry import RegistryError, declared_parameters, get_entry, load_registry, repo_root

__all__ = ["main", "build_parser"]


def _parse_assignments(items: list[str]) -> dict:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"-p expects name=value, got {item!r}")
        out[name.strip()] = parse_cli_value(value, name.strip())
    return out


def _cmd_list(args) -> int:
    reg = load_registry()
    for e in reg.notebooks:
        print(f"{e.id:45s} {e.paper:8s} {', '.join(e.artifacts)}")
        if args.verbose:
            for p in declared_parameters(e.path).values():
                print(f"    {p.name}: {p.annotation} = {p.default!r}  # {p.help}")
                if p.name in e.constraints:
                    from .params import describe_constraint

                    print(f"        allowed: {describe_constraint(e.constraints[p.name])}")
    return 0


def _resolve(path: str, what: str = "folder") -> Path:
    """A folder given on the command line, resolved against the current directory (one line,
    not a traceback, for a symbolic-link loop)."""
    p = Path(path).expanduser()
    p = p if p.is_absolute() else Path.cwd() / p
    try:
        return p.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop before Python 3.13
        raise PathProblem(f"{what} {p}: a symbolic-link loop (a link that points back at itself): "
                          "remove or repoint the link, or give a real folder") from None


def _absolute_data_root(given: dict) -> None:
    """``-p data_root=REL`` starts at the current folder (the kernel runs in the project's)."""
    root = given.get("data_root")
    if isinstance(root, str) and root:
        given["data_root"] = str(_resolve(root, "data_root"))


def _results_dir(args, given: dict | None = None) -> tuple[Path, bool]:
    """The results folder and whether it was chosen (``--results-dir`` or ``-p output_dir``,
    both resolved against the current directory; the two must agree)."""
    flag = _resolve(args.results_dir, "--results-dir") if getattr(args, "results_dir", None) else None
    param = (given or {}).get("output_dir")
    if isinstance(param, str) and param:
        chosen = _resolve(param, "output_dir")
        if flag is not None and flag != chosen:
            raise ParameterError(
                f"-p output_dir={param!r} ({chosen}) contradicts --results-dir {args.results_dir} "
                f"({flag}): give the results folder once"
            )
        return chosen, True
    if flag is not None:
        return flag, True
    return repo_root() / "results", False


def _finish(results, results_dir: Path, *, planned: int, interrupt=None) -> int:
    from .report import registry_artifact_map, write_index

    reg = load_registry()
    full = [r for r in results if is_disk_full(r.error)]
    if full:
        ok = sum(r.status == "ok" for r in results)
        print(f"{ok} notebooks ok, {len(results) - ok} failed")
        from .runner import ResultsDirError

        raise ResultsDirError(describe_os_error(OSError(errno.ENOSPC, "No space left on device", str(results_dir)))
                              + f"; the failed run's outputs were discarded and nothing under {results_dir} changed")
    index = write_index(results_dir, registry_artifact_map([_entry_dict(e) for e in reg.notebooks]), reg.diagrams)
    if interrupt is not None and interrupt.is_set():
        stopped = [r for r in results if r.status == "interrupted"]
        parts = [
            f"{r.id} stopped after {r.duration_s:.1f} s, recorded as interrupted in {_rel(results_dir / 'runs.jsonl')}"
            + (f", its partial outputs moved to {_rel(r.partial)}" if r.partial else "")
            for r in stopped
        ] or ["no notebook was running"]
        not_started = planned - len(results)
        print(
            f"pain-lib: interrupted: {'; '.join(parts)}; {not_started} notebook{'s' if not_started != 1 else ''} "
            f"not started; {_rel(index)} regenerated",
            file=sys.stderr,
        )
        return 130
    failed = [r for r in results if r.status != "ok"]
    total = sum(r.duration_s for r in results)
    print(f"{len(results) - len(failed)} notebooks ok, {len(failed)} failed ({total:.1f} s of notebook time)")
    for r in failed:
        print(f"  {r.id}: executed notebook: {_rel(r.executed) or '(none)'}; log: {_rel(r.log)}")
    return 1 if failed else 0


def _rel(path) -> str:
    from .runner import _relative

    return _relative(path)


def _entry_dict(e) -> dict:
    return {"id": e.id, "paper": e.paper, "artifacts": list(e.artifacts)}


def _plan(entries, params, device_flag: str | None, results_dir: Path) -> str:
    from .plan import device_type, estimate, format_plan, history

    runs, devices = [], []
    for e, p in zip(entries, params):
        declared = declared_parameters(e.path)
        runs.append((e.id, p.get("profile") or declared["profile"].default))
        devices.append(p.get("device") or (declared["device"].default if "device" in declared else "auto"))
    asked = device_flag or devices[0]
    device = device_type(asked)
    return format_plan(estimate(runs, device, past=history(results_dir / "runs.jsonl")), device_asked=asked)


def _cluster(args):
    """The :class:`~pain_lib.experiments.cluster.Cluster` of ``--executor`` (``None``: serial)."""
    if getattr(args, "executor", "serial") in (None, "serial"):
        for flag in ("partition", "gpus", "cluster_setup"):
            if getattr(args, flag, None):
                raise ParameterError(f"--{flag.replace('_', '-')} needs --executor slurm or --executor local")
        return None
    import shutil

    from .experiments.cluster import Cluster

    if args.executor == "slurm" and shutil.which("sbatch") is None:
        raise ParameterError("--executor slurm: no `sbatch` on this machine's PATH (run on a SLURM login node), "
                             "or use --executor local")
    gpus = tuple(int(g) for g in args.gpus.split(",") if g.strip()) if args.gpus else ()
    return Cluster(args.executor, partition=args.partition, max_parallel=args.max_parallel,
                   gpus_per_job=args.gpus_per_job, gpus=gpus, cpus_per_job=args.cpus_per_job, mem_gb=args.mem_gb,
                   timeout_min=args.timeout_min, setup=tuple(args.cluster_setup or ()))


def _execute(args, entries, params, results_dir: Path) -> int:
    import os

    from .runner import Interrupt, run_many

    cluster = _cluster(args)
    if cluster is not None:
        from .experiments.cluster import ENV

        os.environ[ENV] = cluster.to_json()  # the kernels inherit it; run_grid(run=run) reads it
        print(f"grids: one {cluster.executor} job per (configuration, fold), {cluster.parallel} at once")
    interrupt = Interrupt()
    with interrupt.handling_sigint():
        results = run_many(entries, params, jobs=getattr(args, "jobs", 1), results_dir=results_dir,
                           log_output=args.verbose, interrupt=interrupt)
        return _finish(results, results_dir, planned=len(entries), interrupt=interrupt)


def _check_folders(results_dir: Path, entries) -> None:
    """Everything a run writes or reads is checked before a kernel starts: the results folder
    and every folder an environment variable moves (one line naming it)."""
    from .paths import check_environment_folders
    from .runner import check_writable

    check_writable(results_dir, entries)
    check_environment_folders()


def _cmd_run(args) -> int:
    from .runner import prepare_parameters

    entry = get_entry(args.id)
    given = _parse_assignments(args.p)
    results_dir, chosen = _results_dir(args, given)
    if chosen:
        given["output_dir"] = str(results_dir)
    _absolute_data_root(given)
    params = prepare_parameters(entry, given, args.profile, args.device)
    _check_folders(results_dir, [entry])
    print(_plan([entry], [params], args.device, results_dir))
    return _execute(args, [entry], [params], results_dir)


def _data_map(args, given: dict) -> dict[str, str]:
    """Dataset -> data_root from ``--data NAME=PATH`` or ``-p dataset=NAME [-p data_root=PATH]``
    (paths from the current folder; empty for a synthetic set: the generated one)."""
    from .config import DATASETS, SYNTHETIC_DATASETS

    data: dict[str, str] = {}
    for item in args.data:
        name, sep, path = item.partition("=")
        name = name.strip()
        if not sep or name not in DATASETS:
            raise ParameterError(f"--data expects NAME=PATH with NAME one of {', '.join(DATASETS)}, got {item!r}")
        if name in data:
            raise ParameterError(f"--data {name}=... given twice")
        data[name] = str(_resolve(path, f"--data {name}")) if path else ""
    if "dataset" in given or "data_root" in given:
        if data:
            raise ParameterError("give the data once: --data NAME=PATH, or -p dataset=NAME -p data_root=PATH, not both")
        name, root = given.pop("dataset", None), given.pop("data_root", "")
        if not isinstance(name, str) or name not in DATASETS:
            raise ParameterError(f"-p data_root needs -p dataset=NAME (one of {', '.join(DATASETS)}), got dataset={name!r}")
        if not isinstance(root, str):
            raise ParameterError(f"parameter 'data_root' must be str, got {root!r}")
        data[name] = str(_resolve(root, "data_root")) if root else ""
    for name, root in data.items():
        if not root and name not in SYNTHETIC_DATASETS:
            raise ParameterError(f"dataset {name!r} is a licensed dataset that is not shipped: give its folder "
                                 f"(--data {name}=PATH or -p data_root=PATH)")
    return data


def _plan_reproduce(entries, given: dict, data: dict[str, str]) -> tuple[list, list[dict], list[str]]:
    """The notebooks to run with their parameters, and one line for each skipped one.

    With data (``--data`` / ``-p dataset=``) a notebook gets the first of its registry
    ``datasets`` that is given; a notebook that uses no dataset (``datasets: [none]``) runs as
    usual; a notebook whose datasets include none of those given is skipped. Other ``-p``
    values go to every notebook that declares them (a name none declares is an error)."""
    run, params, skipped = [], [], []
    used: set[str] = set()
    for e in entries:
        declared = declared_parameters(e.path)
        p = {k: v for k, v in given.items() if k in declared}
        used |= set(p)
        if data:
            chosen = next((d for d in e.datasets if d in data), None)
            if chosen is None and tuple(e.datasets) != ("none",):
                skipped.append(f"skipped {e.id}: its registry datasets ({', '.join(e.datasets)}) include none of "
                               f"{', '.join(data)}")
                continue
            if chosen is not None:
                p["dataset"] = chosen
                if data[chosen] and "data_root" in declared:
                    p["data_root"] = data[chosen]
        run.append(e)
        params.append(p)
    unused = sorted(set(given) - used - {"output_dir"})
    if unused and entries:
        raise ParameterError(f"no selected notebook declares parameter {', '.join(map(repr, unused))} "
                             "(`pain-lib list -v` shows each notebook's parameters)")
    return run, params, skipped


def _cmd_reproduce(args) -> int:
    from .runner import prepare_parameters, select

    if args.only is not None and not any(p.strip() for p in args.only.split(",")):
        raise ParameterError(f"--only {args.only!r} names no notebook: give comma-separated globs over notebook "
                             "ids (e.g. --only 'scn/*'), or leave --only out to run them all")
    entries = select(args.only)
    if not entries:
        print(f"pain-lib: error: no registered notebook matches {args.only!r} (`pain-lib list` shows the ids)",
              file=sys.stderr)
        return 2
    given = _parse_assignments(args.p)
    results_dir, chosen = _results_dir(args, given)
    given.pop("output_dir", None)
    data = _data_map(args, given)
    entries, extra, skipped = _plan_reproduce(entries, given, data)
    for line in skipped:
        print(line)
    if not entries:
        raise ParameterError(f"no selected notebook uses {', '.join(data)}: nothing to run")
    base = {"output_dir": str(results_dir)} if chosen else {}
    params = [prepare_parameters(e, {**base, **x}, args.profile, args.device) for e, x in zip(entries, extra)]
    _check_folders(results_dir, entries)
    print(_plan(entries, params, args.device, results_dir))
    return _execute(args, entries, params, results_dir)


def _cmd_profiles(args) -> int:
    from .plan import default_profile

    if args.default:
        print(default_profile())
        return 0
    default = default_profile()
    for name, p in PROFILES.items():
        mark = "  (default here)" if name == default else ""
        print(f"{name:10s} synthetic scale {p.synth_scale}, {p.epochs} epochs, cv {p.cv}, "
              f"{p.image_size} px, width {p.base_width}{mark}")
    return 0


def _cmd_index(args) -> int:
    from .report import registry_artifact_map, write_index

    reg = load_registry()
    results_dir, _ = _results_dir(args)
    path = write_index(results_dir, registry_artifact_map([_entry_dict(e) for e in reg.notebooks]), reg.diagrams)
    print(f"wrote {path}")
    return 0


def _cmd_book(args) -> int:
    from .book import BookError, build, check_site

    results_dir, _ = _results_dir(args)
    out = _resolve(args.out, "--out") if args.out else repo_root() / "build" / "book"
    try:
        summary = build(out, results_dir=results_dir, quiet=not getattr(args, "verbose", False))
    except BookError as exc:
        print(f"pain-lib: error: {exc}", file=sys.stderr)
        return 2
    problems = check_site(summary["html"], list(summary["pages"]))
    executed = sum(mode == "executed" for mode in summary["pages"].values())
    print(f"wrote {summary['html'] / 'index.html'}: {len(summary['pages'])} notebook pages ({executed} from executed "
          f"notebooks, {len(summary['pages']) - executed} from the committed results) in {summary['seconds']} s")
    for problem in problems:
        print(f"  problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _cmd_synth(args) -> int:
    from . import synth
    from .errors import check_folder

    out = _resolve(args.out, "synth --out")
    check_folder(out, "synth --out")
    out = synth.generate(args.flavour, args.scale, out, seed=args.seed)
    print(f"wrote {args.flavour} ({args.scale}) to {out}")
    return 0


def _cmd_data_check(args) -> int:
    from .datacheck import check_dataset

    rep = check_dataset(args.dataset, _resolve(args.root, "--root"), full=args.full, strict=args.strict)
    print(rep.text)
    return 0 if rep.ok else 1


def _cmd_data_prepare(args) -> int:
    from . import synth
    from .config import SYNTHETIC_DATASETS, get_profile
    from .errors import check_folder
    from .paths import synth_data_dir

    scale = get_profile(args.profile).synth_scale
    check_folder(synth_data_dir(), "synthetic-data folder (PAIN_LIB_DATA)")
    needed = sorted({d for e in load_registry().notebooks for d in e.datasets if d in SYNTHETIC_DATASETS})
    for flavour in needed:
        root = synth.ensure(flavour, scale)
        print(f"{flavour} ({scale}): {root}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    profiles = list(PROFILES)  # the profiles config.py defines, never a list of our own
    ap = argparse.ArgumentParser(prog="pain-lib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-v", "--verbose", action="store_true", help="more output")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list registered notebooks (-v: with their parameters)")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=_cmd_list)

    for name, func, helptext in (
        ("run", _cmd_run, "run one registered notebook"),
        ("reproduce", _cmd_reproduce, "run every registered notebook"),
    ):
        p = sub.add_parser(name, help=helptext)
        if name == "run":
            p.add_argument("id", help="notebook id, e.g. overview/00_paper_results")
            p.add_argument("-p", action="append", default=[], metavar="NAME=VALUE",
                           help="set a notebook parameter (value parsed as a Python literal)")
        else:
            p.add_argument("--only", default=None, help="comma-separated globs over notebook ids")
            p.add_argument("--jobs", type=int, default=1, help="notebooks run at once")
            p.add_argument("-p", action="append", default=[], metavar="NAME=VALUE",
                           help="set a parameter of every notebook that declares it; -p dataset=NAME "
                                "[-p data_root=PATH] is --data NAME=PATH")
            p.add_argument("--data", action="append", default=[], metavar="NAME=PATH",
                           help="run every notebook whose registry datasets include NAME on the data at PATH "
                                "(repeat for several datasets; the others are skipped, data-free ones run)")
        p.add_argument("--profile", choices=profiles, default=None,
                       help="default: each notebook's own (standard)")
        p.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N | mps")
        p.add_argument("--results-dir", default=None,
                       help="default: <project>/results (relative paths: from the current directory)")
        p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                       help="stream every cell's output (the log file always has it)")
        g = p.add_argument_group("folds over a cluster (docs/cluster.md)")
        g.add_argument("--executor", choices=["serial", "local", "slurm"], default="serial",
                       help="where grids compute their folds: in the notebook (serial), as submitit jobs on this "
                            "machine (local) or as SLURM job arrays (slurm)")
        g.add_argument("--partition", default=None, help="SLURM partition (--executor slurm)")
        g.add_argument("--max-parallel", type=int, default=0,
                       help="jobs running at once (array parallelism; local: processes; default: --gpus count or 1)")
        g.add_argument("--gpus-per-job", type=int, default=0, help="GPUs each SLURM job asks for")
        g.add_argument("--gpus", default="", help="local: comma-separated GPU indices, one per running job")
        g.add_argument("--cpus-per-job", type=int, default=1)
        g.add_argument("--mem-gb", type=float, default=8.0)
        g.add_argument("--timeout-min", type=int, default=120, help="each job's time limit")
        g.add_argument("--cluster-setup", action="append", default=[], metavar="LINE",
                       help="a shell line each SLURM job runs first (repeat), e.g. 'source .venv/bin/activate'")
        p.set_defaults(func=func)

    p = sub.add_parser("profiles", help="list the profiles (--default: the one make reproduce uses here)")
    p.add_argument("--default", action="store_true", help="print only the default profile of this machine")
    p.set_defaults(func=_cmd_profiles)

    p = sub.add_parser("index", help="regenerate results/README.md")
    p.add_argument("--results-dir", default=None)
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("book", help="build the static companion site (build/book/html; needs the book extra)")
    p.add_argument("--results-dir", default=None, help="default: <project>/results")
    p.add_argument("--out", default=None, help="default: <project>/build/book")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_book)

    p = sub.add_parser("synth", help="write a synthetic dataset in a real dataset's layout")
    p.add_argument("--flavour", required=True, choices=["synth-unbc", "synth-biovid", "synth-mint"])
    p.add_argument("--scale", default="standard", choices=["tiny", "standard", "large"])
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("data", help="dataset tools")
    dsub = p.add_subparsers(dest="data_command", required=True)
    c = dsub.add_parser("check", help="check a dataset folder against its manifest")
    c.add_argument("--dataset", required=True)
    c.add_argument("--root", required=True)
    c.add_argument("--full", action="store_true",
                   help="decode every frame (default: first and last of every video, a sample of images)")
    c.add_argument("--strict", action="store_true",
                   help="fail when the counts differ from the manifest's (default: report them)")
    c.set_defaults(func=_cmd_data_check)
    c = dsub.add_parser("prepare", help="generate (once) the synthetic datasets the registered notebooks use")
    c.add_argument("--profile", default="standard", choices=profiles)
    c.set_defaults(func=_cmd_data_prepare)
    return ap


def _fail(message: str, verbose: bool, code: int = 2) -> int:
    if verbose:
        import traceback

        traceback.print_exc()
    print(f"pain-lib: error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    from .runner import ResultsDirError

    args = build_parser().parse_args(argv)
    verbose = bool(getattr(args, "verbose", False))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("pain-lib: interrupted", file=sys.stderr)
        return 130
    except (ParameterError, RegistryError, ResultsDirError, PathProblem, ValueError) as exc:
        return _fail(str(exc), verbose)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM) and exc.filename:
            return _fail(f"{exc.filename} cannot be written ({exc.strerror}): make it writable, or write the "
                         "results elsewhere with --results-dir DIR", verbose)
        return _fail(describe_os_error(exc), verbose)
    except (MemoryError, RecursionError) as exc:
        return _fail(f"{type(exc).__name__}: an input too large or too deeply nested", verbose)
    except Exception as exc:  # noqa: BLE001 - one line; the traceback with -v
        text = str(exc).splitlines()[0][:300] if str(exc) else ""
        return _fail(f"{type(exc).__name__}: {text} (run with -v for the traceback)", verbose, 1)


if __name__ == "__main__":
    sys.exit(main())

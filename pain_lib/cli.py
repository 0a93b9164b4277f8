"""The ``pain-lib`` command.

::

    pain-lib list                                   registered notebooks
    pain-lib run <id> [-p name=value ...] [--profile P] [--device D]
    pain-lib reproduce [--profile P] [--only GLOB] [--jobs N]
    pain-lib index                                  regenerate results/README.md
    pain-lib synth --flavour F --scale S --out DIR  write a synthetic dataset
    pain-lib data check --dataset NAME --root PATH [--full] [--strict]  check a dataset against its manifest
    pain-lib data prepare [--profile P]             generate the synthetic sets the notebooks use
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .params import ParameterError, parse_cli_value
from .registry import RegistryError, declared_parameters, get_entry, load_registry, repo_root

__all__ = ["main"]


def _parse_assignments(items: list[str]) -> dict:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"-p expects name=value, got {item!r}")
        out[name.strip()] = parse_cli_value(value)
    return out


def _cmd_list(args) -> int:
    reg = load_registry()
    for e in reg.notebooks:
        print(f"{e.id:45s} {e.paper:8s} {', '.join(e.artifacts)}")
        if args.verbose:
            for p in declared_parameters(e.path).values():
                print(f"    {p.name}: {p.annotation} = {p.default!r}  # {p.help}")
    return 0


def _results_dir(args) -> Path:
    return Path(args.results_dir) if args.results_dir else repo_root() / "results"


def _finish(results, results_dir: Path) -> int:
    from .report import registry_artifact_map, write_index

    reg = load_registry()
    write_index(results_dir, registry_artifact_map([_entry_dict(e) for e in reg.notebooks]), reg.diagrams)
    failed = [r for r in results if r.status != "ok"]
    total = sum(r.duration_s for r in results)
    print(f"\n{len(results) - len(failed)} notebooks ok, {len(failed)} failed ({total:.1f} s of notebook time)")
    for r in failed:
        print(r.describe_failure())
    return 1 if failed else 0


def _entry_dict(e) -> dict:
    return {"id": e.id, "paper": e.paper, "artifacts": list(e.artifacts)}


def _cmd_run(args) -> int:
    from .runner import prepare_parameters, run_notebook

    entry = get_entry(args.id)
    given = _parse_assignments(args.p)
    if args.results_dir:
        given.setdefault("output_dir", str(Path(args.results_dir).resolve()))
    params = prepare_parameters(entry, given, args.profile, args.device)
    res = run_notebook(entry, params, results_dir=_results_dir(args))
    print(f"{res.status} {res.id} ({res.duration_s:.1f} s) -> {res.executed}")
    return _finish([res], _results_dir(args))


def _cmd_reproduce(args) -> int:
    from .runner import prepare_parameters, run_many, select

    entries = select(args.only)
    if not entries:
        print(f"no registered notebook matches {args.only!r}", file=sys.stderr)
        return 2
    given = {"output_dir": str(Path(args.results_dir).resolve())} if args.results_dir else {}
    params = [prepare_parameters(e, dict(given), args.profile, args.device) for e in entries]
    print(f"running {len(entries)} notebooks with profile {args.profile or 'default'}")
    results = run_many(entries, params, jobs=args.jobs, results_dir=_results_dir(args))
    return _finish(results, _results_dir(args))


def _cmd_index(args) -> int:
    from .report import registry_artifact_map, write_index

    reg = load_registry()
    path = write_index(_results_dir(args), registry_artifact_map([_entry_dict(e) for e in reg.notebooks]), reg.diagrams)
    print(f"wrote {path}")
    return 0


def _cmd_synth(args) -> int:
    from . import synth

    out = synth.generate(args.flavour, args.scale, Path(args.out), seed=args.seed)
    print(f"wrote {args.flavour} ({args.scale}) to {out}")
    return 0


def _cmd_data_check(args) -> int:
    from .datacheck import check_dataset

    rep = check_dataset(args.dataset, Path(args.root), full=args.full, strict=args.strict)
    print(rep.text)
    return 0 if rep.ok else 1


def _cmd_data_prepare(args) -> int:
    from . import synth
    from .config import SYNTHETIC_DATASETS, get_profile

    scale = get_profile(args.profile).synth_scale
    needed = sorted({d for e in load_registry().notebooks for d in e.datasets if d in SYNTHETIC_DATASETS})
    for flavour in needed:
        root = synth.ensure(flavour, scale)
        print(f"{flavour} ({scale}): {root}")
    return 0


def build_parser() -> argparse.ArgumentParser:
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
        p.add_argument("--profile", choices=["tiny", "standard", "paper"], default=None)
        p.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N | mps")
        p.add_argument("--results-dir", default=None, help="default: <project>/results")
        p.set_defaults(func=func)

    p = sub.add_parser("index", help="regenerate results/README.md")
    p.add_argument("--results-dir", default=None)
    p.set_defaults(func=_cmd_index)

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
    c.add_argument("--profile", default="standard", choices=["tiny", "standard", "paper"])
    c.set_defaults(func=_cmd_data_prepare)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command in ("run", "reproduce"):
        # papermill streams each cell's output through this logger: live logs.
        logging.getLogger("papermill").setLevel(logging.INFO)
    try:
        return args.func(args)
    except (ParameterError, RegistryError, FileNotFoundError, ValueError) as exc:
        print(f"pain-lib: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""``agora run`` and ``agora report``: experiments from TOML specs, and what they found.

    agora run SPEC.toml [--out DIR] [--executor serial|process|dask] [--workers N] [--scheduler ADDRESS]
    agora report DIR
"""

from __future__ import annotations

import sys

from agora.experiments.cli import _positive_int
from agora.experiments.limits import add_limit_options


def add_parsers(verbs: dict, sub) -> None:
    run = sub.add_parser(
        "run", help="run an experiment spec (TOML): a sweep of markets x seeds, resumable",
        description="Run every parameter point x seed of the spec and write tidy Parquet tables "
                    "(runs.parquet, steps.parquet) and manifest.json to --out. Each finished run is "
                    "kept at once; running the same command again resumes. Example specs: "
                    "experiments/specs/. See docs/experiments.md.")
    run.add_argument("spec", metavar="SPEC.toml", help="the experiment spec")
    run.add_argument("--out", metavar="DIR", help="results folder (default results/NAME, NAME from the spec)")
    run.add_argument("--executor", choices=("serial", "process", "dask"),
                     help="where runs execute: this process, a local process pool (default), or a Dask "
                          "cluster (--scheduler, else a local cluster on 127.0.0.1)")
    run.add_argument("--workers", type=_positive_int, metavar="N",
                     help="worker processes for process/dask (default: the CPUs available)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="address of a running Dask scheduler, like tcp://127.0.0.1:8786 (implies dask)")
    run.add_argument("--wait", action="store_true",
                     help="if another agora run holds the folder, wait for it instead of refusing")
    add_limit_options(run)
    report = sub.add_parser(
        "report", help="summarize a finished experiment: table with 95%% intervals, report.md, figures",
        description="Print the mean and 95% interval (Student t over seeds) of each party's revenue "
                    "per parameter point; write DIR/summary.csv (every quantity), DIR/report.md (the "
                    "figures with the numbers, exact values beside simulated ones) and DIR/figures/ "
                    "(PNG, SVG and PDF of each figure, chosen by what was swept).")
    report.add_argument("dir", metavar="DIR", help="a folder written by agora run")


def executor_choice(args) -> str:
    from agora.market.errors import InputError

    if args.scheduler and args.executor not in (None, "dask"):
        raise InputError(f"--scheduler needs --executor dask, got --executor {args.executor}")
    return args.executor or ("dask" if args.scheduler else "process")


def run(args) -> int:
    from agora.experiments.limits import COSTS, limits_of, require_fits
    from agora.experiments.output import check_out_dir
    from agora.experiments.runner import make_executor, run_experiment
    from agora.experiments.spec import load_spec
    from agora.experiments.store import ResultsStore, run_lock

    limits = limits_of(args)
    spec = load_spec(args.spec, limits)
    require_fits("runs x steps", spec.runs * spec.steps, COSTS["steps"], limits)
    name = executor_choice(args)
    out = check_out_dir(args.out or f"results/{spec.name}")
    ResultsStore.open(out, spec)  # a folder of another spec is refused before any worker starts
    try:
        with run_lock(out, wait=args.wait), make_executor(name, args.workers, args.scheduler) as workers:
            summary = run_experiment(spec, out, workers.executor, name, workers.slots)
    except KeyboardInterrupt:
        print(f"agora: interrupted; the finished runs are kept in {out / 'parts'}: run the same command "
              "again to resume", file=sys.stderr)
        return 130
    print(f"{spec.name}: {summary.runs} runs ({summary.skipped} already done, {summary.computed} run now) "
          f"in {summary.seconds:.1f} s on {name}")
    for table, path in summary.tables.items():
        print(f"{table}: {path}")
    print(f"manifest: {out / 'manifest.json'}")
    return 0


def report(args) -> int:
    from agora.experiments.summaries import summary_rows, write_report
    from agora.experiments.tables import format_table

    summary, keys, files = write_report(args.dir)
    shown = [c.removesuffix("_mean") for c in summary.columns
             if c.endswith("_revenue_mean") and not c.startswith("exact_")]
    headers, rows = summary_rows(summary, keys, shown)
    print("mean [95% interval over seeds] per parameter point")
    print(format_table(headers, rows))
    print()
    for path in files:
        print(f"wrote {path}")
    sys.stdout.flush()
    return 0


HANDLERS = {("run", None): run, ("report", None): report}

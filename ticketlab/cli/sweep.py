"""``ticketlab sweep``: a grid of prune runs from a TOML file, with a summary and plots."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ticketlab.atomic import atomic_write_text
from ticketlab.cli.parser import (
    add_data_location_options,
    add_device_option,
    resolve_device,
    stderr,
)
from ticketlab.errors import ConfigError
from ticketlab.report.sweep_report import sweep_report
from ticketlab.runs.store import RunDirectory
from ticketlab.runs.sweep import expand, load_sweep, sweep_id, sweep_kind, sweepable_kinds
from ticketlab.runs.sweep_exec import EXECUTORS, execute
from ticketlab.runs.worker import WorkerOptions


def describe() -> str:
    """``ticketlab sweep --help``, with the kinds of run a sweep can grid."""
    return f"""\
Run a grid of runs described by a TOML file, then summarise it.

The file has a [base] table of options shared by every run, a [grid] table of lists
whose cartesian product gives the runs (compression may be a range: {{ from = 10, to =
10000, per_decade = 4 }}), and optionally name = "...", command = "..." (the kind of
run every point is: {", ".join(sweepable_kinds())}; default prune) and a [report] table
(layer_density_compression = 100). Option names are the command's (see its --help),
with dashes or underscores, plus epochs or iterations, and its run options: with command
= "lottery", branches = ["random-prune"]. See experiments/vysogorets2023/sweep.toml.

--executor ray runs every point as a Ray task (pip install 'ticketlab[ray]'), on the
cluster at --address or on a local Ray instance: a lottery becomes a chain of level
tasks with its branches fanning out from their level. Results land in the same run
directories (on storage every node sees), so rerunning redoes only unfinished runs.

Every point is an ordinary run directory under RUNS_DIR, so finished points are skipped
and a killed sweep started again does only what is left. The sweep directory
RUNS_DIR/sweep-<name> gets summary.csv and summary.md; a prune sweep adds the plots of
accuracy against direct and against effective compression, direct against effective
compression and per-layer density at one compression; a lottery sweep a row per level
and lottery.png.
"""


def register(commands: Any) -> None:
    """Add the ``sweep`` subcommand."""
    parser = commands.add_parser("sweep", help="run a grid of runs from a TOML file", description=describe())
    parser.add_argument("config", help="the sweep's TOML file")
    parser.add_argument("--runs-dir", default="runs", metavar="DIR", help="where run directories are written (default: runs)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes running points in parallel (default: 1)")
    parser.add_argument(
        "--threads", type=int, metavar="N",
        help="PyTorch CPU threads per worker (default: the CPU count divided by --jobs)",
    )
    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="local (this machine, --jobs processes) or ray (Ray tasks) (default: local)")
    parser.add_argument("--address", metavar="ADDR",
                        help="with --executor ray: the cluster to join (host:port, or auto); "
                        "default: start a local Ray instance")
    add_data_location_options(parser)
    add_device_option(parser)
    parser.add_argument("--dry-run", action="store_true", help="list the points and whether they are finished, run nothing")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab sweep``."""
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}")
    if args.address and args.executor != "ray":
        raise ConfigError("--address only applies to --executor ray")
    spec = load_sweep(args.config)
    points = expand(spec)
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    options = WorkerOptions(
        runs_dir=str(Path(args.runs_dir).absolute()),
        device=resolve_device(args.device),
        data_dir=args.data_dir,
        download=args.download,
        threads=threads,
    )
    if args.dry_run:
        kind = sweep_kind(spec)
        for point in points:
            done = point.config is not None and kind.finished(RunDirectory(args.runs_dir, point.config), point.options)
            state = point.error or ("finished" if done else "to run")
            print(f"{point.label()}: {state}")
        return 0
    log = (lambda _: None) if args.quiet else stderr
    outcomes = execute(points, spec.command, options, jobs=args.jobs, log=log, executor=args.executor,
                       address=args.address)
    directory = Path(args.runs_dir) / f"sweep-{spec.name}"
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(directory / "sweep.json", json.dumps(json.loads(sweep_id(spec)), indent=2) + "\n")
    files, text = sweep_report(spec.command)(outcomes, spec, directory, Path(args.runs_dir))
    print(text)
    print(f"\nsweep {directory.absolute()}: " + ", ".join(str(p.name) for p in files))
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        stderr(f"ticketlab: {len(failed)} point(s) failed; first: {failed[0].point.label()}: {failed[0].error}")
        return 1
    return 0

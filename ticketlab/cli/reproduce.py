"""``ticketlab reproduce``: run or resume one seed paper's experiment, then write the report."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import textwrap
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ticketlab.cli.parser import add_device_option, resolve_device, stderr
from ticketlab.errors import ConfigError
from ticketlab.report.experiments import EXPERIMENTS, Experiment, experiment, experiments_root, write_experiments_report


def full_scale(exp: Experiment) -> str:
    """What ``--scale full`` does for ``exp``: the sentence of the help that names it."""
    if "full" not in exp.scales:
        return "Only a CPU scale, so --scale full is refused (the README says what the paper's scale changes)"
    if exp.scale_flag:
        return "A full-scale configuration of its own"
    return "Already at the paper's scale, so both scales are the same run"


def describe(experiments: Mapping[str, Experiment]) -> str:
    """``ticketlab reproduce --help``'s text: one line per experiment, then what --scale full means for each."""
    width = max(map(len, experiments)) + 2
    listing = "\n".join(f"  {e.name:<{width}}{'seed ' + e.seed if e.seed else 'beyond the seeds'}: {e.summary}"
                        for e in experiments.values())
    # Named by how they treat --scale full rather than one by one, so a new experiment needs no new text.
    groups: dict[str, list[str]] = defaultdict(list)
    for exp in experiments.values():
        groups[full_scale(exp)].append(exp.name)
    scales = " ".join(f"{sentence}: {', '.join(names)}." for sentence, names in groups.items())
    ending = textwrap.fill(
        "Every run is an ordinary run directory under --runs-dir, so a reproduction killed anywhere resumes "
        f"where it stopped. --scale full is the paper's own scale, for GPUs. {scales}", width=88)
    return (
        "Run (or resume) one seed paper's experiment from experiments/<name>/ of this checkout,\n"
        "then rebuild the page of all experiments (ticketlab report --experiments).\n\n"
        f"{listing}\n\n{ending}\n"
    )


# The --scale values any experiment accepts, in first-seen order ("cpu" first: the default).
SCALES = tuple(dict.fromkeys(scale for e in EXPERIMENTS.values() for scale in e.scales))


def register(commands: Any) -> None:
    """Add the ``reproduce`` subcommand."""
    parser = commands.add_parser("reproduce", help="run or resume a seed paper's experiment",
                                 description=describe(EXPERIMENTS))
    parser.add_argument("name", choices=list(EXPERIMENTS), help="the experiment")
    parser.add_argument("--scale", choices=SCALES, default="cpu",
                        help="cpu (shortened for 2 CPU cores) or full (the paper's scale) (default: cpu)")
    parser.add_argument("--runs-dir", default="runs", metavar="DIR", help="where run directories go (default: runs)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="points run in parallel, for the experiments whose driver has them (default: 1)")
    add_device_option(parser)
    parser.add_argument("--report", default="report", metavar="DIR",
                        help="where report.html and report.md are written afterwards (default: report)")
    parser.set_defaults(handler=handle)


def driver_command(exp: Experiment, root: Path, args: argparse.Namespace, device: str) -> list[str]:
    """The command that runs ``exp`` with the options it understands."""
    folder = root / exp.name
    if exp.sweep is not None:
        command = [sys.executable, "-m", "ticketlab", "sweep", str(folder / exp.sweep)]
    else:
        command = [sys.executable, str(folder / "run.py")]
        if exp.scale_flag:
            command += ["--scale", args.scale]
    command += ["--runs-dir", args.runs_dir, "--device", device]
    if exp.jobs:
        command += ["--jobs", str(args.jobs)]
    return command


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab reproduce``."""
    exp = experiment(args.name)
    if args.scale not in exp.scales:
        raise ConfigError(f"{exp.name} has no --scale {args.scale} configuration; it runs at the scale its README "
                          "states (use --scale cpu)")
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}")
    root = experiments_root()
    command = driver_command(exp, root, args, resolve_device(args.device))
    stderr("reproduce: " + " ".join(command))
    status = subprocess.run(command, check=False).returncode
    if status != 0:
        raise ConfigError(f"{exp.name}: its driver stopped with status {status}; run the same command to resume")
    if exp.sweep is not None:
        copy_sweep_results(root / exp.name, Path(args.runs_dir))
    for path in write_experiments_report(args.report, root):
        print(path.absolute())
    return 0


def copy_sweep_results(folder: Path, runs_dir: Path) -> None:
    """A sweep's summary and plots into the experiment's results/ (what its README shows)."""
    from ticketlab.runs.sweep import load_sweep

    spec = load_sweep(folder / "sweep.toml")
    source = runs_dir / f"sweep-{spec.name}"
    results = folder / "results"
    results.mkdir(exist_ok=True)
    for path in sorted(source.iterdir()):
        if path.suffix in (".csv", ".md", ".png"):
            shutil.copyfile(path, results / path.name)

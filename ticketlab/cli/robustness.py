"""``ticketlab robustness``: accuracy under common corruptions of the models in a run directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ticketlab.cli.parser import (
    add_data_location_options,
    add_device_option,
    resolve_device,
    stderr,
)
from ticketlab.data.corruptions import CORRUPTIONS, SEVERITIES
from ticketlab.errors import ConfigError
from ticketlab.report import format_table, percent
from ticketlab.runs.execute import Session
from ticketlab.runs.robustness import RESULT_FILE, run_robustness

DESCRIPTION = """\
Evaluate trained models on corrupted copies of their test set (noise, blur, digital
corruptions at severities 1..5, generated on the fly with CIFAR-10-C's parameters).

RUN_DIR is a train or prune run directory, a lottery directory (every level and branch
is evaluated), or any folder above them: every directory holding a model_final.pt is
a unit. Each unit gets a robustness.json; units already evaluated with the same seed,
corruptions and severities are skipped. The same seed gives every unit the same
corrupted images, so levels and branches are compared on identical inputs.

example: ticketlab robustness runs/lottery-0123456789abcdef --corruptions gaussian_noise,contrast
"""


def register(commands: Any) -> None:
    """Add the ``robustness`` subcommand."""
    parser = commands.add_parser(
        "robustness", help="accuracy under common corruptions of trained runs", description=DESCRIPTION
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run or lottery directory, or a folder of runs")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the random corruptions (default: 0)")
    parser.add_argument(
        "--corruptions",
        metavar="NAMES",
        help="comma list of corruptions (default: all: " + ", ".join(CORRUPTIONS.names()) + ")",
    )
    parser.add_argument(
        "--severities", metavar="LIST", help="comma list of severities in 1..5 (default: 1,2,3,4,5)"
    )
    parser.add_argument(
        "--test-subset", type=int, metavar="N",
        help="evaluate on a class-stratified subset of N test examples drawn with --seed, the same for "
        "every unit (default: the whole test set)",
    )
    add_data_location_options(parser)
    add_device_option(parser)
    parser.add_argument(
        "--batch-size", type=int, default=1000, metavar="B", help="test examples per evaluation batch (default: 1000)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the records as JSON on stdout (the table goes to stderr)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=handle)


def parse_names(text: str | None) -> list[str] | None:
    """``a,b`` as a list of names (None stays None: every corruption)."""
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ConfigError("--corruptions needs at least one name")
    for name in names:
        CORRUPTIONS.entry(name)
    return names


def parse_severities(text: str | None) -> list[int] | None:
    """``1,3,5`` as a list of ints in 1..5 (None stays None: all five)."""
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise ConfigError("--severities needs at least one severity")
    try:
        values = [int(part) for part in parts]
    except ValueError:
        raise ConfigError(f"--severities must be integers in 1..5, got '{text}'") from None
    bad = [v for v in values if v not in SEVERITIES]
    if bad:
        raise ConfigError(f"--severities must be in 1..5, got {', '.join(map(str, bad))}")
    return values


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab robustness``."""
    corruptions = parse_names(args.corruptions)
    severities = parse_severities(args.severities)
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {args.batch_size}")
    session = Session(
        device=resolve_device(args.device),
        log=(lambda _: None) if args.quiet else stderr,
        eval_batch_size=args.batch_size,
        data_dir=args.data_dir,
        download=args.download,
        cache_data=True,
    )
    records = run_robustness(
        args.run_dir, seed=args.seed, corruptions=corruptions, severities=severities, session=session,
        test_subset=args.test_subset,
    )
    out = sys.stderr if args.json else sys.stdout
    print(summary(records, Path(args.run_dir)), file=out)
    if args.json:
        print(json.dumps(records, indent=2, sort_keys=True))
    return 0


def unit_label(run_dir: str, root: Path) -> str:
    """A unit's path relative to RUN_DIR (RUN_DIR's own name for RUN_DIR itself)."""
    try:
        relative = Path(run_dir).relative_to(root.absolute())
    except ValueError:
        return run_dir
    return root.absolute().name if relative == Path(".") else str(relative)


def summary(records: list[dict[str, Any]], root: Path) -> str:
    """A row per unit (clean, mean corrupted, each corruption over its severities), then the files."""
    names = records[0]["corruptions"]
    headers = ["unit", "sparsity", "clean", "mean corrupted", *names]
    rows = [
        [
            unit_label(r["run_dir"], root),
            percent(r["sparsity"]),
            percent(r["clean_accuracy"]),
            percent(r["mean_corrupted_accuracy"]),
            *(percent(r["mean_accuracy"][name]) for name in names),
        ]
        for r in records
    ]
    severities = ",".join(map(str, records[0]["severities"]))
    lines = [
        format_table(headers, rows),
        f"accuracy; corruptions averaged over severities {severities}, seed {records[0]['seed']}",
        f"{RESULT_FILE} files:",
        *(f"  {Path(r['run_dir']) / RESULT_FILE}" for r in records),
    ]
    return "\n".join(lines)

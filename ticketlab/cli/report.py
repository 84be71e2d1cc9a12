"""``ticketlab report``: plots and tables over lottery directories."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ticketlab.atomic import atomic_write_text
from ticketlab.report.lottery_report import (
    find_lotteries,
    group_settings,
    markdown_table,
    plot_lotteries,
)

DESCRIPTION = """\
Plot and tabulate finished lotteries: test accuracy against the percentage of weights
remaining (log scale, reversed, from 100 down to 0.1), the IMP trunk against every
branch, with the mean and standard deviation over lotteries that differ only in seed.

DIR may be a lottery directory or any folder holding them (e.g. a runs directory).
Writes lottery.png and lottery.md into --out and prints the table.
"""


def register(commands: Any) -> None:
    """Add the ``report`` subcommand."""
    parser = commands.add_parser("report", help="plot and tabulate lottery runs", description=DESCRIPTION)
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="lottery directories, or folders holding them")
    parser.add_argument("--out", default="report", metavar="DIR", help="where lottery.png and lottery.md go (default: report)")
    parser.add_argument(
        "--metric", default="test_accuracy", choices=["test_accuracy", "test_accuracy_selected_on_test", "final_test_accuracy"],
        help="test accuracy at the validation-selected epoch, the best over epochs (seed 004's choice), "
        "or the last epoch (default: test_accuracy)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab report``."""
    settings = group_settings(find_lotteries(args.dirs))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown_table(settings, args.metric)
    atomic_write_text(out / "lottery.md", table)
    plot = plot_lotteries(settings, out / "lottery.png", args.metric)
    print(table)
    print(f"plot {plot.absolute()}\ntable {(out / 'lottery.md').absolute()}")
    return 0

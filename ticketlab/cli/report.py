"""``ticketlab report``: plots and tables over lottery directories, or the experiments page."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ticketlab.atomic import atomic_write_text
from ticketlab.errors import ConfigError
from ticketlab.report.experiments import experiments_root, update_readmes, write_experiments_report
from ticketlab.report.lottery_report import (
    find_lotteries,
    group_settings,
    markdown_table,
    plot_lotteries,
)

DESCRIPTION = """\
Plot and tabulate finished lotteries: test accuracy against the percentage of weights
remaining (log scale, reversed, from 100 down to the sparsest level), the IMP trunk against
every branch, with the mean and sample standard deviation (n shown; the 95% t interval for
5 seeds or fewer) over lotteries that differ only in seed.

DIR may be a lottery directory or any folder holding them (e.g. a runs directory).
Writes lottery.png and lottery.md into --out and prints the table.

With --experiments instead of DIRs: one HTML page (report.html) and the same in Markdown
(report.md) with every table and plot of the five seed papers' finished experiments, each
README's comparison with the paper's numbers included (images copied to --out/images),
and each experiment's verdicts counted from its claims table.

With --experiments --readmes: first rewrite the generated blocks of every experiment's README
(<!-- generated:NAME --> ... <!-- /generated:NAME -->) from its result files, through its
experiments/<name>/readme.py; add --check to only compare (exit status 1 when one is stale,
nothing written).
"""


def register(commands: Any) -> None:
    """Add the ``report`` subcommand."""
    parser = commands.add_parser("report", help="plot and tabulate lottery runs", description=DESCRIPTION)
    parser.add_argument("dirs", nargs="*", metavar="DIR", help="lottery directories, or folders holding them")
    parser.add_argument("--experiments", action="store_true",
                        help="the page of all five experiments (experiments/ of the source checkout) instead")
    parser.add_argument("--readmes", action="store_true",
                        help="with --experiments: regenerate the READMEs' generated blocks from the results first")
    parser.add_argument("--check", action="store_true",
                        help="with --readmes: write nothing, exit 1 when a README's generated block is stale")
    parser.add_argument("--out", default="report", metavar="DIR",
                        help="where the files go: lottery.png and lottery.md, or report.html and report.md "
                        "(default: report)")
    parser.add_argument(
        "--metric", default="test_accuracy", choices=["test_accuracy", "test_accuracy_selected_on_test", "final_test_accuracy"],
        help="test accuracy at the validation-selected epoch, the best over epochs (seed 004's choice), "
        "or the last epoch (default: test_accuracy)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab report``."""
    if args.experiments == bool(args.dirs):
        raise ConfigError("give lottery DIRs or --experiments, not both and not neither")
    if (args.readmes and not args.experiments) or (args.check and not args.readmes):
        raise ConfigError("--readmes needs --experiments, and --check needs --readmes")
    if args.readmes:
        stale = update_readmes(experiments_root(), check=args.check)
        for name in stale:
            print(f"experiments/{name}/README.md: generated blocks {'out of date' if args.check else 'rewritten'}")
        if args.check:
            if not stale:
                print("every experiment README's generated blocks are current")
            return 1 if stale else 0
    if args.experiments:
        for path in write_experiments_report(args.out):
            print(path.absolute())
        return 0
    settings = group_settings(find_lotteries(args.dirs))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown_table(settings, args.metric)
    atomic_write_text(out / "lottery.md", table)
    plot = plot_lotteries(settings, out / "lottery.png", args.metric)
    print(table)
    print(f"plot {plot.absolute()}\ntable {(out / 'lottery.md').absolute()}")
    return 0

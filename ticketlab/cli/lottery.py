"""``ticketlab lottery``: find winning tickets by iterative magnitude pruning with rewinding."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ticketlab.cli.options import add_config_arguments, config_from_args
from ticketlab.cli.parser import (
    add_run_options,
    add_training_options,
    print_result,
    session_from_args,
    training_configs,
)
from ticketlab.masks.config import PrunableSpec
from ticketlab.report import format_table, percent
from ticketlab.report.lottery_report import group_settings, plot_lotteries
from ticketlab.runs.lottery_config import LotteryRunConfig
from ticketlab.runs.lottery_run import run_lottery
from ticketlab.tickets import BRANCHES, LotteryConfig, parse_branches

DESCRIPTION = """\
Find a winning ticket by iterative magnitude pruning (IMP) with rewinding.

Level 0 trains the dense network. Each later level removes --prune-fraction of the
surviving weights with the smallest magnitude after the previous level's training,
resets the survivors to the rewind weights (the initialisation, or level 0's weights at
--rewind Kep/Kit) and trains again with a fresh optimizer and schedule. Level L keeps
(1 - P)^L of the prunable weights.

Branches replay every level with one ingredient changed: random-prune (a random mask
with the same per-layer densities), random-reinit (the same mask, new weights).

Accuracy is reported at the epoch with the best validation accuracy (use --val N to hold
out a validation split; without one the last epoch is used). The best test accuracy
over epochs, which is how seed 004's code selects, is reported beside it, labelled.

Everything lands in RUNS_DIR/lottery-<hash>/level-<L>/[branch-<name>/]; kill it at any
moment and run the same command again to continue.

example: ticketlab lottery --model lenet300 --levels 5 --prune-fraction 0.5 --epochs 3 --val 5000 \\
    --branches random-prune,random-reinit
"""


def register(commands: Any) -> None:
    """Add the ``lottery`` subcommand."""
    parser = commands.add_parser("lottery", help="iterative magnitude pruning with rewinding", description=DESCRIPTION)
    add_training_options(parser)
    group = parser.add_argument_group("lottery")
    add_config_arguments(group, LotteryConfig)
    add_config_arguments(group, PrunableSpec)
    add_config_arguments(group, LotteryRunConfig)
    group.add_argument(
        "--branches", default="", metavar="NAMES",
        help="comma list of ablation branches to run at every level: " + ", ".join(BRANCHES.names()) + " (default: none)",
    )
    add_run_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab lottery``."""
    data, model, train = training_configs(args)
    config = config_from_args(
        LotteryRunConfig, args, data=data, model=model, train=train,
        prunable=config_from_args(PrunableSpec, args), lottery=config_from_args(LotteryConfig, args),
    )
    branches = parse_branches(args.branches)
    result = run_lottery(config, runs_dir=args.runs_dir, branches=branches, session=session_from_args(args))
    run_dir = Path(result["run_dir"])
    plot = plot_lotteries(group_settings([run_dir]), run_dir / "lottery.png")
    print_result(args, f"{summary(result)}\nplot {plot}", result)
    return 0


def summary(result: dict[str, Any]) -> str:
    """The lottery table: a row per level, trunk and branches."""
    branches = result["branches"]
    headers = ["level", "% remaining", "% effective", "best val acc", "test acc (val-selected)",
               "test acc (test-selected)", *[f"{b} test acc" for b in branches]]
    rows = []
    for row in result["levels"]:
        rows.append([
            row["level"], percent(1 - row["sparsity"], 3), percent(1 - row["effective_sparsity"], 3),
            percent(row["val_accuracy"]), percent(row["test_accuracy"]), percent(row["test_accuracy_selected_on_test"]),
            *[percent(row["branches"][b]["test_accuracy"]) if b in row["branches"] else "-" for b in branches],
        ])
    note = ("test acc (val-selected): at the epoch with the best validation accuracy (the last epoch without --val); "
            "test-selected: the best test accuracy over epochs, as seed 004's code reports it (optimistic)")
    return f"{format_table(headers, rows)}\n\n{note}\nlottery {result['run_dir']}  wall {result['wall_seconds']:.1f}s"

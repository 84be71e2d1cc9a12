"""``ticketlab strong``: prune a random network until it approximates a trained target."""

from __future__ import annotations

import argparse
from typing import Any

from ticketlab.cli.options import add_config_arguments, config_from_args
from ticketlab.cli.parser import (
    add_data_location_options,
    add_device_option,
    resolve_device,
    print_result,
    stderr,
)
from ticketlab.report import format_table, percent
from ticketlab.runs.execute import Session
from ticketlab.runs.strong_config import StrongConfig, StrongRunConfig
from ticketlab.runs.strong_run import run_strong

DESCRIPTION = """\
Build a strong lottery ticket: a random source network and a mask whose masked forward
pass approximates a trained target network, with every error measured.

TARGET is a run directory holding trained weights (train, prune, target runs, or a
lottery level). Every target weight is approximated by a subset sum of n random
candidates (one instance per weight, solved exactly by meet in the middle by default):

  cunha        seed 000: each conv/linear layer -> 1x1 expansion (n copies per input channel,
               2n where the input can be negative) + k x k layer; ReLU and leaky ReLU
  pensia       the same for MLP targets (Pensia et al.), the simple case
  burkholz-2l  seed 001, depth 2L: univariate layer (weights in [-2, 2], n bias neurons)
               + full layer per target layer; relu, leaky-relu, tanh, sigmoid
  burkholz-l1  seed 001, depth L+1: one univariate layer, then n copies of every hidden
               channel; residual blocks through the source's own skip connection

result.json reports max_rel_weight_error (per tensor max|w - w_hat| / max|w|),
max_rel_output_error (per block, over the test set), target_test_accuracy and
ticket_test_accuracy (the target with the ticket in place of the approximated layers),
ticket_nonzeros, source_parameters and solve_seconds.

example: ticketlab strong --target runs/train-<hash> --construction cunha --n 30 --layers conv
"""


def register(commands: Any) -> None:
    """Add the ``strong`` subcommand."""
    parser = commands.add_parser("strong", help="build a strong ticket for a trained target", description=DESCRIPTION)
    parser.add_argument("--target", required=True, metavar="RUN_DIR", help="the trained target's run directory")
    group = parser.add_argument_group("construction")
    add_config_arguments(group, StrongConfig)
    add_config_arguments(group, StrongRunConfig)
    run = parser.add_argument_group("execution")
    run.add_argument("--runs-dir", default="runs", metavar="DIR", help="where run directories are written (default: runs)")
    add_data_location_options(run)
    add_device_option(run)
    run.add_argument("--json", action="store_true", help="print result.json on stdout (the table goes to stderr)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab strong``."""
    strong = config_from_args(StrongConfig, args)
    session = Session(device=resolve_device(args.device), log=(lambda _: None) if args.quiet else stderr,
                      data_dir=args.data_dir, download=args.download)
    result = run_strong(args.target, strong, seed=args.seed, runs_dir=args.runs_dir, session=session)
    print_result(args, summary(result), result)
    return 0


def summary(result: dict[str, Any]) -> str:
    """Per-tensor and per-block errors, then the accuracies and sizes."""
    weights = format_table(["tensor", "max rel error"], [[w["tensor"], f"{w['max_rel_error']:.3g}"]
                                                           for w in result["weight_errors"]])
    outputs = format_table(["after", "max rel output error"], [[o["after"], f"{o['max_rel_error']:.3g}"]
                                                                for o in result["output_errors"]])
    closing = (
        f"run {result['run_dir']}\n{result['construction']} n={result['n']} ({result['solver']}): "
        f"target accuracy {percent(result['target_test_accuracy'])}, ticket accuracy "
        f"{percent(result['ticket_test_accuracy'])}\nticket keeps {result['ticket_nonzeros']:,} of "
        f"{result['source_parameters']:,} random weights (target: {result['target_nonzeros']:,} nonzero of "
        f"{result['target_parameters']:,}); solved in {result['solve_seconds']:.1f}s"
    )
    return "\n\n".join([weights, outputs, closing])

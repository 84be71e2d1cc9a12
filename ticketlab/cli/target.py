"""``ticketlab target``: train a target network for the strong-LTH constructions, optionally annealed sparse."""

from __future__ import annotations

import argparse
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
from ticketlab.runs.target_run import TargetRunConfig, run_target
from ticketlab.strong.anneal import AnnealConfig

DESCRIPTION = """\
Train a target network: the trained network that the strong-LTH constructions
approximate by pruning a larger random one.

With --anneal-density D the trained target is then made sparse as in Burkholz (seed
001): S = --anneal-steps magnitude prunings to densities D^(s/S), s = 1..S, each
followed by training for the same --epochs, continuing from the pruned weights (no
rewinding; a fresh optimizer and schedule per step). --epochs is per step, so the
whole run trains (S + 1) times that. --anneal-scope layerwise (the default, as seed
001) brings every layer to D; global ranks all prunable weights at once.

Everything lands in RUNS_DIR/target-<hash>/step-<s>/; the final target is copied to
the top: model_final.pt (pruned weights exactly zero) and mask.npz (all ones when
dense). Kill it at any moment and run the same command again to continue.

example: ticketlab target --model cnn3 --dataset mnist --epochs 50 --anneal-density 0.1
"""


def register(commands: Any) -> None:
    """Add the ``target`` subcommand."""
    parser = commands.add_parser("target", help="train a (sparse) target network for the constructions",
                                 description=DESCRIPTION)
    add_training_options(parser)
    group = parser.add_argument_group("annealing")
    add_config_arguments(group, AnnealConfig)
    add_config_arguments(group, PrunableSpec)
    add_config_arguments(group, TargetRunConfig)
    add_run_options(parser)
    parser.set_defaults(handler=handle)


def config_from(args: argparse.Namespace) -> TargetRunConfig:
    """The run config given on the command line."""
    data, model, train = training_configs(args)
    return config_from_args(
        TargetRunConfig, args, data=data, model=model, train=train,
        prunable=config_from_args(PrunableSpec, args), anneal=config_from_args(AnnealConfig, args),
    )


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab target``."""
    result = run_target(config_from(args), runs_dir=args.runs_dir, session=session_from_args(args))
    print_result(args, summary(result), result)
    return 0


def summary(result: dict[str, Any]) -> str:
    """The step table: target and reached density, accuracies."""
    table = format_table(
        ["step", "target density", "density", "kept", "train acc", "val acc", "test acc"],
        [
            [r["step"], percent(r["target_density"], 3), percent(r["density"], 3), r["kept"],
             percent(r["train_accuracy"]), percent(r["val_accuracy"]), percent(r["test_accuracy"])]
            for r in result["steps"]
        ],
    )
    return (f"{table}\n\ntarget {result['run_dir']}  (model_final.pt, mask.npz)\n"
            f"density {percent(result['density'], 3)}  test accuracy {percent(result['test_accuracy'])}  "
            f"wall {result['wall_seconds']:.1f}s")

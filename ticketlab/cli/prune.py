"""``ticketlab prune``: prune at initialisation with a score and a quota, then train the ticket."""

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
from ticketlab.cli.train import effective_layer_table, epoch_table
from ticketlab.masks.config import PrunableSpec
from ticketlab.pruning import PruneConfig
from ticketlab.report import percent
from ticketlab.runs.prune_config import PruneRunConfig
from ticketlab.runs.prune_run import run_prune

DESCRIPTION = """\
Prune a freshly initialised model at initialisation, then train the ticket.

Scores: magnitude, random, snip, grasp, synflow (iterative, 100 rounds by default), lamp.
Quotas decide how many weights each layer keeps: global (one threshold), uniform,
uniform-plus (first layer dense, last >= 20%), erk, igq. With --target effective the
network is pruned until its *effective* sparsity (weights off every input-output path
count as pruned) reaches --sparsity, by bisection over the method's ranking.

The run is written to RUNS_DIR/prune-<hash>: config.json, pruning.json, mask.npz,
metrics.jsonl, model_init.pt, model_final.pt and result.json, which adds
effective_sparsity, disconnected and per layer effective_kept. --epochs 0 prunes only.

example: ticketlab prune --model lenet300 --method synflow --quota igq --sparsity 0.99 --epochs 5
"""


def register(commands: Any) -> None:
    """Add the ``prune`` subcommand."""
    parser = commands.add_parser("prune", help="prune at initialisation, then train", description=DESCRIPTION)
    add_training_options(parser)
    group = parser.add_argument_group("pruning")
    add_config_arguments(group, PruneConfig)
    add_config_arguments(group, PrunableSpec)
    add_config_arguments(group, PruneRunConfig)
    add_run_options(parser)
    parser.set_defaults(handler=handle)


def config_from(args: argparse.Namespace) -> PruneRunConfig:
    """The run config given on the command line."""
    data, model, train = training_configs(args)
    return config_from_args(
        PruneRunConfig,
        args,
        data=data,
        model=model,
        train=train,
        prunable=config_from_args(PrunableSpec, args),
        pruning=config_from_args(PruneConfig, args),
    )


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab prune``."""
    config = config_from(args)
    result = run_prune(
        config, runs_dir=args.runs_dir, session=session_from_args(args)
    )
    print_result(args, summary(result), result)
    return 0


def summary(result: dict[str, Any]) -> str:
    """Epoch table, per-layer direct and effective density, and the totals."""
    layers = effective_layer_table(result, 1 - result["sparsity"])
    closing = (
        f"run {result['run_dir']}\n"
        f"{result['method']}/{result['quota']} ({result['target']} target): "
        f"direct sparsity {percent(result['sparsity'], 3)}, effective {percent(result['effective_sparsity'], 3)}"
        + ("  DISCONNECTED" if result["disconnected"] else "")
        + f"\ntest accuracy {percent(result['test_accuracy'])}  val accuracy {percent(result['val_accuracy'])}  "
        f"wall {result['wall_seconds']:.1f}s"
    )
    return "\n\n".join([epoch_table(result["run_dir"]), layers, closing])

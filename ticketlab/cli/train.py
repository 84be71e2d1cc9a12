"""``ticketlab train``: train a model, dense or under a uniform random mask."""

from __future__ import annotations

import argparse
import json
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
from ticketlab.runs import TrainRunConfig, run_train

DESCRIPTION = """\
Train one model on one data set, optionally under a uniform random mask.

The run is written to RUNS_DIR/train-<hash>, where the hash names the canonical config:
config.json, metrics.jsonl (one line per epoch), mask.npz, model_init.pt,
model_final.pt and, last, result.json. Running the same command again resumes a
killed run from its last checkpoint, or skips a finished one.

example: ticketlab train --model lenet300 --dataset fashion-mnist --epochs 2 --sparsity 0.9
"""


def register(commands: Any) -> None:
    """Add the ``train`` subcommand."""
    parser = commands.add_parser("train", help="train a model, dense or masked", description=DESCRIPTION)
    add_training_options(parser)
    group = parser.add_argument_group("mask and seed")
    add_config_arguments(group, TrainRunConfig)
    add_config_arguments(group, PrunableSpec)
    add_run_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab train``."""
    data, model, train = training_configs(args)
    config = config_from_args(
        TrainRunConfig, args, data=data, model=model, train=train, prunable=config_from_args(PrunableSpec, args)
    )
    result = run_train(
        config, runs_dir=args.runs_dir, session=session_from_args(args)
    )
    print_result(args, summary(result), result)
    return 0


def epoch_table(run_dir: str, metrics: str = "metrics.jsonl") -> str:
    """The per-epoch table of a run directory's metrics file."""
    history = [json.loads(line) for line in (Path(run_dir) / metrics).read_text().splitlines() if line.strip()]
    return format_table(
        ["epoch", "train loss", "train acc", "val acc", "test acc", "seconds"],
        [
            [m["epoch"], "-" if m["train_loss"] is None else f"{m['train_loss']:.4f}", percent(m["train_accuracy"]),
             percent(m["val_accuracy"]), percent(m["test_accuracy"]), f"{m['seconds']:.1f}"]
            for m in history
        ],
    )


def effective_layer_table(result: dict[str, Any], density: float) -> str:
    """Per layer kept, effectively kept and total weights with both densities; ``density`` is the total's."""
    return format_table(
        ["layer", "shape", "kept", "effective", "total", "density", "eff. density"],
        [
            [r["name"], "x".join(map(str, r["shape"])), r["kept"], r["effective_kept"], r["total"],
             percent(r["kept"] / r["total"], 3), percent(r["effective_kept"] / r["total"], 3)]
            for r in result["layers"]
        ]
        + [["total", "", result["kept"], result["effective_kept"], result["total"],
            percent(density, 3), percent(1 - result["effective_sparsity"], 3)]],
    )


def summary(result: dict[str, Any]) -> str:
    """The closing tables of a training run: epochs, layers, totals."""
    layers = format_table(
        ["layer", "shape", "kept", "total", "density"],
        [[r["name"], "x".join(map(str, r["shape"])), r["kept"], r["total"], percent(r["density"])] for r in result["layers"]]
        + [["total", "", result["kept"], result["total"], percent(1 - result["sparsity"])]],
    )
    closing = (
        f"run {result['run_dir']}\n"
        f"test accuracy {percent(result['test_accuracy'])}  val accuracy {percent(result['val_accuracy'])}  "
        f"sparsity {percent(result['sparsity'])}  wall {result['wall_seconds']:.1f}s"
    )
    return "\n\n".join([epoch_table(result["run_dir"]), layers, closing])

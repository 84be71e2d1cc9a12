"""``ticketlab edge-popup``: find a subnetwork of a frozen random network (strong LTH baseline)."""

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
from ticketlab.report import percent
from ticketlab.runs.edge_popup_run import EdgePopupRunConfig, run_edge_popup
from ticketlab.strong.edge_popup import EdgePopupConfig

DESCRIPTION = """\
edge-popup (Ramanujan et al., 2020): the weights stay frozen at random values and never
train; every weight gets a trainable score, and the forward pass uses, in each prunable
layer, the --density fraction of weights with the largest |score|. The gradient passes
straight through the top-k to the scores. Only scores train: biases, BatchNorm's affine
parameters (the paper's non-affine BN) and layers left out by --prunable stay frozen.

--density is the fraction KEPT (0.5 keeps half of every layer). --weight-init
signed-constant draws +-sqrt(2/fan_in) with random signs, kaiming-normal N(0, 2/fan_in);
--scale-by-density uses fan_in * density instead (the paper's scaled variant). --init
does not apply: the weights come from --weight-init.

The paper trains with SGD, lr 0.1, momentum 0.9, weight decay 1e-4, cosine schedule,
100 epochs (Conv-2/4/6/8 on CIFAR-10): --lr 0.1 --momentum 0.9 --weight-decay 1e-4
--schedule cosine --epochs 100. The defaults here are the shared training defaults.

The run is written to RUNS_DIR/edge-popup-<hash>: mask.npz (the final top-k masks),
model_final.pt (the frozen random weights, unmasked, loadable into the plain model),
popup_init.pt/popup_final.pt (weights and scores), metrics.jsonl and result.json,
with density and effective_sparsity. Run the same command again to resume.

example: ticketlab edge-popup --model conv4 --dataset cifar10 --density 0.5 --epochs 100 \\
    --weight-decay 1e-4 --scale-by-density
"""


def register(commands: Any) -> None:
    """Add the ``edge-popup`` subcommand."""
    parser = commands.add_parser(
        "edge-popup", help="strong tickets: train scores over frozen random weights", description=DESCRIPTION
    )
    add_training_options(parser)
    group = parser.add_argument_group("edge-popup")
    add_config_arguments(group, EdgePopupConfig)
    add_config_arguments(group, PrunableSpec)
    add_config_arguments(group, EdgePopupRunConfig)
    add_run_options(parser)
    parser.set_defaults(handler=handle)


def config_from(args: argparse.Namespace) -> EdgePopupRunConfig:
    """The run config given on the command line."""
    data, model, train = training_configs(args)
    return config_from_args(
        EdgePopupRunConfig, args, data=data, model=model, train=train,
        prunable=config_from_args(PrunableSpec, args), popup=config_from_args(EdgePopupConfig, args),
    )


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab edge-popup``."""
    result = run_edge_popup(config_from(args), runs_dir=args.runs_dir, session=session_from_args(args))
    print_result(args, summary(result), result)
    return 0


def summary(result: dict[str, Any]) -> str:
    """Epoch table, per-layer kept and effective counts, and the totals."""
    layers = effective_layer_table(result, result["density"])
    closing = (
        f"run {result['run_dir']}\n"
        f"edge-popup, {result['weight_init']} weights{' scaled by density' if result['scale_by_density'] else ''}: "
        f"density {percent(result['density'], 3)}, effective {percent(1 - result['effective_sparsity'], 3)}"
        + ("  DISCONNECTED" if result["disconnected"] else "")
        + f"\ntest accuracy {percent(result['test_accuracy'])}  val accuracy {percent(result['val_accuracy'])}  "
        f"wall {result['wall_seconds']:.1f}s"
    )
    return "\n\n".join([epoch_table(result["run_dir"]), layers, closing])

"""``ticketlab imc``: inertial-manifold compression from the Hessian spectrum (seed 002)."""

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
from ticketlab.cli.train import epoch_table
from ticketlab.imc.config import SelectConfig, SpectrumConfig
from ticketlab.masks.config import PrunableSpec
from ticketlab.report import format_table, percent
from ticketlab.runs.imc_config import IMCRunConfig
from ticketlab.runs.imc_run import run_imc

DESCRIPTION = """\
Compress a network in one shot with IMC (Zhang et al., NeurIPS 2021, seed 002).

  1. W*: --warmup-steps plain SGD iterations from the initialisation (seed: 10).
  2-3. The Hessian of the training loss at W* (on --hessian-per-class examples per class)
     through Hessian-vector products only: Lanczos for the --eigenpairs largest and
     --smallest smallest eigenpairs, Hutchinson for the diagonal; over all prunable weights
     (--spectrum global) or per layer (--spectrum layerwise).
  4. Lip(F) of the nonlinear remainder F on the --epsilon ball in the --p norm around W*.
  5. The smallest N with a gap lambda_{N+1} - lambda_N > 2 Lip(F) among the resolved
     eigenvalues; --keep slow keeps d - k = N weights, --keep fast keeps d - N; the weights
     most in the kept eigen-subspace (--map) are kept. No such gap: it says so and keeps
     1 - --sparsity of the weights instead.
  6. Train the kept weights (from W*, or the initialisation with --start init).

Steps 2-5 are not in the seed: they are our reading of inertial-manifold theory, and every
choice is an option. The spectrum is its own directory, RUNS_DIR/imc-spectrum-<hash>
(W*, scores, spectrum.png), shared by every IMC run that differs only in step 6; the run
is RUNS_DIR/imc-<hash> with imc.json, mask.npz, metrics and result.json (spectrum summary,
gap, Lip(F), condition_held, d, k, d_minus_k, accuracies).

example: ticketlab imc --model lenet300 --dataset fashion-mnist --epochs 5 --sparsity 0.9
"""


def register(commands: Any) -> None:
    """Add the ``imc`` subcommand."""
    parser = commands.add_parser("imc", help="inertial-manifold compression from the Hessian spectrum",
                                 description=DESCRIPTION)
    add_training_options(parser)
    add_config_arguments(parser.add_argument_group("IMC steps 1-5: W*, spectrum, Lip(F), gap"), SpectrumConfig)
    group = parser.add_argument_group("IMC step 6: the ticket")
    add_config_arguments(group, SelectConfig)
    add_config_arguments(group, PrunableSpec)
    add_config_arguments(group, IMCRunConfig)
    add_run_options(parser)
    parser.set_defaults(handler=handle)


def config_from(args: argparse.Namespace) -> IMCRunConfig:
    """The run config given on the command line."""
    data, model, train = training_configs(args)
    return config_from_args(
        IMCRunConfig, args, data=data, model=model, train=train, prunable=config_from_args(PrunableSpec, args),
        spectrum=config_from_args(SpectrumConfig, args), select=config_from_args(SelectConfig, args),
    )


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab imc``."""
    result = run_imc(config_from(args), runs_dir=args.runs_dir, session=session_from_args(args))
    print_result(args, summary(result), result)
    return 0


def summary(result: dict[str, Any]) -> str:
    """Epoch table, the spectrum per block, and the ticket."""
    blocks = format_table(
        ["block", "d", "smallest", "largest", "Lanczos steps", "Lip(F)", "gap after N", "gap width", "d - k", "source"],
        [
            [s["block"], s["d"], f"{s['smallest']:.4g}", f"{s['largest']:.4g}", s["lanczos_steps"],
             f"{s['lipschitz']:.4g}", s["gap"]["index"] if s["gap"] else "none",
             f"{s['gap']['width']:.4g}" if s["gap"] else "-", c["kept"], c["source"]]
            for s, c in zip(result["spectrum"], result["counts"])
        ],
    )
    missing = len(result["counts"]) - result["blocks_with_gap"]
    if result["condition_held"]:
        verdict = "the gap condition held"
    else:
        verdict = f"no gap met the condition in {missing} block(s)"
    verdict += ("; --budget fixed keeps 1 - --sparsity regardless" if result["budget"] == "fixed"
                else "" if result["condition_held"] else ": fell back to --sparsity there")
    closing = (
        f"run {result['run_dir']}\nspectrum {result['spectrum_dir']} (spectrum.png)\n"
        f"IMC ({result['scope']} spectrum, keep {result['keep']}, map {result['map']}): {verdict}\n"
        f"kept d - k = {result['d_minus_k']:,} of d = {result['d']:,} (sparsity {percent(result['sparsity'], 3)}, "
        f"effective {percent(result['effective_sparsity'], 3)})\n"
        f"test accuracy {percent(result['test_accuracy'])}  val accuracy {percent(result['val_accuracy'])}  "
        f"wall {result['wall_seconds']:.1f}s"
    )
    return "\n\n".join([epoch_table(result["run_dir"]), blocks, closing])

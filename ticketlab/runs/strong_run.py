"""``ticketlab strong``: build a strong ticket for a trained target and measure it, in a run
directory named by the target and the construction."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ticketlab.atomic import atomic_write_json
from ticketlab.config import check_choice, option
from ticketlab.errors import ConfigError
from ticketlab.export.modules import tree_spec
from ticketlab.masks import save_mask
from ticketlab.registry import Registry
from ticketlab.runs.execute import Session
from ticketlab.runs.kind import Job, Options, RunKind, RunOption
from ticketlab.runs.results import RunResult
from ticketlab.runs.units import load_unit_model, unit_config
from ticketlab.strong.construct import CONSTRUCTIONS, Builder, construct
from ticketlab.strong.explain import explain
from ticketlab.strong.metrics import accuracy, output_errors, weight_errors
from ticketlab.strong.subset_sum import SOLVERS
from ticketlab.strong.target import affine_layers
from ticketlab.text import entry_lines, format_table, percent


def _constructions() -> Registry[Builder]:
    return CONSTRUCTIONS


@dataclass(frozen=True)
class StrongConfig:
    """How the random source network is built and pruned."""

    construction: str = option("cunha", "how a target layer is rebuilt from random layers", choices=_constructions)
    n: int = option(30, "candidates (random copies) per target weight", metavar="N")
    solver: str = option(
        "exact",
        "subset-sum solver",
        choices=lambda: SOLVERS,
    )
    eps: float | None = option(None, "tolerance of the smallest-subset solver (absolute, in the units of the "
                               "rescaled target when --rescale > 0)", metavar="E")
    layers: str = option(
        "all", "target layers to approximate: all, conv, linear, or a comma list of layer names", metavar="WHICH"
    )
    test_examples: int | None = option(
        None,
        "measure accuracies on the first N test examples (large sources are slow to evaluate); "
        "default: the whole test set",
        metavar="N",
    )
    error_examples: int = option(
        1000,
        "measure output errors in float64 on the first N test examples (float32 would hide "
        "errors below 1e-6)",
        metavar="N",
    )
    linear_scale: float = option(
        0.01, "tanh/sigmoid networks: scale of the weights feeding a linearised activation", metavar="S"
    )
    rescale: float = option(
        0.4,
        "relu and leaky-relu targets: before building, rescale the target into an equivalent network (a layer's "
        "weights times c > 0, the next layer's times 1/c) whose approximated layers have their largest weight at "
        "this many standard deviations of their candidates' subset sums, where random subset sums are dense; "
        "errors are reported in the original target's coordinates. 0: build the target as trained (tanh targets "
        "always are)",
        metavar="K",
        always_hashed=True,
    )
    explain: bool = option(
        False,
        "diagnose the weight errors: per tensor, the error quantiles over entries, the worst entries with the "
        "range their candidates can reach, and how many entries lie outside or near the edge of that range "
        "(result.json's explain section); a separate run from the same command without it",
    )

    def __post_init__(self) -> None:
        check_choice(self.construction, "--construction", CONSTRUCTIONS.names())
        check_choice(self.solver, "--solver", SOLVERS.names())
        if self.n < 1:
            raise ConfigError(f"--n must be at least 1, got {self.n}")
        if self.solver == "smallest" and (self.eps is None or self.eps < 0):
            raise ConfigError("--solver smallest needs --eps >= 0")
        if self.solver != "smallest" and self.eps is not None:
            raise ConfigError("--eps only applies to --solver smallest")
        if self.rescale < 0:
            raise ConfigError(f"--rescale must be >= 0 (0 turns it off), got {self.rescale}")
        if self.test_examples is not None and self.test_examples < 1:
            raise ConfigError(f"--test-examples must be at least 1, got {self.test_examples}")
        if self.error_examples < 1:
            raise ConfigError(f"--error-examples must be at least 1, got {self.error_examples}")
        if not self.linear_scale > 0:
            raise ConfigError(f"--linear-scale must be positive, got {self.linear_scale}")


@dataclass(frozen=True)
class StrongRunConfig:
    """A construction applied to one trained target, named by that target's run hash."""

    kind = "strong"

    target_hash: str = option("", "hash of the target run (read from its config.json)", cli=False)
    target_unit: str = option("", "the target's part inside its run (e.g. level-3), if any", cli=False)
    strong: StrongConfig = StrongConfig()
    seed: int = option(0, "seed of the random source network", metavar="N")

    def check_names(self) -> None:
        """Unknown construction names were refused when the config was made; nothing is left to check."""


@dataclass
class StrongResult(RunResult):
    """A strong ticket of a trained target: its errors, accuracies and sizes."""

    target: str = ""
    construction: str = ""
    n: int = 0
    solver: str = ""
    max_rel_weight_error: float = 0.0
    weight_errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    max_rel_output_error: float = 0.0
    output_errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    target_test_accuracy: float = 0.0
    ticket_test_accuracy: float = 0.0
    ticket_nonzeros: int = 0
    source_parameters: int = 0
    target_parameters: int = 0
    target_nonzeros: int = 0
    test_examples: int = 0
    error_examples: int = 0
    solve_seconds: float = 0.0
    torch_threads: int = 1
    explain: list[dict[str, Any]] | None = None
    # The factors the target was rescaled by before it was built (per layer, weight and
    # bias); None where it was built as trained.
    rescaling: dict[str, dict[str, float]] | None = None


def strong_config_for(target: str | Path, strong: StrongConfig, seed: int = 0) -> StrongRunConfig:
    """The run config of ``strong`` applied to the trained run (or part of one) at ``target``."""
    unit = Path(target).absolute()
    config_path, record, _, _ = unit_config(unit)
    relative = unit.relative_to(config_path.parent)
    return StrongRunConfig(str(record.get("hash", "")), relative.as_posix() if str(relative) != "." else "",
                           strong, seed)


def bind_target(config: StrongRunConfig, options: Options) -> StrongRunConfig:
    """The config naming the target given as ``--target`` (its hash and unit, read from its config.json)."""
    return strong_config_for(options["target"], config.strong, config.seed)


def build_ticket(job: Job[StrongRunConfig]) -> StrongResult:
    """Construct, measure and save the strong ticket of the target."""
    strong, run, session = job.config.strong, job.run, job.session
    unit = Path(job.options["target"]).absolute()
    _, record, data_config, model_config = unit_config(unit)
    data = session.load_data(data_config)
    model, _ = load_unit_model(unit, model_config, data, record.get("hash"))
    model = model.double().eval()
    shape = data.info.image_shape
    session.log(f"constructing {strong.construction} with n={strong.n} for {unit}")
    built = construct(model, shape, construction=strong.construction, n=strong.n, solver=strong.solver,
                      eps=strong.eps, layers=strong.layers, seed=job.config.seed, linear_scale=strong.linear_scale,
                      rescale=strong.rescale)
    count = strong.test_examples or int(data.test.y.shape[0])
    test_x, test_y = data.test.x[:count].cpu(), data.test.y[:count].cpu()
    error_x = test_x[: strong.error_examples]
    batches = [error_x[i:i + 250] for i in range(0, error_x.shape[0], 250)]
    outputs = output_errors(built, batches)
    weights = weight_errors(built)
    ticket = built.ticket()
    names = {record.name for record in built.approximations}
    approximated = [layer for layer in affine_layers(built.target_ops) if layer.name in names]
    run.prepare()
    save_mask(run.file("mask.npz"), built.mask)
    run.save_checkpoint({"model": built.source.state_dict()}, "source.pt")
    try:  # the source's architecture as plain data, so that `ticketlab export` can rebuild the ticket
        atomic_write_json(run.file("source.json"), tree_spec(built.source))
    except TypeError:  # a construction with a module a tree spec does not describe: no export
        pass
    return job.finish(job.record(
        StrongResult,
        target=str(unit),
        construction=strong.construction,
        n=strong.n,
        solver=strong.solver,
        max_rel_weight_error=max((w["max_rel_error"] for w in weights), default=0.0),
        weight_errors=weights,
        max_rel_output_error=max((o["max_rel_error"] for o in outputs), default=0.0),
        output_errors=outputs,
        target_test_accuracy=accuracy(model, test_x, test_y, device=session.device),
        ticket_test_accuracy=accuracy(ticket, test_x, test_y, device=session.device),
        ticket_nonzeros=built.ticket_nonzeros,
        source_parameters=built.random_parameters,
        target_parameters=sum(layer.weight.numel() + (0 if layer.bias is None else layer.bias.numel())
                              for layer in approximated),
        target_nonzeros=sum(int((layer.weight != 0).sum()) + (0 if layer.bias is None else int((layer.bias != 0).sum()))
                            for layer in approximated),
        test_examples=int(test_y.shape[0]),
        error_examples=int(error_x.shape[0]),
        solve_seconds=built.solve_seconds,
        wall_seconds=time.monotonic() - job.started,
        torch_threads=torch.get_num_threads(),
        explain=explain(built.approximations) if strong.explain else None,
        rescaling=None if built.rescaling is None else {"weight": built.rescaling.weight,
                                                        "bias": built.rescaling.bias},
    ))


def summary(result: StrongResult) -> str:
    """Per-tensor and per-block errors, then the accuracies and sizes."""
    weights = format_table(["tensor", "max rel error"], [[w["tensor"], f"{w['max_rel_error']:.3g}"]
                                                           for w in result.weight_errors])
    outputs = format_table(["after", "max rel output error"], [[o["after"], f"{o['max_rel_error']:.3g}"]
                                                                for o in result.output_errors])
    closing = (
        f"run {result.run_dir}\n{result.construction} n={result.n} ({result.solver}): "
        f"target accuracy {percent(result.target_test_accuracy)}, ticket accuracy "
        f"{percent(result.ticket_test_accuracy)}\nticket keeps {result.ticket_nonzeros:,} of "
        f"{result.source_parameters:,} random weights (target: {result.target_nonzeros:,} nonzero of "
        f"{result.target_parameters:,}); solved in {result.solve_seconds:.1f}s"
    )
    sections = [weights, outputs]
    if result.explain is not None:
        sections += _explain_tables(result.explain)
    return "\n\n".join([*sections, closing])


def _explain_tables(rows: list[dict[str, Any]]) -> list[str]:
    """The --explain section: relative error quantiles and range counts per tensor, then worst entries."""
    def count(value: int | None) -> str:
        return "-" if value is None else f"{value:,}"

    tensors = format_table(
        ["tensor", "instances", "median rel", "p99 rel", "max rel", "outside range", "near edge", "max |z|"],
        [[r["tensor"], f"{r['entries'] * r['copies']:,}", f"{r['median_rel_error']:.3g}", f"{r['p99_rel_error']:.3g}",
          f"{r['max_rel_error']:.3g}", count(r["outside"]), count(r["near_edge"]),
          f"{r['max_abs_z']:.2f}" if "max_abs_z" in r else "-"] for r in rows])
    worst = []
    for r in rows:
        for item in r["worst"][:3]:
            reach = ((f"[{item['low']:.3g}, {item['high']:.3g}]", f"{item['spread']:.3g}", f"{item['z']:.2f}")
                     if "low" in item else ("-", "-", "-"))
            worst.append([r["tensor"], f"{item['copy']}:{tuple(item['index'])}", f"{item['target']:.4g}",
                          f"{item['estimate']:.4g}", f"{item['rel_error']:.3g}", *reach])
    entries = format_table(["tensor", "copy:entry", "target", "estimate", "rel error", "reachable", "spread", "z"],
                           worst)
    return [tensors, entries]


def describe() -> str:
    """``ticketlab strong --help``, with the registered constructions."""
    return f"""\
Build a strong lottery ticket: a random source network and a mask whose masked forward
pass approximates a trained target network, with every error measured.

TARGET is a run directory holding trained weights (train, prune, target runs, or a
lottery level). Every target weight is approximated by a subset sum of n random
candidates (one instance per weight, solved exactly by meet in the middle by default).
Constructions (--construction):
{entry_lines(CONSTRUCTIONS)}

result.json reports max_rel_weight_error (per tensor max|w - w_hat| / max|w|),
max_rel_output_error (per block, over the test set), target_test_accuracy and
ticket_test_accuracy (the target with the ticket in place of the approximated layers),
ticket_nonzeros, source_parameters and solve_seconds. The run keeps the source's weights
(source.pt), its architecture as plain data (source.json) and the mask (mask.npz):
`ticketlab export RUN_DIR` turns the ticket into a compact or sparse network.

example: ticketlab strong --target runs/train-<hash> --construction cunha --n 30 --layers conv
"""


TARGET_OPTION = RunOption("target", "the trained target's run directory (a train, prune or target run, or a lottery "
                          "level)", parse=str, required=True, metavar="RUN_DIR")

STRONG = RunKind(StrongRunConfig, build_ticket, StrongResult, summary,
                 help="build a strong ticket for a trained target", description=describe, sweepable=False,
                 trains=False, options=(TARGET_OPTION,), bind=bind_target)


def run_strong(target: str | Path, strong: StrongConfig, *, seed: int = 0, runs_dir: str | Path = "runs",
               session: Session | None = None) -> StrongResult:
    """Construct, measure and save the strong ticket of the trained target at ``target``."""
    return STRONG.run(StrongRunConfig(strong=strong, seed=seed), runs_dir=runs_dir, session=session, target=str(target))

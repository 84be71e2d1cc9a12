"""``ticketlab target``: train a target network, then anneal it to a density.

Layout of ``RUNS_DIR/target-<hash>/``::

    config.json  model_final.pt  mask.npz  result.json    (the final target, for constructions)
    step-0/      metrics.jsonl model_init.pt model_final.pt result.json   (dense training)
    step-<s>/    mask.npz and the same files, for s = 1..S   (pruned to D^(s/S), trained on)

Step s starts from step s-1's final weights with the new mask applied (no rewinding) and
a fresh optimizer and schedule. Every step is a unit that is skipped once its result.json
exists and otherwise resumes from its checkpoint. The top-level ``model_final.pt`` holds
the last step's weights, pruned entries exactly zero; ``mask.npz`` its mask (all ones for
a dense target).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ticketlab.config import option
from ticketlab.errors import CheckpointError
from ticketlab.masks import Mask, apply_mask, full_mask, load_mask, save_mask
from ticketlab.runs.base import TrainedRunConfig
from ticketlab.runs.execute import Session
from ticketlab.runs.kind import Job, RunKind
from ticketlab.runs.results import RunResult, TrainingResult
from ticketlab.runs.store import RunDirectory, read_json
from ticketlab.seeding import generator
from ticketlab.strong.anneal import AnnealConfig, anneal_step_mask
from ticketlab.text import format_table, percent
from ticketlab.tickets import check_reachable


@dataclass(frozen=True)
class TargetRunConfig(TrainedRunConfig):
    """A trained target network for the strong-LTH constructions, dense or annealed sparse."""

    kind = "target"

    anneal: AnnealConfig = dataclasses.field(default_factory=AnnealConfig)
    seed: int = option(0, "seed of the initialisation, the batch order and magnitude ties", metavar="N")


@dataclass
class StepResult(TrainingResult):
    """One annealing step, trained: result.json of ``step-<s>/``."""

    step: int = 0
    target_density: float = 1.0
    density: float = 1.0


@dataclass
class StepRow:
    """The summary of one step, as it appears in the target's result.json."""

    step: int = 0
    target_density: float = 1.0
    density: float = 1.0
    kept: int = 0
    total: int = 0
    test_accuracy: float | None = None
    val_accuracy: float | None = None
    train_accuracy: float | None = None
    run_dir: str = ""


@dataclass
class TargetResult(RunResult):
    """The target's result.json: a row per step and the final target's accuracy and layers."""

    steps: list[StepRow] = dataclasses.field(default_factory=list)
    density: float = 1.0
    test_accuracy: float | None = None
    val_accuracy: float | None = None
    layers: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def final_state(job: Job[TargetRunConfig], step: int) -> dict[str, Any]:
    """The trained weights of ``step``."""
    unit = job.run.child(f"step-{step}")
    found = unit.load_checkpoint("model_final.pt")
    if found is None:
        raise CheckpointError(f"{unit.file('model_final.pt')} is missing; delete {unit.path} to redo that step")
    return found["model"]


def train_target(job: Job[TargetRunConfig]) -> TargetResult:
    """Train the target and every annealing step unless done; the target's record."""
    config, run, anneal = job.config, job.run, job.config.anneal
    check_reachable(full_mask(job.build(), config.prunable), anneal.density_at(anneal.step_count), anneal.quota)
    run.prepare()
    rows = [run_step(job, step) for step in range(config.anneal.step_count + 1)]
    last = rows[-1].step
    # The constructions read these two files; both are written atomically.
    run.save_checkpoint({"model": final_state(job, last)}, "model_final.pt")
    unit = run.child(f"step-{last}")
    save_mask(run.file("mask.npz"), load_mask(unit.file("mask.npz")) if last > 0 else full_mask(job.build(), config.prunable))
    final = rows[-1]
    return job.finish(job.record(
        TargetResult, steps=rows, density=final.density, test_accuracy=final.test_accuracy,
        val_accuracy=final.val_accuracy,
        layers=unit.read_result()["layers"],  # per-layer kept counts of the final target
        wall_seconds=sum(float(read_json(Path(r.run_dir) / "result.json")["wall_seconds"]) for r in rows),
    ))


def run_step(job: Job[TargetRunConfig], step: int) -> StepRow:
    """Train step ``step`` unless done; its summary row."""
    cfg, session = job.config, job.session
    unit = job.run.child(f"step-{step}")
    with job.hold(unit):
        if unit.is_complete():
            result = StepResult.from_json(unit.read_result())
        else:
            started = time.monotonic()
            unit.prepare()
            model = job.build()
            mask = None
            if step > 0:
                mask = step_mask(job, unit, step)
                model.load_state_dict(final_state(job, step - 1))  # continue, never rewind
                apply_mask(model, mask)  # before model_init.pt is saved: it shows where training starts
            session.log(f"step {step}: {100 * cfg.anneal.density_at(step):.3f}% of prunable weights target")
            _, fields = job.train(model, mask, unit=unit, started=started)
            result = job.finish(job.record(StepResult, unit, **fields, step=step, target_density=cfg.anneal.density_at(step),
                                           density=fields["kept"] / fields["total"]), unit)
    return StepRow(**{f.name: getattr(result, f.name) for f in dataclasses.fields(StepRow)})


def step_mask(job: Job[TargetRunConfig], unit: RunDirectory, step: int) -> Mask:
    """The mask of ``step``: saved in the unit, or pruned from step-1's trained weights."""
    if unit.file("mask.npz").exists():
        return load_mask(unit.file("mask.npz"))
    cfg = job.config
    trained = job.build()
    trained.load_state_dict(final_state(job, step - 1))
    previous = job.run.child(f"step-{step - 1}")
    alive = load_mask(previous.file("mask.npz")) if step > 1 else full_mask(trained, cfg.prunable)
    mask = anneal_step_mask(trained, alive, cfg.anneal, step, generator(cfg.seed, "anneal", step),
                            input_shape=job.data.info.image_shape)
    save_mask(unit.file("mask.npz"), mask)
    return mask


def summary(result: TargetResult) -> str:
    """The step table: target and reached density, accuracies."""
    table = format_table(
        ["step", "target density", "density", "kept", "train acc", "val acc", "test acc"],
        [
            [r.step, percent(r.target_density, 3), percent(r.density, 3), r.kept,
             percent(r.train_accuracy), percent(r.val_accuracy), percent(r.test_accuracy)]
            for r in result.steps
        ],
    )
    return (f"{table}\n\ntarget {result.run_dir}  (model_final.pt, mask.npz)\n"
            f"density {percent(result.density, 3)}  test accuracy {percent(result.test_accuracy)}  "
            f"wall {result.wall_seconds:.1f}s")


DESCRIPTION = """\
Train a target network: the trained network that the strong-LTH constructions
approximate by pruning a larger random one.

With --anneal-density D the trained target is then made sparse as in Burkholz (seed
001): S = --anneal-steps prunings to densities D^(s/S), s = 1..S, each followed by
training for the same --epochs, continuing from the pruned weights (no rewinding; a
fresh optimizer and schedule per step). --epochs is per step, so the whole run trains
(S + 1) times that. Weights are ranked by --anneal-score (magnitude by default) and
shared among layers by --anneal-quota (layerwise by default, as seed 001: every layer
at D).

Everything lands in RUNS_DIR/target-<hash>/step-<s>/; the final target is copied to
the top: model_final.pt (pruned weights exactly zero) and mask.npz (all ones when
dense). Kill it at any moment and run the same command again to continue.

example: ticketlab target --model cnn3 --dataset mnist --epochs 50 --anneal-density 0.1
"""

TARGET = RunKind(TargetRunConfig, train_target, TargetResult, summary,
                 help="train a (sparse) target network for the constructions", description=DESCRIPTION)


def run_target(config: TargetRunConfig, *, runs_dir: str | Path = "runs", session: Session | None = None) -> TargetResult:
    """Train (or resume, or skip) the target and every annealing step; its record."""
    return TARGET.run(config, runs_dir=runs_dir, session=session)

"""``ticketlab train``: train one model, dense or under a uniform random mask.

The run resumes from its last checkpoint when started again with the same config, and a
finished run (``result.json`` present) is returned without training again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ticketlab.config import option
from ticketlab.masks import full_mask, save_mask, uniform_random_mask
from ticketlab.runs.base import TrainedRunConfig, check_sparsity
from ticketlab.runs.execute import Session
from ticketlab.runs.kind import Job, RunKind
from ticketlab.runs.results import TrainingResult
from ticketlab.runs.tables import accuracy_line, epoch_table, layer_table
from ticketlab.seeding import generator
from ticketlab.text import percent


@dataclass(frozen=True)
class TrainRunConfig(TrainedRunConfig):
    """One training run: what ``ticketlab train`` does, as a value that names its directory."""

    kind = "train"

    sparsity: float | None = option(
        None,
        "train under a uniform random mask removing this fraction of every prunable layer, "
        "in [0, 1); default: dense",
        metavar="S",
    )
    seed: int = option(0, "seed of the initialisation, the mask and the batch order", metavar="N")

    def __post_init__(self) -> None:
        check_sparsity(self.sparsity)


def train(job: Job[TrainRunConfig]) -> TrainingResult:
    """Train (or resume) the run's model; its record."""
    config, run = job.config, job.run
    model = job.build()
    run.prepare()
    mask = None
    if config.sparsity is not None:
        mask = uniform_random_mask(full_mask(model, config.prunable), config.sparsity, generator(config.seed, "mask"))
        save_mask(run.file("mask.npz"), mask)
    _, fields = job.train(model, mask)
    return job.finish(job.record(TrainingResult, **fields))


def summary(result: TrainingResult) -> str:
    """The closing tables of a training run: epochs, layers, totals."""
    closing = (f"run {result.run_dir}\n{accuracy_line(result)}  sparsity {percent(result.sparsity)}")
    return "\n\n".join([epoch_table(result.run_dir), layer_table(result.layers, result.kept, result.total), closing])


DESCRIPTION = """\
Train one model on one data set, optionally under a uniform random mask.

The run is written to RUNS_DIR/train-<hash>, where the hash names the canonical config:
config.json, metrics.jsonl (one line per epoch), mask.npz, model_init.pt,
model_final.pt and, last, result.json. Running the same command again resumes a
killed run from its last checkpoint, or skips a finished one.

example: ticketlab train --model lenet300 --dataset fashion-mnist --epochs 2 --sparsity 0.9
"""

TRAIN = RunKind(TrainRunConfig, train, TrainingResult, summary, help="train a model, dense or masked",
                description=DESCRIPTION)


def run_train(config: TrainRunConfig, *, runs_dir: str | Path = "runs", session: Session | None = None) -> TrainingResult:
    """Train (or resume, or skip) the run described by ``config``; its result record."""
    return TRAIN.run(config, runs_dir=runs_dir, session=session)

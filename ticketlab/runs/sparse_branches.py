"""Branches of a sparse-training run: its final mask retrained as a fixed mask (the ticket check).

Each branch is a unit of the run's directory, ``branch-<name>/`` (mask.npz, model_init.pt,
metrics.jsonl, model_final.pt, result.json), skipped once complete and resumed from its
checkpoint otherwise. It trains with the run's data, training options and batch order.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from ticketlab.data import num_batches
from ticketlab.errors import ConfigError
from ticketlab.masks import effective_report_or_none, load_mask, save_mask
from ticketlab.runs.kind import Job
from ticketlab.runs.results import EffectiveFields, TrainingResult, effective_dict
from ticketlab.seeding import generator
from ticketlab.sparse.branches import SPARSE_BRANCHES
from ticketlab.tickets import BranchInput
from ticketlab.training.duration import Duration


@dataclass
class BranchResult(EffectiveFields, TrainingResult):
    """result.json of ``branch-<name>/``: a fixed mask trained from the rewind weights."""

    branch: str = ""
    rewind: str = "0it"


@dataclass
class BranchRow:
    """A branch beside its run, in the run's result.json."""

    test_accuracy: float | None = None
    val_accuracy: float | None = None
    train_accuracy: float | None = None
    sparsity: float = 0.0
    effective_sparsity: float | None = None
    steps: int = 0
    rewind: str = "0it"
    run_dir: str = ""

    @classmethod
    def of(cls, result: BranchResult) -> BranchRow:
        """The row of a trained branch."""
        return cls(**{f.name: getattr(result, f.name) for f in dataclasses.fields(cls)})


def canonical_rewind(text: str) -> str:
    """``--rewind`` in canonical form: "0", "0ep" and "0it" are all "0it"."""
    point = Duration.parse("0it" if text.strip() == "0" else text, "--rewind")
    return "0it" if point.amount == 0 else str(point)


def rewind_step(job: Job[Any]) -> int:
    """The optimizer step of the run whose weights branches start from; a ConfigError past the end."""
    config = job.config
    steps_per_epoch = num_batches(int(job.data.train.y.shape[0]), config.train.batch_size)
    step = Duration.parse(config.rewind).to_steps(steps_per_epoch)
    total = config.train.length.to_steps(steps_per_epoch)
    if step > total:
        raise ConfigError(f"--rewind {config.rewind} lies beyond the run's {total} training steps")
    return step


def rewind_state(job: Job[Any]) -> dict[str, Any]:
    """The run's weights at the rewind point (model_init.pt at step 0, else rewind.pt)."""
    name = "model_init.pt" if Duration.parse(job.config.rewind).amount == 0 else "rewind.pt"
    found = job.run.load_checkpoint(name)
    if found is None:
        raise ConfigError(f"{job.run.file(name)} is missing; delete {job.run.path} to start the run over")
    return found["model"]  # type: ignore[no-any-return]


def run_branch(job: Job[Any], name: str) -> BranchResult:
    """Train branch ``name`` of a finished run unless done; its result."""
    unit = job.run.child(f"branch-{name}")
    with job.hold(unit):
        if unit.is_complete():
            return BranchResult.from_json(unit.read_result())
        unit.prepare()
        job.session.log(f"branch {name}")
        if unit.file("mask.npz").exists() and unit.file("model_init.pt").exists():
            mask, state = load_mask(unit.file("mask.npz")), unit.load_checkpoint("model_init.pt")["model"]  # type: ignore[index]
        else:
            given = BranchInput(mask=load_mask(job.run.file("mask.npz")), rewind_state=rewind_state(job),
                                fresh_init=lambda: job.build("reinit"), generator=generator(job.config.seed, name))
            mask, state = SPARSE_BRANCHES.get(name)(given)
            unit.save_checkpoint({"model": state}, "model_init.pt")
            save_mask(unit.file("mask.npz"), mask)
        model = job.build()
        model.load_state_dict(state)
        _, fields = job.train(model, mask, unit=unit, started=time.monotonic(), save_init=False)
        effective = effective_dict(effective_report_or_none(model, mask, job.data.info.image_shape), mask)
        fields["layers"] = effective["layers"]
        record = job.record(BranchResult, unit, **fields, effective_sparsity=effective["effective_sparsity"],
                            effective_kept=effective["effective_kept"], disconnected=effective["disconnected"],
                            branch=name, rewind=job.config.rewind)
        return job.finish(record, unit)

"""``ticketlab target`` as a function: train a target network, then anneal it to a density.

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
from typing import Any, ClassVar

from torch import nn

from ticketlab.config import option
from ticketlab.data import DataBundle
from ticketlab.data.config import DataConfig
from ticketlab.errors import CheckpointError
from ticketlab.masks import Mask, apply_mask, full_mask, load_mask, save_mask
from ticketlab.masks.config import PrunableSpec
from ticketlab.models import build_from_config
from ticketlab.models.config import ModelConfig
from ticketlab.runs.execute import Session, train_and_save, training_result
from ticketlab.runs.store import RunDirectory, read_json
from ticketlab.runs.train_run import check_names
from ticketlab.seeding import derive_seed, generator
from ticketlab.strong.anneal import AnnealConfig, anneal_step_mask
from ticketlab.training.config import TrainConfig


@dataclass(frozen=True)
class TargetRunConfig:
    """A trained target network for the strong-LTH constructions, dense or annealed sparse."""

    kind: ClassVar[str] = "target"

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    prunable: PrunableSpec = dataclasses.field(default_factory=PrunableSpec)
    anneal: AnnealConfig = dataclasses.field(default_factory=AnnealConfig)
    seed: int = option(0, "seed of the initialisation, the batch order and magnitude ties", metavar="N")


class Target:
    """One target directory being worked on: its config, data and steps."""

    def __init__(self, config: TargetRunConfig, runs_dir: str | Path, session: Session) -> None:
        self.config = config
        self.session = session
        self.run = RunDirectory(runs_dir, config)
        self._data: DataBundle | None = None

    @property
    def data(self) -> DataBundle:
        if self._data is None:
            self._data = self.session.load_data(self.config.data)
        return self._data

    def build(self) -> nn.Module:
        """The model at its (seeded) initialisation."""
        info = self.data.info
        return build_from_config(self.config.model, info.image_shape, info.num_classes,
                                 seed=derive_seed(self.config.seed, "init"))

    def final_state(self, step: int) -> dict[str, Any]:
        """The trained weights of ``step``."""
        unit = self.run.child(f"step-{step}")
        found = unit.load_checkpoint("model_final.pt")
        if found is None:
            raise CheckpointError(f"{unit.file('model_final.pt')} is missing; delete {unit.path} to redo that step")
        return found["model"]


def run_target(
    config: TargetRunConfig,
    *,
    runs_dir: str | Path = "runs",
    session: Session | None = None,
) -> dict[str, Any]:
    """Train (or resume, or skip) the target and every annealing step; return the summary."""
    session = session or Session()
    check_names(config)
    target = Target(config, runs_dir, session)
    run = target.run
    if run.is_complete():
        return session.skip(run)
    run.prepare()
    rows = [run_step(target, step) for step in range(config.anneal.step_count + 1)]
    last = rows[-1]["step"]
    # The constructions read these two files; both are written atomically.
    run.save_checkpoint({"model": target.final_state(last)}, "model_final.pt")
    unit = run.child(f"step-{last}")
    save_mask(run.file("mask.npz"), load_mask(unit.file("mask.npz")) if last > 0 else full_mask(target.build(), config.prunable))
    final = rows[-1]
    result = {
        "run_dir": str(run.path),
        "kind": run.kind,
        "hash": run.hash,
        "steps": rows,
        "density": final["density"],
        "test_accuracy": final["test_accuracy"],
        "val_accuracy": final["val_accuracy"],
        "layers": unit.read_result()["layers"],  # per-layer kept counts of the final target
        "wall_seconds": sum(float(read_json(Path(r["run_dir"]) / "result.json")["wall_seconds"]) for r in rows),
    }
    run.write_result(result)
    return result


def run_step(target: Target, step: int) -> dict[str, Any]:
    """Train step ``step`` unless done; return its summary row."""
    cfg, session = target.config, target.session
    unit = target.run.child(f"step-{step}")
    if not unit.is_complete():
        started = time.monotonic()
        unit.prepare()
        model = target.build()
        mask = None
        if step > 0:
            mask = step_mask(target, unit, step)
            model.load_state_dict(target.final_state(step - 1))  # continue, never rewind
            apply_mask(model, mask)  # before model_init.pt is saved: it shows where training starts
        session.log(f"step {step}: {100 * cfg.anneal.density_at(step):.3f}% of prunable weights target")
        model = model.to(session.device)
        trainer, wall = train_and_save(unit, model, target.data, cfg, mask=mask, session=session, started=started)
        template = full_mask(model, cfg.prunable)
        result = training_result(unit, trainer, mask or template, model, session, wall)
        result.update(step=step, target_density=cfg.anneal.density_at(step), density=result["kept"] / result["total"])
        unit.write_result(result)
        unit.file("checkpoint.pt").unlink(missing_ok=True)
    result = unit.read_result()
    keys = ("step", "target_density", "density", "kept", "total", "test_accuracy", "val_accuracy", "train_accuracy",
            "run_dir")
    return {k: result[k] for k in keys}


def step_mask(target: Target, unit: RunDirectory, step: int) -> Mask:
    """The mask of ``step``: saved in the unit, or pruned from step-1's trained weights."""
    if unit.file("mask.npz").exists():
        return load_mask(unit.file("mask.npz"))
    cfg = target.config
    trained = target.build()
    trained.load_state_dict(target.final_state(step - 1))
    previous = target.run.child(f"step-{step - 1}")
    alive = load_mask(previous.file("mask.npz")) if step > 1 else full_mask(trained, cfg.prunable)
    mask = anneal_step_mask(trained, alive, cfg.anneal, step, generator(cfg.seed, "anneal", step))
    save_mask(unit.file("mask.npz"), mask)
    return mask

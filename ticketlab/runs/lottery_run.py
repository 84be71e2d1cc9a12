"""``ticketlab lottery`` as a function: IMP with rewinding, level by level, with branches.

Layout of ``RUNS_DIR/lottery-<hash>/``::

    config.json  model_init.pt  rewind.pt  result.json
    level-0/     mask.npz metrics.jsonl model_final.pt result.json   (dense)
    level-1/     ... and branch-<name>/ with the same files, for every requested branch

Every level and branch is a unit that is skipped once its result.json exists and
otherwise resumes from its checkpoint, so the lottery can be killed anywhere.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from torch import nn

from ticketlab.data import DataBundle, num_batches
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask, effective_report, full_mask, load_mask, save_mask
from ticketlab.models import build_from_config
from ticketlab.runs.execute import Session, train_and_save, training_result
from ticketlab.runs.lottery_config import LotteryRunConfig
from ticketlab.runs.store import RunDirectory, read_json
from ticketlab.runs.train_run import check_names
from ticketlab.seeding import derive_seed, generator
from ticketlab.tickets import BRANCHES, BranchInput, magnitude_prune, select_epoch


class Lottery:
    """One lottery directory being worked on: its config, data, and units."""

    def __init__(self, config: LotteryRunConfig, runs_dir: str | Path, session: Session) -> None:
        self.config = config
        self.session = session
        self.run = RunDirectory(runs_dir, config)
        self._data: DataBundle | None = None

    @property
    def data(self) -> DataBundle:
        if self._data is None:
            self._data = self.session.load_data(self.config.data)
        return self._data

    def build(self, seed_tag: str = "init", level: int | None = None) -> nn.Module:
        """A freshly initialised model (the trunk's init, or a re-initialisation)."""
        seed = derive_seed(self.config.seed, seed_tag) if level is None else derive_seed(self.config.seed, seed_tag, level)
        info = self.data.info
        return build_from_config(self.config.model, info.image_shape, info.num_classes, seed=seed).to(self.session.device)

    def rewind_step(self) -> int:
        """The optimizer step of level 0 whose weights every level restarts from."""
        steps_per_epoch = num_batches(int(self.data.train.y.shape[0]), self.config.train.batch_size)
        step = self.config.lottery.rewind_point.to_steps(steps_per_epoch)
        total = self.config.train.length.to_steps(steps_per_epoch)
        if step > total:
            raise ConfigError(f"--rewind {self.config.lottery.rewind} lies beyond level 0's {total} training steps")
        return step

    def state(self, name: str) -> dict[str, Any]:
        """Model weights saved in the lottery directory (model_init.pt, rewind.pt...)."""
        found = self.run.load_checkpoint(name)
        if found is None:
            raise ConfigError(f"{self.run.file(name)} is missing; delete {self.run.path} to start the lottery over")
        return found["model"]

    def train_unit(self, unit: RunDirectory, model: nn.Module, mask: Mask | None, on_step: Any = None) -> dict[str, Any]:
        """Train one level or branch in its directory and write its result.json."""
        template = full_mask(model, self.config.prunable)
        trainer, wall = train_and_save(
            unit, model, self.data, self.config, mask=mask, session=self.session, started=time.monotonic(),
            save_init=False, on_step=on_step, keep_best=True,
        )
        result = training_result(unit, trainer, mask or template, model, self.session, wall)
        report = effective_report(model, mask or template, self.data.info.image_shape).as_dict()
        result.update(select_epoch(trainer.history))
        result.update(effective_sparsity=report["effective_sparsity"], effective_kept=report["effective_kept"],
                      disconnected=report["disconnected"], layers=report["layers"])
        unit.write_result(result)
        unit.file("checkpoint.pt").unlink(missing_ok=True)
        return result


def run_lottery(
    config: LotteryRunConfig,
    *,
    runs_dir: str | Path = "runs",
    branches: list[str] | tuple[str, ...] = (),
    session: Session | None = None,
) -> dict[str, Any]:
    """Run (or resume, or skip) every level of ``config`` and the requested branches."""
    session = session or Session()
    check_names(config)
    for name in branches:
        BRANCHES.entry(name)
    lottery = Lottery(config, runs_dir, session)
    run = lottery.run
    if run.is_complete() and set(branches) <= set(run.read_result().get("branches", [])):
        return session.skip(run)
    rewind_step = start_lottery(lottery)
    levels = []
    for level in range(config.lottery.levels + 1):
        levels.append(run_level(lottery, level, rewind_step, list(branches)))
    result = summarise(lottery, levels, list(branches))
    run.write_result(result)
    return result


def start_lottery(lottery: Lottery) -> int:
    """Check the rewind point, create the directory and the initial weights; the rewind step."""
    run = lottery.run
    rewind_step = lottery.rewind_step()
    run.prepare()
    if not run.file("model_init.pt").exists():
        run.save_checkpoint({"model": lottery.build().state_dict()}, "model_init.pt")
    if rewind_step == 0 and not run.file("rewind.pt").exists():
        run.save_checkpoint({"model": lottery.state("model_init.pt")}, "rewind.pt")
    return rewind_step


def run_level(lottery: Lottery, level: int, rewind_step: int, branches: list[str]) -> dict[str, Any]:
    """Train level ``level`` (and its branches) unless done; return its summary row."""
    cfg, run, session = lottery.config, lottery.run, lottery.session
    unit = run.child(f"level-{level}")
    if unit.is_complete():
        result = unit.read_result()
    else:
        unit.prepare()
        session.log(f"level {level}: {100 * cfg.lottery.density(level):.2f}% of prunable weights target")
        model = lottery.build()
        model.load_state_dict(lottery.state("model_init.pt"))
        mask = None if level == 0 else level_mask(lottery, unit, level)
        on_step = None
        if level == 0 and rewind_step > 0:
            def on_step(step: int) -> None:  # keep the rewind point's weights, once
                if step == rewind_step and not run.file("rewind.pt").exists():
                    run.save_checkpoint({"model": model.state_dict()}, "rewind.pt")
        else:
            model.load_state_dict(lottery.state("rewind.pt"))
        result = lottery.train_unit(unit, model, mask, on_step)
    row = level_row(level, result)
    if level > 0:
        # Branches asked for now, and those an earlier invocation already finished.
        done = sorted(p.name[len("branch-"):] for p in unit.path.glob("branch-*") if (p / "result.json").exists())
        for name in dict.fromkeys([*branches, *done]):
            row["branches"][name] = level_row(level, run_branch(lottery, unit, level, name))
    return row


def level_mask(lottery: Lottery, unit: RunDirectory, level: int) -> Mask:
    """The mask of ``level``: saved in the unit, or pruned from the previous level's weights."""
    if unit.file("mask.npz").exists():
        return load_mask(unit.file("mask.npz"))
    cfg = lottery.config
    previous = lottery.run.child(f"level-{level - 1}")
    trained = lottery.build()
    trained.load_state_dict(previous.load_checkpoint("model_final.pt")["model"])
    alive = load_mask(previous.file("mask.npz")) if level > 1 else full_mask(trained, cfg.prunable)
    mask = magnitude_prune(trained, alive, cfg.lottery.density(level), cfg.lottery.scope,
                           generator(cfg.seed, "imp", level))
    save_mask(unit.file("mask.npz"), mask)
    return mask


def run_branch(lottery: Lottery, unit: RunDirectory, level: int, name: str) -> dict[str, Any]:
    """Train branch ``name`` of ``level`` unless done; return its result."""
    branch = unit.child(f"branch-{name}")
    if branch.is_complete():
        return branch.read_result()
    branch.prepare()
    lottery.session.log(f"level {level}: branch {name}")
    if branch.file("mask.npz").exists() and branch.file("model_init.pt").exists():
        mask, state = load_mask(branch.file("mask.npz")), branch.load_checkpoint("model_init.pt")["model"]
    else:
        given = BranchInput(
            mask=load_mask(unit.file("mask.npz")),
            rewind_state=lottery.state("rewind.pt"),
            fresh_init=lambda: lottery.build("reinit", level),
            generator=generator(lottery.config.seed, name, level),
        )
        mask, state = BRANCHES.get(name)(given)
        branch.save_checkpoint({"model": state}, "model_init.pt")
        save_mask(branch.file("mask.npz"), mask)
    model = lottery.build()
    model.load_state_dict(state)
    return lottery.train_unit(branch, model, mask)


def level_row(level: int, result: dict[str, Any]) -> dict[str, Any]:
    """The summary of one level or branch, as it appears in the lottery's result.json."""
    keys = ("sparsity", "effective_sparsity", "kept", "effective_kept", "total", "selected_epoch", "selected_by",
            "val_accuracy", "test_accuracy", "test_accuracy_selected_on_test", "final_test_accuracy", "disconnected")
    row = {"level": level, **{k: result[k] for k in keys}, "run_dir": result["run_dir"]}
    row["branches"] = {}
    return row


def summarise(lottery: Lottery, levels: list[dict[str, Any]], branches: list[str]) -> dict[str, Any]:
    """The lottery's result.json."""
    run = lottery.run
    wall = sum(row_wall(r) for r in levels)
    return {
        "run_dir": str(run.path),
        "kind": run.kind,
        "hash": run.hash,
        "branches": sorted({b for r in levels for b in r["branches"]} | set(branches)),
        "levels": levels,
        "wall_seconds": wall,
    }


def row_wall(row: dict[str, Any]) -> float:
    """Wall seconds of a level and its branches, read from their result files."""
    paths = [Path(row["run_dir"])] + [Path(b["run_dir"]) for b in row["branches"].values()]
    return sum(float(read_json(p / "result.json")["wall_seconds"]) for p in paths)

"""``ticketlab lottery``: IMP with rewinding, level by level, with branches.

Layout of ``RUNS_DIR/lottery-<hash>/``::

    config.json  model_init.pt  rewind.pt  result.json
    level-0/     mask.npz metrics.jsonl model_final.pt result.json   (dense)
    level-1/     ... and branch-<name>/ with the same files, for every requested branch

Every level and branch is a unit that is skipped once its result.json exists and
otherwise resumes from its checkpoint, so the lottery can be killed anywhere. Each unit
has its own lock, so the Ray executor can run a level's branches beside the next level.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from ticketlab.config import option
from ticketlab.data import num_batches
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask, effective_report_or_none, full_mask, load_mask, save_mask
from ticketlab.pruning.structures import structure_for, structured_rows
from ticketlab.runs.base import TrainedRunConfig
from ticketlab.runs.branch_levels import (
    BEST,
    BRANCH_LEVELS_HELP,
    BranchLevels,
    best_level,
    check_best_possible,
    fixed_levels,
    parse_branch_levels,
)
from ticketlab.runs.execute import Session
from ticketlab.runs.kind import Job, Options, RunKind, RunOption, Task
from ticketlab.runs.results import EffectiveFields, RunResult, SelectedEpochFields, TrainingResult, effective_dict
from ticketlab.runs.store import RunDirectory, read_json
from ticketlab.seeding import generator
from ticketlab.text import entry_lines, format_table, percent
from ticketlab.tickets import (
    BRANCHES,
    BranchInput,
    LotteryConfig,
    check_reachable,
    parse_branches,
    prune_level,
    select_epoch,
)


@dataclass(frozen=True)
class LotteryRunConfig(TrainedRunConfig):
    """Find a winning ticket by IMP: train, prune, rewind, retrain, level after level.

    Branches (ablations) are not part of the config: they are added to a lottery
    directory level by level, so asking for another branch later reuses the trunk.
    """

    kind = "lottery"

    lottery: LotteryConfig = dataclasses.field(default_factory=LotteryConfig)
    seed: int = option(0, "seed of the initialisation, the batch order and the branches", metavar="N")


@dataclass
class UnitResult(EffectiveFields, SelectedEpochFields, TrainingResult):
    """One level or branch, trained: result.json of ``level-<L>/`` and ``level-<L>/branch-<name>/``."""


@dataclass
class LevelRow:
    """The summary of one level or branch, as it appears in the lottery's result.json."""

    level: int = 0
    sparsity: float = 0.0
    effective_sparsity: float | None = None
    kept: int = 0
    effective_kept: int | None = None
    total: int = 0
    selected_epoch: int | None = None
    selected_by: str | None = None
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    test_accuracy_selected_on_test: float | None = None
    final_test_accuracy: float | None = None
    disconnected: bool | None = None
    run_dir: str = ""
    branches: dict[str, LevelRow] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, level: int, unit: UnitResult) -> LevelRow:
        """The row of a trained level or branch."""
        shared = {f.name for f in dataclasses.fields(cls)} - {"level", "branches"}
        return cls(level=level, **{name: getattr(unit, name) for name in shared})


@dataclass
class LotteryResult(RunResult):
    """The lottery's result.json: a row per level, each with its branches."""

    branches: list[str] = dataclasses.field(default_factory=list)
    levels: list[LevelRow] = dataclasses.field(default_factory=list)


def rewind_step(job: Job[LotteryRunConfig]) -> int:
    """The optimizer step of level 0 whose weights every level restarts from."""
    config = job.config
    steps_per_epoch = num_batches(int(job.data.train.y.shape[0]), config.train.batch_size)
    step = config.lottery.rewind_point.to_steps(steps_per_epoch)
    total = config.train.length.to_steps(steps_per_epoch)
    if step > total:
        raise ConfigError(f"--rewind {config.lottery.rewind} lies beyond level 0's {total} training steps")
    return step


def saved_state(job: Job[LotteryRunConfig], name: str) -> dict[str, Any]:
    """Model weights saved in the lottery directory (model_init.pt, rewind.pt...)."""
    found = job.run.load_checkpoint(name)
    if found is None:
        raise ConfigError(f"{job.run.file(name)} is missing; delete {job.run.path} to start the lottery over")
    return found["model"]


def train_unit(job: Job[LotteryRunConfig], unit: RunDirectory, model: nn.Module, mask: Mask | None,
               on_step: Any = None) -> UnitResult:
    """Train one level or branch in its directory and write its result.json."""
    trainer, fields = job.train(model, mask, unit=unit, started=time.monotonic(), save_init=False, on_step=on_step,
                                keep_best=True)
    counted = mask or full_mask(model, job.config.prunable)
    effective = effective_dict(effective_report_or_none(model, counted, job.data.info.image_shape), counted)
    structure = structure_for(job.config.lottery.structure if mask else "unstructured", model)
    fields.update(select_epoch(trainer.history), layers=structured_rows(structure, counted, effective["layers"]))
    record = job.record(UnitResult, unit, **fields, effective_sparsity=effective["effective_sparsity"],
                        effective_kept=effective["effective_kept"], disconnected=effective["disconnected"])
    return job.finish(record, unit)


def run_lottery_job(job: Job[LotteryRunConfig]) -> LotteryResult:
    """Every level of the lottery and the requested branches (at --branch-levels); the lottery's record."""
    branches, spec = list(job.options["branches"]), job.options["branch_levels"]
    fixed = fixed_levels(spec, job.config.lottery.levels)
    if branches:
        check_best_possible(spec, job.config.data.val, job.config.lottery.levels)
    step = start_lottery(job)
    levels = [run_level(job, level, step, branches if level in fixed else [])
              for level in range(job.config.lottery.levels + 1)]
    if spec == BEST and branches:
        best = levels[best_level([(r.level, r.val_accuracy) for r in levels])]
        for name in branches:
            best.branches[name] = LevelRow.of(best.level, run_branch(job, best.level, name))
    return summarise(job, levels, branches)


def start_lottery(job: Job[LotteryRunConfig]) -> int:
    """Check the rewind point, create the directory and the initial weights; the rewind step."""
    run, lottery = job.run, job.config.lottery
    step = rewind_step(job)
    model = job.build()
    alive = full_mask(model, job.config.prunable)
    check_reachable(alive, lottery.density(lottery.levels), lottery.quota, lottery.structure)
    structure_for(lottery.structure, model, {name: m.shape for name, m in alive.items()})  # fails on a misfit
    run.prepare()
    if not run.file("model_init.pt").exists():
        run.save_checkpoint({"model": model.state_dict()}, "model_init.pt")
    if step == 0 and not run.file("rewind.pt").exists():
        run.save_checkpoint({"model": saved_state(job, "model_init.pt")}, "rewind.pt")
    return step


def run_level(job: Job[LotteryRunConfig], level: int, rewind: int, branches: list[str]) -> LevelRow:
    """Train level ``level`` (and its branches) unless done; its summary row."""
    config, run = job.config, job.run
    unit = run.child(f"level-{level}")
    with job.hold(unit):
        if unit.is_complete():
            result = UnitResult.from_json(unit.read_result())
        else:
            unit.prepare()
            job.session.log(f"level {level}: {100 * config.lottery.density(level):.2f}% of prunable weights target")
            model = job.build()
            model.load_state_dict(saved_state(job, "model_init.pt"))
            mask = None if level == 0 else level_mask(job, unit, level)
            on_step = None
            if level == 0 and rewind > 0:
                def on_step(step: int) -> None:  # keep the rewind point's weights, once
                    if step == rewind and not run.file("rewind.pt").exists():
                        run.save_checkpoint({"model": model.state_dict()}, "rewind.pt")
            else:
                model.load_state_dict(saved_state(job, "rewind.pt"))
            result = train_unit(job, unit, model, mask, on_step)
    row = LevelRow.of(level, result)
    if level > 0:
        # Branches asked for now, and those an earlier invocation already finished.
        done = sorted(p.name[len("branch-"):] for p in unit.path.glob("branch-*") if (p / "result.json").exists())
        for name in dict.fromkeys([*branches, *done]):
            row.branches[name] = LevelRow.of(level, run_branch(job, level, name))
    return row


def level_mask(job: Job[LotteryRunConfig], unit: RunDirectory, level: int) -> Mask:
    """The mask of ``level``: saved in the unit, or pruned from the previous level's weights."""
    if unit.file("mask.npz").exists():
        return load_mask(unit.file("mask.npz"))
    cfg = job.config
    previous = job.run.child(f"level-{level - 1}")
    trained = job.build()
    trained.load_state_dict(previous.load_checkpoint("model_final.pt")["model"])
    alive = load_mask(previous.file("mask.npz")) if level > 1 else full_mask(trained, cfg.prunable)
    mask = prune_level(trained, alive, cfg.lottery.density(level), score=cfg.lottery.score, quota=cfg.lottery.quota,
                       generator=generator(cfg.seed, "imp", level), input_shape=job.data.info.image_shape,
                       structure=cfg.lottery.structure)
    save_mask(unit.file("mask.npz"), mask)
    return mask


def run_branch(job: Job[LotteryRunConfig], level: int, name: str) -> UnitResult:
    """Train branch ``name`` of ``level`` unless done; its result."""
    unit = job.run.child(f"level-{level}")
    branch = unit.child(f"branch-{name}")
    with job.hold(branch):
        if branch.is_complete():
            return UnitResult.from_json(branch.read_result())
        branch.prepare()
        job.session.log(f"level {level}: branch {name}")
        if branch.file("mask.npz").exists() and branch.file("model_init.pt").exists():
            mask, state = load_mask(branch.file("mask.npz")), branch.load_checkpoint("model_init.pt")["model"]
        else:
            given = BranchInput(
                mask=load_mask(unit.file("mask.npz")),
                rewind_state=saved_state(job, "rewind.pt"),
                fresh_init=lambda: job.build("reinit", level),
                generator=generator(job.config.seed, name, level),
            )
            mask, state = BRANCHES.get(name)(given)
            branch.save_checkpoint({"model": state}, "model_init.pt")
            save_mask(branch.file("mask.npz"), mask)
        model = job.build()
        model.load_state_dict(state)
        return train_unit(job, branch, model, mask)


def summarise(job: Job[LotteryRunConfig], levels: list[LevelRow], branches: list[str]) -> LotteryResult:
    """Write the lottery's result.json from its level rows."""
    wall = sum(row_wall(r) for r in levels)
    names = sorted({b for r in levels for b in r.branches} | set(branches))
    return job.finish(job.record(LotteryResult, branches=names, levels=levels, wall_seconds=wall))


def row_wall(row: LevelRow) -> float:
    """Wall seconds of a level and its branches, read from their result files."""
    paths = [Path(row.run_dir)] + [Path(b.run_dir) for b in row.branches.values()]
    return sum(float(read_json(p / "result.json")["wall_seconds"]) for p in paths)


def finished(run: RunDirectory, options: Options) -> bool:
    """Complete, with every branch asked for at every level asked for (a finished lottery still trains a
    new branch, or an old one at a new level)."""
    if not run.is_complete():
        return False
    rows = run.read_result().get("levels", [])
    spec = options["branch_levels"]
    if spec == BEST and options["branches"]:
        wanted: tuple[int, ...] = (best_level([(r["level"], r.get("val_accuracy")) for r in rows]),)
    else:
        wanted = fixed_levels(spec, len(rows) - 1)
    return all(name in rows[level].get("branches", {}) for level in wanted for name in options["branches"])


# Steps of a lottery for distributed executors: start, then level 0, 1, ... in a chain,
# each level's branches fanning out from it, and the summary once all are done.
def start_step(job: Job[LotteryRunConfig]) -> dict[str, int]:
    """Create the lottery's directory and initial weights."""
    with job.hold(job.run):
        return {"rewind_step": start_lottery(job)}


def level_step(job: Job[LotteryRunConfig], level: int) -> LevelRow:
    """Train one level (not its branches)."""
    return run_level(job, level, rewind_step(job), [])


def branch_step(job: Job[LotteryRunConfig], level: int, name: str) -> UnitResult:
    """Train one branch of one level."""
    return run_branch(job, level, name)


def best_branch_step(job: Job[LotteryRunConfig], name: str) -> UnitResult:
    """Train one branch at the validation-best level, read from the finished levels' results."""
    rows = [read_json(job.run.child(f"level-{level}").path / "result.json")
            for level in range(job.config.lottery.levels + 1)]
    return run_branch(job, best_level([(r["level"], r.get("val_accuracy")) for r in rows]), name)


def summary_step(job: Job[LotteryRunConfig]) -> LotteryResult:
    """The whole lottery through the prologue: every unit is done, so this writes the summary."""
    return LOTTERY.run(job.config, runs_dir=job.run.path.parent, session=job.session, **job.options)


def tasks(config: LotteryRunConfig, options: Options) -> list[Task]:
    """The lottery as steps: a chain of levels, branches after their level, the summary last."""
    out = [Task("start", (), start_step)]
    ends = []
    spec, last = options["branch_levels"], config.lottery.levels
    fixed = fixed_levels(spec, last)
    for level in range(last + 1):
        out.append(Task(f"level-{level}", (out[-1].key if level == 0 else f"level-{level - 1}",), level_step, (level,)))
        if level in fixed:
            for name in options["branches"]:
                out.append(Task(f"level-{level}/{name}", (f"level-{level}",), branch_step, (level, name)))
                ends.append(out[-1].key)
    if spec == BEST:
        for name in options["branches"]:
            out.append(Task(f"best/{name}", (f"level-{last}",), best_branch_step, (name,)))
            ends.append(out[-1].key)
    out.append(Task("summary", (f"level-{config.lottery.levels}", *ends), summary_step))
    return out


def summary(result: LotteryResult) -> str:
    """The lottery table: a row per level, trunk and branches."""
    branches = result.branches
    headers = ["level", "% remaining", "% effective", "best val acc", "test acc (val-selected)",
               "test acc (test-selected)", *[f"{b} test acc" for b in branches]]
    rows = []
    for row in result.levels:
        effective = None if row.effective_sparsity is None else 1 - row.effective_sparsity
        rows.append([
            row.level, percent(1 - row.sparsity, 3), percent(effective, 3),
            percent(row.val_accuracy), percent(row.test_accuracy), percent(row.test_accuracy_selected_on_test),
            *[percent(row.branches[b].test_accuracy) if b in row.branches else "-" for b in branches],
        ])
    note = ("test acc (val-selected): at the epoch with the best validation accuracy (the last epoch without --val); "
            "test-selected: the best test accuracy over epochs, as seed 004's code reports it (optimistic)")
    return f"{format_table(headers, rows)}\n\n{note}\nlottery {result.run_dir}  wall {result.wall_seconds:.1f}s"


def describe() -> str:
    """``ticketlab lottery --help``, with the registered branches."""
    return f"""\
Find a winning ticket by iterative magnitude pruning (IMP) with rewinding.

Level 0 trains the dense network. Each later level removes --prune-fraction of the
surviving weights with the lowest score (--score; magnitude by default) after the
previous level's training, resets the survivors to the rewind weights (the
initialisation, or level 0's weights at --rewind Kep/Kit) and trains again with a fresh
optimizer and schedule. Level L keeps (1 - P)^L of the prunable weights, shared among
layers by --quota. --structure N:M (e.g. 2:4) prunes every layer alike to N of every M
consecutive input weights at the last level ((1 - P)^levels must be N/M; earlier levels
keep at least N of every M); channel prunes whole output units/channels.

Branches replay every level (or those of --branch-levels) with one ingredient changed:
{entry_lines(BRANCHES)}

Accuracy is reported at the epoch with the best validation accuracy (use --val N to hold
out a validation split; without one the last epoch is used). The best test accuracy
over epochs, which is how seed 004's code selects, is reported beside it, labelled.

Everything lands in RUNS_DIR/lottery-<hash>/level-<L>/[branch-<name>/]; kill it at any
moment and run the same command again to continue.

example: ticketlab lottery --model lenet300 --levels 5 --prune-fraction 0.5 --epochs 3 --val 5000 \\
    --branches random-prune,random-reinit
"""


BRANCHES_OPTION = RunOption(
    "branches",
    "comma list of ablation branches (listed above) to run at every level (or at --branch-levels); not part "
    "of the config, so a branch asked for later reuses the trunk (default: none)",
    parse=lambda value: tuple(parse_branches(value) if isinstance(value, str) else [BRANCHES.entry(v).name
                                                                                     for v in value]),
    default=(),
    metavar="NAMES",
)

BRANCH_LEVELS_OPTION = RunOption("branch_levels", BRANCH_LEVELS_HELP, parse=parse_branch_levels, default=None,
                                 metavar="LEVELS")

LOTTERY = RunKind(LotteryRunConfig, run_lottery_job, LotteryResult, summary,
                  help="iterative magnitude pruning with rewinding", description=describe,
                  options=(BRANCHES_OPTION, BRANCH_LEVELS_OPTION), finished=finished, tasks=tasks)


def run_lottery(config: LotteryRunConfig, *, runs_dir: str | Path = "runs", branches: list[str] | tuple[str, ...] = (),
                session: Session | None = None, branch_levels: BranchLevels = None) -> LotteryResult:
    """Run (or resume, or skip) every level of ``config`` and the requested branches, at every pruned level
    or at ``branch_levels`` (a list of levels, or "best": the validation-best level)."""
    return LOTTERY.run(config, runs_dir=runs_dir, session=session, branches=tuple(branches),
                       branch_levels=branch_levels)

"""``ticketlab sparse-train``: one run that reaches a sparse network as it trains (GMP, SET, RigL) or
trains a fixed sparse mask (static), on the shared data, model and training options.

The initial mask is written as ``mask_init.npz`` once found (a restarted run loads it);
the mask that moves during training lives in the checkpoint, and the final one is
``mask.npz``. ``metrics.jsonl`` adds per epoch the direct and effective sparsity and the
fraction of the mask changed since the previous epoch. Branches (``--branches rewind``:
the final mask retrained as a fixed mask from the rewind weights) are units of the run,
:mod:`ticketlab.runs.sparse_branches`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from ticketlab.config import option
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask, effective_report_or_none, full_mask, layer_report, load_mask, save_mask
from ticketlab.pruning import SCORES, score_batches
from ticketlab.pruning.structures import structure_for, structured_rows
from ticketlab.runs.base import TrainedRunConfig
from ticketlab.runs.execute import Session
from ticketlab.runs.kind import Job, Options, RunKind, RunOption
from ticketlab.runs.results import EffectiveFields, TrainingResult, effective_dict, training_fields
from ticketlab.runs.sparse_branches import BranchRow, canonical_rewind, rewind_step, run_branch
from ticketlab.runs.store import RunDirectory
from ticketlab.runs.tables import effective_summary
from ticketlab.seeding import derive_seed, generator
from ticketlab.sparse import SPARSE_METHODS, MovingMask, SparseConfig, initial_mask, layer_macs
from ticketlab.sparse.branches import SPARSE_BRANCHES, parse_sparse_branches
from ticketlab.text import entry_lines, percent


@dataclass(frozen=True)
class SparseTrainRunConfig(TrainedRunConfig):
    """Train under a mask that a sparse-training method moves (or keeps fixed)."""

    kind = "sparse-train"

    sparse: SparseConfig = dataclasses.field(default_factory=SparseConfig)
    seed: int = option(0, "seed of the initialisation, the initial mask, every mask update and the batch order",
                       metavar="N")
    rewind: str = option(
        "0it", "the weights --branches start from: 0 (the initialisation) or a point of the run, Kep or Kit "
        "(kept in rewind.pt as the run passes it)", metavar="POINT",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "rewind", canonical_rewind(self.rewind))


@dataclass
class SparseTrainResult(EffectiveFields, TrainingResult):
    """A sparse-trained network: the final mask's direct and effective sparsity and the training cost.

    ``training_flops_ratio``: training FLOPs relative to dense training of the same model
    for the same steps (convention in :mod:`ticketlab.sparse.flops`); ``layers`` adds
    ``effective_kept`` to each layer's kept, total and density.
    """

    method: str = ""
    score: str = ""
    quota: str = ""
    structure: str = "unstructured"
    training_flops_ratio: float | None = None
    dense_gradient_steps: int = 0
    mask_updates: int = 0
    branches: dict[str, BranchRow] = dataclasses.field(default_factory=dict)


def sparse_train(job: Job[SparseTrainRunConfig]) -> SparseTrainResult:
    """Train the run unless done, then the branches asked for (and those done before); its record."""
    if job.run.is_complete():
        result = SparseTrainResult.from_json(job.run.read_result())
    else:
        result = train_run(job)
    names = [*job.options["branches"], *result.branches]
    if not names:
        return result
    for name in dict.fromkeys(names):
        result.branches[name] = BranchRow.of(run_branch(job, name))
    return job.finish(result)


def train_run(job: Job[SparseTrainRunConfig]) -> SparseTrainResult:
    """Find (or load) the initial mask, train under the moving mask, report the final one."""
    config, run = job.config, job.run
    model = job.build()
    shape = job.data.info.image_shape
    rewind = rewind_step(job)
    if run.file("mask_init.npz").exists():
        start = load_mask(run.file("mask_init.npz"))
    else:
        # Can still fail on bad input (a quota that cannot reach the sparsity, a structure that
        # does not fit): no directory until it worked.
        start = find_initial_mask(job, model)
    run.prepare()
    if not run.file("mask_init.npz").exists():
        save_mask(run.file("mask_init.npz"), start)
    structure = structure_for(config.sparse.structure, model)
    moving = MovingMask(SPARSE_METHODS.get(config.sparse.method), config.sparse, start, seed=config.seed,
                        input_shape=shape, macs=layer_macs(model, shape), structure=structure)

    def on_step(step: int) -> None:  # keep the rewind point's weights, once
        if rewind > 0 and step == rewind and not run.file("rewind.pt").exists():
            run.save_checkpoint({"model": model.state_dict()}, "rewind.pt")

    trainer, fields = job.train(model, start, callbacks=(moving,), on_step=on_step)
    final = moving.mask
    save_mask(run.file("mask.npz"), final)
    report = effective_report_or_none(model, final, shape)
    effective = effective_dict(report, final)
    counts = training_fields(trainer, final, model, job.session.device)
    layers = [{**row.as_dict(), "effective_kept": eff["effective_kept"]}
              for row, eff in zip(layer_report(final), effective["layers"], strict=True)]
    return job.finish(job.record(
        SparseTrainResult, **{**fields, **counts, "layers": structured_rows(structure, final, layers)},
        method=config.sparse.method, score=config.sparse.score, quota=config.sparse.quota,
        structure=config.sparse.structure,
        effective_sparsity=effective["effective_sparsity"], effective_kept=effective["effective_kept"],
        disconnected=effective["disconnected"], training_flops_ratio=moving.cost.ratio,
        dense_gradient_steps=moving.cost.dense_gradient_steps, mask_updates=moving.updates,
    ))


def find_initial_mask(job: Job[SparseTrainRunConfig], model: nn.Module) -> Mask:
    """The initial mask of the run: its score x quota at the method's initial sparsity."""
    config = job.config
    alive = full_mask(model, config.prunable)
    if not alive:
        raise ConfigError("sparse training needs prunable weights; --prunable selects none")
    batches = []
    if SCORES.get(config.sparse.score).needs_data:
        batches = score_batches(job.data, 10, config.train.batch_size, derive_seed(config.seed, "score-batches"))
    return initial_mask(model, alive, config.sparse, batches, job.data.info.image_shape,
                        generator(config.seed, "initial-mask"))


def summary(result: SparseTrainResult) -> str:
    """Epochs, per-layer direct and effective density, the method and its training cost."""
    ratio = "-" if result.training_flops_ratio is None else f"{result.training_flops_ratio:.3f}"
    shape = "" if result.structure == "unstructured" else f", {result.structure}"
    text = effective_summary(result, f"{result.method} ({result.score}/{result.quota}{shape}): sparsity "
                             f"{percent(result.sparsity, 3)}, effective {percent(result.effective_sparsity, 3)}, "
                             f"training FLOPs {ratio} of dense, {result.mask_updates} mask updates")
    rows = [f"branch {name} (from {row.rewind}): test accuracy {percent(row.test_accuracy)}  val accuracy "
            f"{percent(row.val_accuracy)}  {row.run_dir}" for name, row in result.branches.items()]
    return "\n".join([text, *rows])


def describe() -> str:
    """``ticketlab sparse-train --help``: the registered methods, from their registry."""
    return f"""\
Train a sparse network in one run: a fixed mask, or one that moves during training.

Methods (--method):
{entry_lines(SPARSE_METHODS)}

gmp starts from --initial-sparsity (dense by default) and prunes by magnitude, under
--quota, every --prune-every steps from --prune-start to --prune-end (fractions of the
run), following s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n dt))^3. set and rigl keep
--sparsity throughout: the initial mask is --score x --quota (random x erk by default,
as RigL), and every --update-every steps before --end-update each layer drops the
--drop-fraction (cosine-annealed) of its kept weights with the smallest magnitude and
regrows as many among the entries pruned before the update, at random (set) or where
the dense gradient of the step's batch is largest (rigl); regrown weights and their
optimizer state start at zero, and every layer keeps its count. The optimizer step of
an update step runs as usual, under the old mask; the mask moves after it.

The run is written to RUNS_DIR/sparse-train-<hash>: config.json, mask_init.npz,
metrics.jsonl (adds sparsity, effective_sparsity and mask_changed per epoch),
model_init.pt, model_final.pt, mask.npz (the final mask) and result.json, with
effective_sparsity and training_flops_ratio: training FLOPs relative to dense training
(RigL's convention: backward = 2x forward, a masked layer's FLOPs proportional to its
density, rigl's update steps with a dense weight gradient). A killed run resumes to the
same masks and metrics.

--structure N:M (e.g. 2:4; --sparsity must be 1 - N/M, and there is no --quota: every
layer keeps N of every M consecutive input weights, Conv layers along the input channels)
or channel (whole output units/channels by the sum of their scores; the classifier
unstructured) applies to static and gmp (gmp reaches N:M exactly at the end of its
schedule, keeping at least N of every M on the way); set and rigl move single weights
and refuse both.

Ticket check: --branches NAMES retrains the final mask as a fixed mask in
branch-<name>/ of the same run, from the run's weights at --rewind (its initialisation
by default; a later point such as 1ep is part of the run's hash, since the run keeps
those weights in rewind.pt as it passes them); result.json lists each branch's accuracy
under branches. Branches:
{entry_lines(SPARSE_BRANCHES)}

example: ticketlab sparse-train --model lenet300 --method rigl --sparsity 0.9 --epochs 5 --branches rewind
"""


def finished(run: RunDirectory, options: Options) -> bool:
    """Complete, with every branch asked for (a finished run still trains a new branch)."""
    return run.is_complete() and set(options["branches"]) <= set(run.read_result().get("branches", {}))


BRANCHES_OPTION = RunOption(
    "branches", "comma list of branches (listed above) retraining the final mask; not part of the config, so a "
    "branch asked for later reuses the run (default: none)", parse=parse_sparse_branches, default=(), metavar="NAMES",
)

SPARSE_TRAIN = RunKind(SparseTrainRunConfig, sparse_train, SparseTrainResult, summary,
                       help="sparse training: static, gmp, set or rigl masks", description=describe,
                       options=(BRANCHES_OPTION,), finished=finished)


def run_sparse_train(config: SparseTrainRunConfig, *, runs_dir: str | Path = "runs", session: Session | None = None,
                     branches: list[str] | tuple[str, ...] = ()) -> SparseTrainResult:
    """Train (or resume, or skip) the sparse run described by ``config`` and its branches; its result record."""
    return SPARSE_TRAIN.run(config, runs_dir=runs_dir, session=session, branches=tuple(branches))

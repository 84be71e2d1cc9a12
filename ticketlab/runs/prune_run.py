"""``ticketlab prune``: prune at initialisation, report direct and effective sparsity, then
train the ticket, all in one resumable run directory.

The mask is written once pruning is done; a restarted run loads it instead of pruning
again (iterative SynFlow on a large net takes a while), then resumes training.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from ticketlab.config import option
from ticketlab.data import DataBundle
from ticketlab.masks import Mask, count_kept, effective_mask, effective_report_or_none, full_mask, load_mask, save_mask
from ticketlab.pruning import QUOTAS, SCORES, PruneConfig, prune_at_init, score_batches
from ticketlab.pruning.effective_target import EffectiveSearch, effective_random_mask, prune_to_effective, reshuffle
from ticketlab.pruning.structures import check_structure_options, structure_for, structured_rows
from ticketlab.runs.base import TrainedRunConfig
from ticketlab.runs.execute import Session
from ticketlab.runs.kind import Job, RunKind
from ticketlab.runs.results import EffectiveFields, TrainingResult, effective_dict
from ticketlab.runs.tables import effective_summary
from ticketlab.seeding import derive_seed, generator
from ticketlab.text import entry_lines, percent


@dataclass(frozen=True)
class PruneRunConfig(TrainedRunConfig):
    """Prune a freshly initialised model with a score and a quota, then train the ticket."""

    kind = "prune"

    pruning: PruneConfig = dataclasses.field(default_factory=PruneConfig)
    seed: int = option(0, "seed of the initialisation, the pruning and the batch order", metavar="N")

    def __post_init__(self) -> None:
        p = self.pruning
        check_structure_options(p.structure, p.sparsity, p.quota, PruneConfig().quota)


@dataclass
class PruneResult(EffectiveFields, TrainingResult):
    """A pruned-at-init ticket, trained: direct and effective sparsity, how the mask was found."""

    method: str = ""
    quota: str = ""
    target: str = "direct"
    structure: str = "unstructured"
    direct_compression: float | None = None
    effective_compression: float | None = None
    pruning: dict[str, Any] = dataclasses.field(default_factory=dict)


def prune_and_train(job: Job[PruneRunConfig]) -> PruneResult:
    """Prune (or load the saved mask), report, and train the ticket; its record."""
    config, run, session = job.config, job.run, job.session
    model = job.build()
    shape = job.data.info.image_shape
    if run.file("mask.npz").exists():
        mask = load_mask(run.file("mask.npz"))
        search: dict[str, Any] = run.read_json_file("pruning.json")
    else:
        # Pruning can still fail on bad input (a quota that cannot reach the sparsity),
        # so the directory appears only once it has succeeded.
        mask, search = prune(config, model, job.data, session)
    run.prepare()
    if not run.file("mask.npz").exists():
        run.write_json_file("pruning.json", search)
        save_mask(run.file("mask.npz"), mask)  # written last: its presence means "pruned"
    report = effective_report_or_none(model, mask, shape)
    effective = effective_dict(report, mask)
    measured = "unavailable" if report is None else f"{report.effective_sparsity:.6f}"
    session.log(
        f"pruned {config.pruning.method}/{config.pruning.quota}: direct sparsity {effective['direct_sparsity']:.6f}, "
        f"effective {measured}" + (" (disconnected)" if effective["disconnected"] else "")
    )
    _, fields = job.train(model, mask)
    # With effective_kept per layer, and the structure's own fields (N:M groups, kept channels).
    fields["layers"] = structured_rows(structure_for(config.pruning.structure, model), mask, effective["layers"])
    return job.finish(job.record(
        PruneResult, **fields,
        method=config.pruning.method, quota=config.pruning.quota, target=config.pruning.target,
        structure=config.pruning.structure,
        effective_sparsity=effective["effective_sparsity"], disconnected=effective["disconnected"],
        direct_compression=effective["direct_compression"], effective_compression=effective["effective_compression"],
        effective_kept=effective["effective_kept"], pruning=search,
    ))


def prune(config: PruneRunConfig, model: nn.Module, data: DataBundle, session: Session) -> tuple[Mask, dict[str, Any]]:
    """The mask of ``config`` (direct or effective target) and a record of how it was found."""
    started = time.monotonic()
    pruning = config.pruning
    alive = full_mask(model, config.prunable)
    shape = data.info.image_shape
    rng = generator(config.seed, "prune")

    def effective_sparsity(mask: Mask) -> float:
        kept, total = count_kept(effective_mask(model, mask, shape))
        return 1.0 - kept / total

    record: dict[str, Any] = {"method": pruning.method, "quota": pruning.quota, "target": pruning.target}
    if pruning.target == "effective" and pruning.method == "random":
        found: EffectiveSearch = effective_random_mask(alive, pruning.quota, pruning.sparsity, effective_sparsity, rng)
        record.update(algorithm="approximate effective random pruning (seed 003, Algorithm 1)")
    else:
        batches = []
        if SCORES.get(pruning.method).needs_data:
            batches = score_batches(
                data, pruning.score_per_class, config.train.batch_size, derive_seed(config.seed, "score-batches")
            )
        outcome = prune_at_init(model, alive, pruning, batches, shape, rng)
        if pruning.target == "direct":
            record.update(seconds=time.monotonic() - started)
            return reshuffled(config, outcome.mask, record), record
        family = outcome.family
        found = prune_to_effective(family.mask_at, family.min_kept, family.total, pruning.sparsity, effective_sparsity)
        record.update(algorithm="bisection over the kept count of the method's fixed ranking")
    record.update(
        evaluations=found.evaluations,
        direct_kept=found.kept,
        effective_sparsity=found.effective_sparsity,
        seconds=time.monotonic() - started,
    )
    session.log(f"effective target {pruning.sparsity}: reached {found.effective_sparsity:.6f} in {found.evaluations} evaluations")
    return reshuffled(config, found.mask, record), record


def reshuffled(config: PruneRunConfig, mask: Mask, record: dict[str, Any]) -> Mask:
    """With ``--reshuffle``, a random mask with the same per-layer kept counts.

    With an effective target the counts are those of the mask that reached it; the
    reshuffled mask's own effective sparsity (reported) is usually higher.
    """
    if not config.pruning.reshuffle:
        return mask
    record["reshuffled"] = True
    return reshuffle(mask, generator(config.seed, "reshuffle"))


def summary(result: PruneResult) -> str:
    """Epoch table, per-layer direct and effective density, and the totals."""
    shape = "" if result.structure == "unstructured" else f", {result.structure}"
    return effective_summary(result, f"{result.method}/{result.quota} ({result.target} target{shape}): direct sparsity "
                             f"{percent(result.sparsity, 3)}, effective {percent(result.effective_sparsity, 3)}")


def describe() -> str:
    """``ticketlab prune --help``: the registered scores and quotas, from their registries."""
    return f"""\
Prune a freshly initialised model at initialisation, then train the ticket.

Scores (--method):
{entry_lines(SCORES)}

Quotas (--quota) decide how many weights each layer keeps:
{entry_lines(QUOTAS)}

With --target effective the network is pruned until its *effective* sparsity (weights off
every input-output path count as pruned) reaches --sparsity, by bisection over the
method's ranking.

--structure picks the sparsity type (unstructured by default): N:M keeps N of every M
consecutive weights along each layer's input dimension (Conv: along the input channels,
for each filter and kernel position), --sparsity then being 1 - N/M and every layer
alike (no --quota); channel removes whole output units/channels, the quota's count per
layer rounded to whole units, the classifier pruned unstructured. Neither takes
--target effective or --reshuffle.

The run is written to RUNS_DIR/prune-<hash>: config.json, pruning.json, mask.npz,
metrics.jsonl, model_init.pt, model_final.pt and result.json, which adds
effective_sparsity, disconnected and per layer effective_kept. --epochs 0 prunes only.

example: ticketlab prune --model lenet300 --method synflow --quota igq --sparsity 0.99 --epochs 5
"""


PRUNE = RunKind(PruneRunConfig, prune_and_train, PruneResult, summary, help="prune at initialisation, then train",
                description=describe)


def run_prune(config: PruneRunConfig, *, runs_dir: str | Path = "runs", session: Session | None = None) -> PruneResult:
    """Prune, report and train (or resume, or skip) the run described by ``config``."""
    return PRUNE.run(config, runs_dir=runs_dir, session=session)

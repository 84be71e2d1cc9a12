"""``ticketlab prune`` as a function: prune at initialisation, report direct and effective
sparsity, then train the ticket, all in one resumable run directory.

The mask is written once pruning is done; a restarted run loads it instead of pruning
again (iterative SynFlow on a large net takes a while), then resumes training.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from torch import nn

from ticketlab.data import DataBundle
from ticketlab.masks import (
    Mask,
    count_kept,
    effective_mask,
    effective_report,
    full_mask,
    load_mask,
    save_mask,
)
from ticketlab.models import build_from_config
from ticketlab.pruning import QUOTAS, SCORES, prune_at_init, score_batches
from ticketlab.pruning.effective_target import (
    EffectiveSearch,
    effective_random_mask,
    prune_to_effective,
    reshuffle,
)
from ticketlab.runs.execute import Session, train_and_save, training_result
from ticketlab.runs.prune_config import PruneRunConfig
from ticketlab.runs.store import RunDirectory
from ticketlab.runs.train_run import check_names
from ticketlab.seeding import derive_seed, generator


def run_prune(
    config: PruneRunConfig,
    *,
    runs_dir: str | Path = "runs",
    session: Session | None = None,
) -> dict[str, Any]:
    """Prune, report and train (or resume, or skip) the run described by ``config``."""
    started = time.monotonic()
    session = session or Session()
    check_names(config)
    SCORES.entry(config.pruning.method)
    QUOTAS.entry(config.pruning.quota)
    run = RunDirectory(runs_dir, config)
    if run.is_complete():
        return session.skip(run)
    data = session.load_data(config.data)
    model = build_from_config(
        config.model, data.info.image_shape, data.info.num_classes, seed=derive_seed(config.seed, "init")
    ).to(session.device)
    shape = data.info.image_shape
    if run.file("mask.npz").exists():
        mask = load_mask(run.file("mask.npz"))
        search: dict[str, Any] = run.read_json_file("pruning.json")
    else:
        # Pruning can still fail on bad input (a quota that cannot reach the sparsity),
        # so the directory appears only once it has succeeded.
        mask, search = prune(config, model, data, session)
    run.prepare()
    if not run.file("mask.npz").exists():
        run.write_json_file("pruning.json", search)
        save_mask(run.file("mask.npz"), mask)  # written last: its presence means "pruned"
    report = effective_report(model, mask, shape)
    session.log(
        f"pruned {config.pruning.method}/{config.pruning.quota}: direct sparsity {report.direct_sparsity:.6f}, "
        f"effective {report.effective_sparsity:.6f}" + (" (disconnected)" if report.disconnected else "")
    )
    trainer, wall = train_and_save(run, model, data, config, mask=mask, session=session, started=started)
    result = training_result(run, trainer, mask, model, session, wall)
    effective = report.as_dict()
    result.update(
        {
            "method": config.pruning.method,
            "quota": config.pruning.quota,
            "target": config.pruning.target,
            "effective_sparsity": effective["effective_sparsity"],
            "disconnected": effective["disconnected"],
            "direct_compression": effective["direct_compression"],
            "effective_compression": effective["effective_compression"],
            "effective_kept": effective["effective_kept"],
            "layers": effective["layers"],
            "pruning": search,
        }
    )
    run.write_result(result)
    run.file("checkpoint.pt").unlink(missing_ok=True)
    return result


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

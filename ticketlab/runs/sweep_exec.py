"""Executing a sweep: every point not yet finished, on the local or the Ray executor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ticketlab.runs.catalog import RUN_KINDS
from ticketlab.runs.execute import quiet
from ticketlab.runs.store import RunDirectory
from ticketlab.runs.sweep import SweepPoint
from ticketlab.runs.worker import Outcome, WorkerOptions

EXECUTORS = ("local", "ray")

Log = Callable[[str], None]


@dataclass
class PointOutcome:
    """What became of one point: done, skipped (already finished), invalid or failed."""

    point: SweepPoint
    status: str
    result: Any = None  # the run's result record
    error: str | None = None
    seconds: float = 0.0


def execute(
    points: list[SweepPoint],
    kind: str,
    options: WorkerOptions,
    *,
    jobs: int = 1,
    log: Log = quiet,
    executor: str = "local",
    address: str | None = None,
) -> list[PointOutcome]:
    """Run every point (runs of ``kind``) not yet finished: locally (``jobs`` worker processes
    when more than one) or as Ray tasks (``executor="ray"``, on the cluster at ``address``
    or a local one)."""
    run_kind = RUN_KINDS.get(kind)
    outcomes: list[PointOutcome | None] = [None] * len(points)
    pending: list[int] = []
    for i, point in enumerate(points):
        if point.config is None:
            outcomes[i] = PointOutcome(point, "invalid", error=point.error)
            continue
        run = RunDirectory(options.runs_dir, point.config)
        # The kind decides: a finished lottery still has work when asked for a branch it lacks.
        if run_kind.finished(run, point.options):
            outcomes[i] = PointOutcome(point, "skipped", result=run_kind.read(run))
        else:
            pending.append(i)
    log(f"sweep: {len(points)} points, {len(pending)} to run, {len(points) - len(pending)} finished or invalid")
    done = 0

    def record(i: int, outcome: Outcome) -> None:
        nonlocal done
        status, result, error, seconds = outcome
        outcomes[i] = PointOutcome(points[i], status, result, error, seconds)
        done += 1
        log(f"[{done:>{len(str(len(pending)))}}/{len(pending)}] {points[i].label()}: {describe(outcomes[i])}")

    chosen = [(i, points[i]) for i in pending]
    if executor == "ray":
        from ticketlab.runs.ray_exec import execute_on_ray

        execute_on_ray(chosen, kind, options, record, address=address)
    else:
        from ticketlab.runs.local_exec import execute_locally

        execute_locally(chosen, kind, options, record, jobs=jobs)
    return [o for o in outcomes if o is not None]


def describe(outcome: PointOutcome | None) -> str:
    """One line on a finished point."""
    if outcome is None:
        return "-"
    if outcome.status in ("invalid", "failed"):
        return f"{outcome.status}: {outcome.error}"
    result = outcome.result
    levels = getattr(result, "levels", None)
    if levels:  # a lottery
        last = levels[-1]
        return (f"{len(levels)} levels, last at sparsity {last.sparsity:.4f}: "
                f"test {100 * last.test_accuracy:.2f}% in {outcome.seconds:.1f}s")
    text = f"test {100 * result.test_accuracy:.2f}%" if getattr(result, "test_accuracy", None) is not None else "done"
    effective = getattr(result, "effective_sparsity", None)
    if effective is not None:
        text += f", sparsity {result.sparsity:.4f} (effective {effective:.4f})"
    return text + f" in {outcome.seconds:.1f}s"

"""The local executor of sweeps: points one after another, or in worker processes."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Callable, Sequence

from ticketlab.runs.sweep import SweepPoint
from ticketlab.runs.worker import Outcome, WorkerOptions, run_point


def execute_locally(
    pending: Sequence[tuple[int, SweepPoint]],
    kind: str,
    options: WorkerOptions,
    record: Callable[[int, Outcome], None],
    *,
    jobs: int = 1,
) -> None:
    """Run ``pending`` points of ``kind`` here (``jobs`` spawned processes when more than one)."""
    if jobs <= 1:
        for i, point in pending:
            record(i, run_point(kind, point.config, options, point.options))
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(run_point, kind, point.config, options, point.options): i for i, point in pending}
        for future in concurrent.futures.as_completed(futures):
            record(futures[future], future.result())

"""Executing a sweep: every point as a run, serially, in worker processes or on Ray."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ticketlab.errors import TicketlabError
from ticketlab.runs.execute import Session, quiet
from ticketlab.runs.lottery_config import LotteryRunConfig
from ticketlab.runs.lottery_run import run_lottery
from ticketlab.runs.prune_config import PruneRunConfig
from ticketlab.runs.prune_run import run_prune
from ticketlab.runs.store import RunDirectory
from ticketlab.runs.sweep import SweepPoint

EXECUTORS = ("local", "ray")
Outcome = tuple[str, "dict[str, Any] | None", "str | None", float]

Log = Callable[[str], None]


@dataclass
class PointOutcome:
    """What became of one point: done, skipped (already finished), invalid or failed."""

    point: SweepPoint
    status: str
    result: dict[str, Any] | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class WorkerOptions:
    """Execution options handed to every worker (picklable)."""

    runs_dir: str
    device: str = "cpu"
    data_dir: str | None = None
    download: bool = False
    threads: int | None = None


_SESSION: Session | None = None


def worker_session(options: WorkerOptions) -> Session:
    # One session per process, so each worker decodes the data set once.
    global _SESSION
    if _SESSION is None:
        if options.threads is not None:
            import torch

            torch.set_num_threads(options.threads)
        _SESSION = Session(
            device=options.device, log=quiet, data_dir=options.data_dir, download=options.download, cache_data=True
        )
    return _SESSION


def run_point(
    config: PruneRunConfig | LotteryRunConfig, options: WorkerOptions, branches: tuple[str, ...] = ()
) -> Outcome:
    """Run one point (a prune run or a whole lottery); see :func:`guarded`."""
    session = worker_session(options)
    if isinstance(config, LotteryRunConfig):
        return guarded(lambda: run_lottery(config, runs_dir=options.runs_dir, branches=branches, session=session))
    return guarded(lambda: run_prune(config, runs_dir=options.runs_dir, session=session))


def guarded(work: Callable[[], dict[str, Any]]) -> Outcome:
    """Run ``work``; user errors make it "invalid", anything else "failed" (with the cause)."""
    started = time.monotonic()
    try:
        return "done", work(), None, time.monotonic() - started
    except TicketlabError as exc:
        return "invalid", None, str(exc), time.monotonic() - started
    except Exception as exc:  # noqa: BLE001 - one broken point must not stop the sweep
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(last.filename).name}:{last.lineno}"
        return "failed", None, f"{type(exc).__name__}: {exc} (at {where})", time.monotonic() - started


def execute(
    points: list[SweepPoint],
    options: WorkerOptions,
    *,
    jobs: int = 1,
    log: Log = quiet,
    executor: str = "local",
    address: str | None = None,
) -> list[PointOutcome]:
    """Run every point not yet finished: locally (``jobs`` worker processes when more than
    one) or as Ray tasks (``executor="ray"``, on the cluster at ``address`` or a local one)."""
    outcomes: list[PointOutcome | None] = [None] * len(points)
    pending: list[int] = []
    for i, point in enumerate(points):
        if point.config is None:
            outcomes[i] = PointOutcome(point, "invalid", error=point.error)
            continue
        run = RunDirectory(options.runs_dir, point.config)
        # A finished lottery still has work when a branch is asked for that it lacks.
        if run.is_complete() and set(point.branches) <= set(run.read_result().get("branches", [])):
            outcomes[i] = PointOutcome(point, "skipped", result=run.read_result())
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

    if executor == "ray":
        from ticketlab.runs.ray_exec import execute_on_ray

        execute_on_ray([(i, points[i]) for i in pending], options, record, address=address)
    elif jobs <= 1:
        for i in pending:
            record(i, run_point(points[i].config, options, points[i].branches))  # type: ignore[arg-type]
    else:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(run_point, points[i].config, options, points[i].branches): i for i in pending}
            for future in concurrent.futures.as_completed(futures):
                record(futures[future], future.result())
    return [o for o in outcomes if o is not None]


def describe(outcome: PointOutcome | None) -> str:
    """One line on a finished point."""
    if outcome is None:
        return "-"
    if outcome.status in ("invalid", "failed"):
        return f"{outcome.status}: {outcome.error}"
    result = outcome.result or {}
    if "levels" in result:  # a lottery
        last = result["levels"][-1]
        return (f"{len(result['levels'])} levels, last at sparsity {last['sparsity']:.4f}: "
                f"test {100 * last['test_accuracy']:.2f}% in {outcome.seconds:.1f}s")
    effective = result.get("effective_sparsity")
    text = f"test {100 * result['test_accuracy']:.2f}%"
    if effective is not None:
        text += f", sparsity {result['sparsity']:.4f} (effective {effective:.4f})"
    return text + f" in {outcome.seconds:.1f}s"

"""What every executor of a sweep runs in a worker: a point as a whole run, or one task of it.

Both the local executor (processes on this machine) and the Ray executor import this
module and not each other. Everything here is module-level and picklable.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ticketlab.errors import TicketlabError
from ticketlab.runs.catalog import RUN_KINDS
from ticketlab.runs.execute import Session, quiet

# (status, result record or None, error or None, seconds); status is done, invalid or failed.
Outcome = tuple[str, Any, "str | None", float]


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
    """This process's session (one per process, so each worker decodes a data set once)."""
    global _SESSION
    if _SESSION is None:
        if options.threads is not None:
            import torch

            torch.set_num_threads(options.threads)
        _SESSION = Session(
            device=options.device, log=quiet, data_dir=options.data_dir, download=options.download, cache_data=True
        )
    return _SESSION


def guarded(work: Callable[[], Any]) -> Outcome:
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


def run_point(kind: str, config: Any, options: WorkerOptions, run_options: dict[str, Any]) -> Outcome:
    """Run one point as a whole run of its kind."""
    session = worker_session(options)
    return guarded(lambda: RUN_KINDS.get(kind).run(config, runs_dir=options.runs_dir, session=session,
                                                   **run_options))


def run_task(kind: str, config: Any, options: WorkerOptions, run_options: dict[str, Any], step: Callable[..., Any],
             args: tuple[Any, ...], *upstream: Outcome) -> Outcome:
    """One task of a run split into steps; it does nothing (and says why) when an upstream task failed."""
    failed = next((u for u in upstream if u[0] != "done"), None)
    if failed is not None:
        return failed[0], None, f"an earlier task of this run: {failed[2]}", 0.0
    session = worker_session(options)
    job = RUN_KINDS.get(kind).job(config, options.runs_dir, session, run_options)
    return guarded(lambda: step(job, *args))

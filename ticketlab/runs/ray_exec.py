"""The Ray executor of sweeps: every point a Ray task, or a graph of tasks for kinds that split.

A point whose kind lists :class:`~ticketlab.runs.kind.Task` steps (a lottery: a start
task, then level 0, 1, ... each after the one before, every branch of a level fanning
out from it, and a last task writing the summary) becomes one Ray task per step, wired
by their dependencies; any other point is one task. Tasks write into the same run
directories as the local executor (``runs_dir`` must be storage every node sees), and
every unit holds its own lock, so a rerun after a failure, or a retry while the first
attempt still runs, never trains a unit twice.

Each task asks Ray for ``threads`` CPUs (1 if unset) and, on a CUDA device, one GPU.
The package must be installed on every node (``pip install 'ticketlab[ray]'``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ticketlab.errors import ConfigError
from ticketlab.runs.catalog import RUN_KINDS
from ticketlab.runs.sweep import SweepPoint
from ticketlab.runs.worker import Outcome, WorkerOptions, run_point, run_task


def import_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'ticketlab[ray]'") from None
    return ray


def task_resources(options: WorkerOptions) -> dict[str, float]:
    """What one task reserves on the cluster."""
    return {"num_cpus": float(options.threads or 1), "num_gpus": 1.0 if options.device.startswith("cuda") else 0.0}


def submit_point(point: SweepPoint, kind: str, options: WorkerOptions, point_task: Any, step_task: Any) -> Any:
    """Submit one point; the reference whose result is the point's outcome (its last task's)."""
    tasks = RUN_KINDS.get(kind).tasks
    if tasks is None:
        return point_task.remote(kind, point.config, options, point.options)
    refs: dict[str, Any] = {}
    for task in tasks(point.config, point.options):
        upstream = [refs[key] for key in task.after]
        refs[task.key] = step_task.remote(kind, point.config, options, point.options, task.step, task.args, *upstream)
    return refs[task.key]


def execute_on_ray(
    pending: Sequence[tuple[int, SweepPoint]],
    kind: str,
    options: WorkerOptions,
    record: Callable[[int, Outcome], None],
    *,
    address: str | None = None,
) -> None:
    """Run ``pending`` points of ``kind`` as Ray tasks, recording each outcome as it finishes.

    Connects to the cluster at ``address`` (``auto``: the one this machine belongs to) or,
    without one, starts a local Ray instance for the duration of the sweep.
    """
    ray = import_ray()
    owned = not ray.is_initialized()
    if owned:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        resources = task_resources(options)
        point_task = ray.remote(**resources)(run_point)
        step_task = ray.remote(**resources)(run_task)
        refs = {submit_point(point, kind, options, point_task, step_task): i for i, point in pending}
        waiting = list(refs)
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1)
            try:
                outcome = ray.get(done[0])
            except Exception as exc:  # noqa: BLE001 - a task that died (worker lost, import failed)
                outcome = ("failed", None, f"Ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0]}", 0.0)
            record(refs[done[0]], outcome)
    finally:
        if owned:
            ray.shutdown()

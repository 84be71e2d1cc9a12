"""The Ray executor of sweeps: every point a Ray task, every lottery a chain of tasks.

A prune point is one task. A lottery point is a chain: a start task (directory, initial
and rewind weights), then level 0, level 1, ... each depending on the one before, with
every branch of a level fanning out from that level's task, and a last task that writes
the lottery's result.json once all of them are done. Tasks write into the same run
directories as the local executor (``runs_dir`` must be storage every node sees), so a
rerun after a failure or a killed driver skips what is finished and redoes the rest.

Each task asks Ray for ``threads`` CPUs (1 if unset) and, on a CUDA device, one GPU.
The package must be installed on every node (``pip install 'ticketlab[ray]'``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ticketlab.errors import ConfigError
from ticketlab.runs.lottery_config import LotteryRunConfig
from ticketlab.runs.lottery_run import Lottery, run_branch, run_level, run_lottery, start_lottery
from ticketlab.runs.sweep import SweepPoint
from ticketlab.runs.sweep_exec import Outcome, WorkerOptions, guarded, run_point, worker_session


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


def lottery_step(config: LotteryRunConfig, options: WorkerOptions, step: str, level: int, branch: str,
                 branches: tuple[str, ...], *upstream: Outcome) -> Outcome:
    """One task of a lottery chain; it does nothing (and says why) when an upstream task failed."""
    failed = next((u for u in upstream if u[0] != "done"), None)
    if failed is not None:
        return failed[0], None, f"an earlier task of this lottery: {failed[2]}", 0.0
    session = worker_session(options)
    lottery = Lottery(config, options.runs_dir, session)
    if step == "start":
        return guarded(lambda: {"rewind_step": start_lottery(lottery)})
    if step == "level":
        return guarded(lambda: run_level(lottery, level, lottery.rewind_step(), []))
    if step == "branch":
        unit = lottery.run.child(f"level-{level}")
        return guarded(lambda: run_branch(lottery, unit, level, branch))
    return guarded(lambda: run_lottery(config, runs_dir=options.runs_dir, branches=branches, session=session))


def submit_lottery(ray: Any, task: Any, point: SweepPoint, options: WorkerOptions) -> Any:
    """Submit a lottery's chain of tasks; the reference of its last (summary) task."""
    config = point.config
    assert isinstance(config, LotteryRunConfig)
    previous = task.remote(config, options, "start", 0, "", point.branches)
    ends = []
    for level in range(config.lottery.levels + 1):
        previous = task.remote(config, options, "level", level, "", point.branches, previous)
        if level > 0:
            ends += [task.remote(config, options, "branch", level, name, point.branches, previous)
                     for name in point.branches]
    return task.remote(config, options, "summary", 0, "", point.branches, previous, *ends)


def execute_on_ray(
    pending: Sequence[tuple[int, SweepPoint]],
    options: WorkerOptions,
    record: Callable[[int, Outcome], None],
    *,
    address: str | None = None,
) -> None:
    """Run ``pending`` points as Ray tasks, recording each outcome as it finishes.

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
        chain_task = ray.remote(**resources)(lottery_step)
        refs: dict[Any, int] = {}
        for i, point in pending:
            if isinstance(point.config, LotteryRunConfig):
                refs[submit_lottery(ray, chain_task, point, options)] = i
            else:
                refs[point_task.remote(point.config, options)] = i
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

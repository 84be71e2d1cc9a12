"""Runs: typed configs, hashed self-describing directories, resumable execution.

Every kind of run is a :class:`RunKind` registered in :data:`RUN_KINDS`
(:mod:`ticketlab.runs.catalog`); :func:`run` runs any of them.
"""

from ticketlab.runs.base import ModelRunConfig, TrainedRunConfig, check_sparsity
from ticketlab.runs.catalog import RUN_KINDS, kind_of, run
from ticketlab.runs.execute import Session
from ticketlab.runs.kind import Job, RunKind, RunOption, Task
from ticketlab.runs.results import RunResult, TrainingResult
from ticketlab.runs.store import RunDirectory, load_config, read_json
from ticketlab.runs.train_run import TrainRunConfig, run_train

__all__ = [
    "RUN_KINDS",
    "Job",
    "ModelRunConfig",
    "RunDirectory",
    "RunKind",
    "RunOption",
    "RunResult",
    "Session",
    "Task",
    "TrainRunConfig",
    "TrainedRunConfig",
    "TrainingResult",
    "check_sparsity",
    "kind_of",
    "load_config",
    "read_json",
    "run",
    "run_train",
]

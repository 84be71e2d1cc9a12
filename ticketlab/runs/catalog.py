"""The registry of run kinds: a new kind is one file (config, work, result, summary) and one line here.

The command line makes a subcommand of every kind here, sweeps accept every sweepable
one by name (``command = "<kind>"``), and :func:`run` dispatches a config to its kind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ticketlab.registry import Registry
from ticketlab.runs.edge_popup_run import EDGE_POPUP
from ticketlab.runs.execute import Session
from ticketlab.runs.imc_run import IMC
from ticketlab.runs.kind import RunKind
from ticketlab.runs.lottery_run import LOTTERY
from ticketlab.runs.prune_run import PRUNE
from ticketlab.runs.results import RunResult
from ticketlab.runs.sparse_train_run import SPARSE_TRAIN
from ticketlab.runs.strong_run import STRONG
from ticketlab.runs.target_run import TARGET
from ticketlab.runs.train_run import TRAIN

RUN_KINDS: Registry[RunKind[Any, Any]] = Registry("run kind")

for _kind in (TRAIN, PRUNE, LOTTERY, IMC, TARGET, STRONG, EDGE_POPUP, SPARSE_TRAIN):
    RUN_KINDS.add(_kind.name, _kind, _kind.help)


def kind_of(config: Any) -> RunKind[Any, Any]:
    """The registered kind of a run config (by its ``kind``)."""
    return RUN_KINDS.get(type(config).kind)


def run(config: Any, *, runs_dir: str | Path = "runs", session: Session | None = None, **options: Any) -> RunResult:
    """Run (or resume, or skip) any registered kind of run; its result record."""
    return kind_of(config).run(config, runs_dir=runs_dir, session=session, **options)

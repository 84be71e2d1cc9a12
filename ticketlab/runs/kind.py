"""A kind of run, registered once: its config, its work, its typed result and its summary.

The command line (one subcommand per kind, options generated from the config), sweeps
(local processes and Ray) and the Python API all dispatch from the registered
:class:`RunKind`; none of them lists kinds of its own. :meth:`RunKind.run` is the one
prologue every run goes through: check names, take the run directory's lock, skip a
run that is already complete, then hand a :class:`Job` to the kind's work function.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from torch import nn

from ticketlab.data import DataBundle
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask, full_mask
from ticketlab.runs.execute import Session, train_in_run
from ticketlab.runs.lock import lock_path_for, run_lock
from ticketlab.runs.results import RunResult, training_fields
from ticketlab.runs.store import RunDirectory
from ticketlab.training import Trainer

C = TypeVar("C")
R = TypeVar("R", bound=RunResult)
Options = Mapping[str, Any]


@dataclass
class Job(Generic[C]):
    """One run being worked on: its config, directory, session, options, and data once loaded."""

    config: C
    run: RunDirectory
    session: Session
    options: Options = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    _data: DataBundle | None = field(default=None, repr=False)

    @property
    def data(self) -> DataBundle:
        """The config's data set, loaded through the session on first use."""
        if self._data is None:
            self._data = self.session.load_data(self.config.data)  # type: ignore[attr-defined]
        return self._data

    def build(self, *tags: str | int) -> nn.Module:
        """The config's model on the session's device, initialised from the seed for ``tags``."""
        return self.config.build(self.data.info, *tags).to(self.session.device)  # type: ignore[attr-defined]

    def record(self, cls: type[R], unit: RunDirectory | None = None, **fields: Any) -> R:
        """A result record of ``cls`` for this run (or one of its units)."""
        where = unit or self.run
        return cls(run_dir=str(where.path), kind=where.kind, hash=where.hash, **fields)

    def train(self, model: nn.Module, mask: Mask | None, *, unit: RunDirectory | None = None,
              started: float | None = None, save_init: bool = True, save_final: bool = True,
              **options: Any) -> tuple[Trainer, dict[str, Any]]:
        """Train ``model`` under ``mask`` in ``unit`` (default: the run), resuming from its checkpoint.

        Keeps the initial (``model_init.pt``) and final (``model_final.pt``) weights unless
        told not to. Returns the trainer and the :class:`TrainingResult` fields,
        ``wall_seconds`` included (from ``started``, default: when the job began).
        ``options`` go to :func:`train_in_run`.
        """
        where = unit or self.run
        config = self.config
        if save_init and not where.file("model_init.pt").exists():
            where.save_checkpoint({"model": model.state_dict()}, "model_init.pt")
        trainer, wall = train_in_run(
            where, model, self.data, config.train, seed=config.seed, mask=mask,  # type: ignore[attr-defined]
            augment=config.data.augment, crop_padding=config.data.crop_padding,  # type: ignore[attr-defined]
            session=self.session, started=self.started if started is None else started, **options,
        )
        if save_final:
            where.save_checkpoint({"model": model.state_dict()}, "model_final.pt")
        counted = mask if mask is not None else full_mask(model, config.prunable)  # type: ignore[attr-defined]
        fields = training_fields(trainer, counted, model, self.session.device)
        return trainer, {**fields, "wall_seconds": wall}

    def finish(self, record: R, unit: RunDirectory | None = None) -> R:
        """Write ``record`` as result.json (which marks the run or unit complete) and drop its checkpoint."""
        where = unit or self.run
        where.write_result(record.to_json())
        where.file("checkpoint.pt").unlink(missing_ok=True)
        return record

    @contextmanager
    def hold(self, unit: RunDirectory) -> Iterator[None]:
        """Hold ``unit``'s lock (a level, a step) so one process at a time works on it."""
        with run_lock(lock_path_for(unit), wait=self.session.wait, log=self.session.log):
            yield


@dataclass(frozen=True)
class RunOption:
    """An option of a kind that is not part of its config, so not of its hash (a lottery's branches)."""

    name: str
    help: str
    parse: Callable[[Any], Any] = lambda value: value
    default: Any = None
    required: bool = False
    metavar: str | None = None


@dataclass(frozen=True)
class Task:
    """One step of a run that can execute on its own once the steps it comes ``after`` are done.

    Kinds whose runs split into independent steps (a lottery's levels and branches) list
    them, so that a distributed executor runs them as separate tasks; ``step(job, *args)``
    must be a module-level function (it is pickled).
    """

    key: str
    after: tuple[str, ...]
    step: Callable[..., Any]
    args: tuple[Any, ...] = ()


def _complete(run: RunDirectory, options: Options) -> bool:
    return run.is_complete()


@dataclass(frozen=True)
class RunKind(Generic[C, R]):
    """Everything about one kind of run that the CLI, sweeps and the Python API need.

    ``work(job)`` does the run once the prologue has passed and returns its record
    (written to result.json by the work itself, last). ``summary(record)`` is the
    closing text on the terminal. ``options`` are run options outside the config;
    ``finished(run, options)`` says whether there is nothing left to do (by default,
    result.json exists); ``bind(config, options)`` completes a config from its options
    (a strong ticket's config names its target's hash); ``tasks(config, options)`` splits
    a run into steps for distributed executors.
    """

    config: type[C]
    work: Callable[[Job[C]], R]
    result: type[R]
    summary: Callable[[R], str]
    help: str
    description: str | Callable[[], str]
    sweepable: bool = True
    trains: bool = True
    options: tuple[RunOption, ...] = ()
    finished: Callable[[RunDirectory, Options], bool] = _complete
    bind: Callable[[C, Options], C] | None = None
    tasks: Callable[[C, Options], list[Task]] | None = None

    @property
    def name(self) -> str:
        """The kind's name: its config's ``kind``, the prefix of its run directories."""
        return str(self.config.kind)  # type: ignore[attr-defined]

    def describe(self) -> str:
        """The command's description (``--help``)."""
        return self.description() if callable(self.description) else self.description

    def with_options(self, options: Options) -> dict[str, Any]:
        """``options`` completed with the defaults of those not given; unknown names are errors."""
        known = {o.name: o for o in self.options}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ConfigError(f"{self.name} runs have no option {', '.join(unknown)}")
        out = {}
        for option in self.options:
            if option.name in options:
                out[option.name] = option.parse(options[option.name])
            elif option.required:
                raise ConfigError(f"{self.name} runs need --{option.name.replace('_', '-')}")
            else:
                out[option.name] = option.default
        return out

    def bound(self, config: C, options: Options) -> C:
        """The config completed by ``bind`` (itself when the kind has none)."""
        return self.bind(config, options) if self.bind is not None else config

    def job(self, config: C, runs_dir: str | Path, session: Session, options: Options,
            data: DataBundle | None = None) -> Job[C]:
        """A job on ``config``'s run directory, without the prologue (for steps of a run)."""
        return Job(config, RunDirectory(runs_dir, config), session, options, _data=data)

    def run(self, config: C, *, runs_dir: str | Path = "runs", session: Session | None = None,
            data: DataBundle | None = None, **options: Any) -> R:
        """Run (or resume, or skip when complete) the run of ``config``; its result record.

        ``data``: the data set of the config, when the caller has it loaded already.
        """
        session = session or Session()
        options = self.with_options(options)
        config = self.bound(config, options)
        config.check_names()  # type: ignore[attr-defined]
        job = self.job(config, runs_dir, session, options, data)
        with job.hold(job.run):
            # Checked under the lock: a process that waited finds the other's work done.
            if self.finished(job.run, options):
                session.log(f"already complete: {job.run.path}")
                return self.result.from_json(job.run.read_result())
            return self.work(job)

    def read(self, run: RunDirectory) -> R:
        """The result record of a complete run."""
        return self.result.from_json(run.read_result())

"""Shared helpers: running the real ``ticketlab`` command in-process or as a subprocess."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from ticketlab.cli.main import main

# Tests use tiny models: one thread loses nothing and keeps them quick on a busy machine.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]


@dataclass
class CliResult:
    code: int
    out: str
    err: str


class Cli:
    """``cli(...)`` runs ``ticketlab`` in-process; ``cli.subprocess(...)`` in a real process."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str) -> CliResult:
        self.capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse errors and --help
            code = int(exc.code or 0)
        captured = self.capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    @staticmethod
    def popen(*args: str, **kwargs: object) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "ticketlab", *args],
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,  # type: ignore[arg-type]
        )

    @classmethod
    def subprocess(cls, *args: str, timeout: float = 300) -> CliResult:
        proc = cls.popen(*args)
        out, err = proc.communicate(timeout=timeout)
        return CliResult(proc.returncode, out, err)

    @classmethod
    def timed_reference(
        cls, args: list[str], started: Callable[[], bool], finished: Callable[[], bool]
    ) -> tuple[CliResult, float]:
        """Run ``ticketlab *args`` uninterrupted; also return its working span in seconds.

        The span runs from when ``started()`` first holds (the first checkpoint) to when
        ``finished()`` first holds (its result.json): the window in which a kill interrupts
        the work. Interpreter start-up before it and reporting after it (the plot) are outside.
        """
        proc = cls.popen(*args)
        first = last = None
        while proc.poll() is None:
            now = time.monotonic()
            if first is None and started():
                first = now
            if first is not None and last is None and finished():
                last = now
            time.sleep(0.002)
        out, err = proc.communicate()
        now = time.monotonic()
        first = now if first is None else first
        return CliResult(proc.returncode, out, err), (last or now) - first

    @staticmethod
    def kill_at_random_moment(
        proc: subprocess.Popen[str], started: Callable[[], bool], span_seconds: float, rng: random.Random
    ) -> None:
        """SIGKILL ``proc`` at a random moment after ``started()`` holds and before it would finish.

        The delay is a random fraction (at most 0.6) of the reference run's working span
        (:meth:`timed_reference`), so the kill lands mid-run on a fast machine as on a slow one.
        The killed run checkpoints after every step and is therefore slower than the reference,
        which only widens the margin.
        """
        deadline = time.monotonic() + 120
        while not started() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.6) * span_seconds)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()

    def kill_and_resume(self, args: list[str], runs: Path, checkpoints: str, span_seconds: float,
                        rng: random.Random) -> tuple[CliResult, bool]:
        """``ticketlab *args --runs-dir runs`` in a real process, checkpointing every step and
        SIGKILLed at a random moment once a file matching ``checkpoints`` (a glob under
        ``runs``) exists; then resumed in-process on one thread, as the subprocesses run (the
        kill is what needs a real process). The resumed result, and whether the kill landed
        before the run finished."""
        proc = self.popen(*args, "--runs-dir", str(runs), "--checkpoint-minutes", "0.00001")
        self.kill_at_random_moment(proc, lambda: bool(list(runs.glob(checkpoints))), span_seconds, rng)
        mid_run = not list(runs.glob("*/result.json"))
        return self(*args, "--runs-dir", str(runs), "--threads", "1"), mid_run


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)

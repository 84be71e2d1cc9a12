"""One run, one writer: a second process on the same run waits for it (or stops), never trains it twice.

Real processes: ``python -m ticketlab train`` in a subprocess holds the run while this
test process starts the same run through the command line in-process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from ticketlab.cli.main import main
from ticketlab.data import DataConfig
from ticketlab.runs import TrainRunConfig, run_train
from ticketlab.training import TrainConfig

EPOCHS = 8
DATA = ["--dataset", "synthetic", "--synthetic-train", "3000", "--synthetic-test", "200"]
ARGS = ["train", *DATA, "--epochs", str(EPOCHS), "--device", "cpu", "--threads", "1", "--checkpoint-minutes", "0"]
CONFIG = TrainRunConfig(data=DataConfig(dataset="synthetic", synthetic_train=3000, synthetic_test=200),
                        train=TrainConfig(duration=f"{EPOCHS}ep"))


def start(runs_dir: Path) -> subprocess.Popen[str]:
    """``ticketlab train`` in its own process, on ``runs_dir``."""
    return subprocess.Popen([sys.executable, "-m", "ticketlab", *ARGS, "--runs-dir", str(runs_dir), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_epochs(runs_dir: Path, count: int, proc: subprocess.Popen[str]) -> Path:
    """The run directory, once its metrics.jsonl holds ``count`` epochs (the holder is mid-run)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for metrics in runs_dir.glob("train-*/metrics.jsonl"):
            if len(metrics.read_text().splitlines()) >= count:
                return metrics.parent
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("the first process never started training")


def epochs(run_dir: Path) -> list[dict]:
    """metrics.jsonl without the timing column."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


@pytest.fixture(autouse=True)
def restore_threads() -> Iterator[None]:
    """``--threads 1`` in an in-process command applies to this whole process: undo it after each test."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def solo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run undisturbed, on one thread as the processes below (float sums depend on the thread count)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return Path(run_train(CONFIG, runs_dir=tmp_path_factory.mktemp("solo")).run_dir)
    finally:
        torch.set_num_threads(threads)


def test_a_second_process_waits_or_stops_and_the_epochs_are_written_once(
    tmp_path: Path, solo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = start(tmp_path)
    run_dir = wait_for_epochs(tmp_path, 1, first)
    # --if-running stop: one line, status 2, and the run is left to its holder.
    assert main([*ARGS, "--runs-dir", str(tmp_path), "--if-running", "stop"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "in progress" in error and f"pid {first.pid}" in error
    # The default waits for the holder, then finds the run complete instead of training it again.
    assert main([*ARGS, "--runs-dir", str(tmp_path), "--json"]) == 0
    waited = capsys.readouterr()
    assert first.wait(timeout=60) == 0, first.communicate()
    assert "waiting for another process" in waited.err and "already complete" in waited.err
    assert [row["epoch"] for row in epochs(run_dir)] == list(range(1, EPOCHS + 1))
    assert epochs(run_dir) == epochs(solo)  # the same numbers as a run nobody disturbed
    result = json.loads(waited.out)
    assert result == json.loads((run_dir / "result.json").read_text())
    assert result["test_accuracy"] == json.loads((solo / "result.json").read_text())["test_accuracy"]
    assert not (tmp_path / ".locks").exists()  # released locks leave nothing behind


def test_a_killed_holder_does_not_block_the_next_start(tmp_path: Path, solo: Path) -> None:
    first = start(tmp_path)
    run_dir = wait_for_epochs(tmp_path, 2, first)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    # Even with --if-running stop the next start proceeds: the OS released the dead holder's lock.
    assert main([*ARGS, "--runs-dir", str(tmp_path), "--if-running", "stop", "--quiet"]) == 0
    assert [row["epoch"] for row in epochs(run_dir)] == list(range(1, EPOCHS + 1))
    assert epochs(run_dir) == epochs(solo)  # resumed from the last checkpoint, exactly

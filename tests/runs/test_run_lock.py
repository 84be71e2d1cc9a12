"""run_lock: one process per run, across real processes, SIGKILL, nesting and run units.

The contending processes load ``ticketlab/runs/lock.py`` by file path rather than through
the ``ticketlab.runs`` package, whose ``__init__`` imports torch (seconds per process).
"""

from __future__ import annotations

import fcntl
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ticketlab.runs.lock import RunInProgress, lock_path_for, run_lock
from ticketlab.runs.prune_run import PruneRunConfig
from ticketlab.runs.store import RunDirectory

REPO = Path(__file__).resolve().parents[2]
LOCK_MODULE = REPO / "ticketlab" / "runs" / "lock.py"

# Takes the lock, says so, waits for a line on stdin (or EOF), appends to a journal, releases.
HOLDER = """
import importlib.util, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("lock_alone", sys.argv[1])
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)
with lock.run_lock(Path(sys.argv[2]), wait=False, log=print):
    print("locked", flush=True)
    sys.stdin.readline()
    with open(sys.argv[3], "a") as journal:
        journal.write("holder releases\\n")
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """Start a process that holds a lock until told to let go; kill any left at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(lock_path: Path) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(LOCK_MODULE), str(lock_path), str(tmp_path / "journal")],
            env=_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the lock is held (or the process died)
        assert line == "locked\n", f"holder did not take the lock: {line!r}, rc={proc.poll()}"
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _locked_elsewhere(lock_path: Path) -> bool:
    """True when some open file description holds the flock (a fresh open conflicts even here).

    A released lock leaves no file (its holder unlinks it), which counts as free.
    """
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the probe's own lock when it got one
    return False


def _run(tmp_path: Path) -> RunDirectory:
    return RunDirectory(tmp_path / "runs", PruneRunConfig())


def test_second_process_without_wait_gets_run_in_progress_naming_path_and_pid(
    tmp_path: Path, holder: Callable[[Path], subprocess.Popen[str]]
) -> None:
    run = _run(tmp_path)
    proc = holder(lock_path_for(run))
    with pytest.raises(RunInProgress) as caught:
        with run_lock(lock_path_for(run), wait=False, log=print):
            pytest.fail("took a lock another process holds")
    message = str(caught.value)
    assert "\n" not in message
    assert message == (
        f"{run.path} is in progress in another process (pid {proc.pid}); wait for it or run again later"
    )
    assert caught.value.pid == proc.pid
    # Ray sends a task's exception back pickled.
    assert str(pickle.loads(pickle.dumps(caught.value))) == message


def test_second_process_with_wait_proceeds_only_after_the_first_releases(
    tmp_path: Path, holder: Callable[[Path], subprocess.Popen[str]]
) -> None:
    run = _run(tmp_path)
    lock_path = lock_path_for(run.child("level-3"))
    journal = tmp_path / "journal"
    proc = holder(lock_path)
    logged: list[str] = []

    def log(line: str) -> None:
        # Called when the lock was found busy, just before blocking: now let the holder go.
        logged.append(line)
        assert proc.stdin is not None
        proc.stdin.write("release\n")
        proc.stdin.flush()

    with run_lock(lock_path, wait=True, log=log):
        with open(journal, "a") as handle:
            handle.write("waiter acquires\n")
    assert proc.wait(timeout=10) == 0
    assert logged == [f"waiting for another process on {run.path.name}/level-3 (pid {proc.pid})"]
    # The holder writes its line while still holding the lock, so this order proves the waiter blocked.
    assert journal.read_text().splitlines() == ["holder releases", "waiter acquires"]
    # The last holder removes the file and the directories it made: nothing is left behind.
    assert not lock_path.exists() and not (tmp_path / "runs").exists()


def test_holder_killed_by_sigkill_does_not_block_the_next(
    tmp_path: Path, holder: Callable[[Path], subprocess.Popen[str]]
) -> None:
    lock_path = lock_path_for(_run(tmp_path))
    proc = holder(lock_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert lock_path.read_text() == f"{proc.pid}\n"  # the dead holder's pid is still there
    with run_lock(lock_path, wait=False, log=print):
        assert lock_path.read_text() == f"{os.getpid()}\n"


def test_nested_acquisition_is_a_no_op_released_at_the_outermost_exit(tmp_path: Path) -> None:
    lock_path = lock_path_for(_run(tmp_path))
    logged: list[str] = []
    with run_lock(lock_path, wait=False, log=logged.append):
        # wait=False first: were nesting to open the file again, this raises instead of
        # the wait=True below deadlocking.
        with run_lock(lock_path, wait=False, log=logged.append):
            with run_lock(lock_path, wait=True, log=logged.append):
                assert _locked_elsewhere(lock_path)
            assert _locked_elsewhere(lock_path)
        assert _locked_elsewhere(lock_path)
    assert not _locked_elsewhere(lock_path)
    assert logged == []
    # An exception inside the nested block still releases at the outermost exit only.
    with pytest.raises(KeyError):
        with run_lock(lock_path, wait=False, log=print):
            with run_lock(lock_path, wait=False, log=print):
                raise KeyError("boom")
    assert not _locked_elsewhere(lock_path)


def test_another_thread_of_the_process_contends(tmp_path: Path) -> None:
    lock_path = lock_path_for(_run(tmp_path))
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with run_lock(lock_path, wait=False, log=print):
                pass
        except RunInProgress as exc:
            errors.append(exc)

    with run_lock(lock_path, wait=False, log=print):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=10)
    assert len(errors) == 1
    assert "another thread of this process" in str(errors[0])


def test_lock_paths_of_run_and_units_differ_and_create_no_run_directory(tmp_path: Path) -> None:
    run = _run(tmp_path)
    level = run.child("level-3")
    branch = level.child("branch-random")
    units = [run, level, branch, run.child("level-4")]
    paths = [lock_path_for(unit) for unit in units]
    assert len(set(paths)) == len(paths)
    locks = tmp_path / "runs" / ".locks"
    assert paths[0] == locks / f"{run.path.name}.lock"
    assert paths[1] == locks / run.path.name / "level-3.lock"
    assert paths[2] == locks / run.path.name / "level-3" / "branch-random.lock"
    # Units of one run are independent locks: all held at once by one thread.
    with run_lock(paths[0], wait=False, log=print):
        with run_lock(paths[1], wait=False, log=print):
            with run_lock(paths[2], wait=False, log=print):
                with run_lock(paths[3], wait=False, log=print):
                    assert all(_locked_elsewhere(path) for path in paths)
    assert not run.path.exists()
    assert not (tmp_path / "runs").exists()  # released locks leave nothing behind


def test_a_waiter_on_a_file_its_holder_unlinked_starts_over(tmp_path: Path) -> None:
    lock_path = lock_path_for(_run(tmp_path))
    waiting, holding, done = threading.Event(), threading.Event(), threading.Event()

    def waiter() -> None:
        with run_lock(lock_path, wait=True, log=lambda _: waiting.set()):
            holding.set()
            done.wait(10)

    with run_lock(lock_path, wait=False, log=print):
        thread = threading.Thread(target=waiter)
        thread.start()
        assert waiting.wait(10)  # blocked on the file this holder unlinks as it releases
    assert holding.wait(10)
    # The waiter holds the lock of the file now at the path, not of the orphaned one:
    # a third party is refused instead of being granted a second, concurrent lock.
    refused: list[BaseException] = []

    def third() -> None:
        try:
            with run_lock(lock_path, wait=False, log=print):
                pass
        except RunInProgress as exc:
            refused.append(exc)

    probe = threading.Thread(target=third)
    probe.start()
    probe.join(10)
    done.set()
    thread.join(10)
    assert len(refused) == 1
    assert not lock_path.exists()

"""One run, one writer: an exclusive lock per run (or per unit of a run) across processes.

Two processes started on the same run (a Ray retry while the first attempt still runs,
two shells running the same ``ticketlab train``) must not both train it, or
``metrics.jsonl`` gets every epoch twice. :func:`run_lock` takes an exclusive
``fcntl.flock`` on a lock file: the second process either stops with
:class:`RunInProgress` or waits until the first is done.

Why ``flock`` and not a pid file: the kernel drops a flock when the last descriptor of
its open file goes away, so a holder that dies, even by SIGKILL, frees the lock at once;
a pid file would be left behind and need guessing whether its pid is still the holder.
The pid written into the lock file is only for messages.

Why a lock leaves nothing behind: a failed start (missing data, a quota that cannot be
met) must leave the runs directory as it found it. So the holder unlinks the lock file,
and removes the directories it created for it when they are empty, while it still holds
the lock. A waiter blocked on the old file then holds a lock on an inode no one else can
find; it notices (the file at the path is another one, or none) and starts over on the
path, as does a process whose parent directory vanished under it. Only a holder killed
mid-run leaves its (unlocked, harmless) file.

Where locks live: ``<runs_dir>/.locks/<kind>-<hash>.lock`` for a run and
``<runs_dir>/.locks/<kind>-<hash>/<child path>.lock`` for a unit of it (a lottery level,
a branch), see :func:`lock_path_for`. Not inside the run directory, because taking the
lock must not create that directory: some runs create it only once their first step
succeeded, so that a failed start leaves nothing behind. A unit gets its own lock rather
than its run's, so the independent Ray tasks of one lottery (one per level) still run in
parallel while two attempts at the same level exclude each other. ``.locks`` starts with
a dot and holds no ``config.json``, so nothing that looks for run directories takes it
for one. ``flock`` works on local file systems and on NFS (Linux emulates it with
byte-range locks there).

Within one thread, taking a lock it already holds is a no-op: two ``open`` calls of one
file are separate open file descriptions whose flocks conflict even in one process, so
a nested acquisition (the run prologue, then the same run again deeper in the stack)
would otherwise deadlock with ``wait=True``. Other threads of the process do contend.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ticketlab.errors import TicketlabError

if TYPE_CHECKING:  # store imports torch; keep this module light for helper processes
    from ticketlab.runs.store import RunDirectory

LOCKS_DIR = ".locks"
LOCK_SUFFIX = ".lock"

# Per thread: the lock paths (realpath) this thread holds; nested acquisitions add nothing.
_local = threading.local()


class RunInProgress(TicketlabError):
    """Another process (or thread) holds the lock of the run this one was asked to do."""

    def __init__(self, path: Path, pid: int | None) -> None:
        holder = f"pid {pid}" if pid is not None else "pid unknown"
        where = "another thread of this process" if pid == os.getpid() else "another process"
        super().__init__(f"{path} is in progress in {where} ({holder}); wait for it or run again later")
        self.path = path
        self.pid = pid

    def __reduce__(self) -> tuple[type[RunInProgress], tuple[Path, int | None]]:
        # Ray pickles a task's exception; the default would call __init__ with the message alone.
        return (type(self), (self.path, self.pid))


def lock_path_for(run: RunDirectory) -> Path:
    """The lock file of a run or of a unit of one (a :meth:`RunDirectory.child`); creates nothing."""
    top = run
    while top.parent is not None:
        top = top.parent
    base = top.path.parent / LOCKS_DIR
    relative = run.path.relative_to(top.path)
    if relative == Path("."):
        return base / (top.path.name + LOCK_SUFFIX)
    return base / top.path.name / relative.parent / (relative.name + LOCK_SUFFIX)


@contextlib.contextmanager
def run_lock(lock_path: Path, *, wait: bool, log: Callable[[str], None]) -> Iterator[None]:
    """Hold the exclusive lock ``lock_path`` for the ``with`` block.

    When another process holds it: with ``wait=False`` raise :class:`RunInProgress`;
    with ``wait=True`` log one line and block until it is free. A nested acquisition
    of a lock this thread already holds is a no-op; the outermost exit releases it.
    """
    key = os.path.realpath(lock_path)
    held = _held()
    if key in held:
        yield  # the outermost acquisition of this thread releases it
        return
    fd, created = _acquire(Path(lock_path), wait=wait, log=log)
    held.add(key)
    try:
        yield
    finally:
        # Forget the lock before unlocking: once unlocked it is no longer ours.
        held.discard(key)
        try:
            # Still holding it: no one else can be using the file or the directories.
            Path(lock_path).unlink(missing_ok=True)
            for directory in reversed(created):
                try:
                    directory.rmdir()
                except OSError:  # not empty: another lock, or the run itself, lives there
                    break
            # Unlock explicitly: closing alone keeps it held while a forked child
            # (a DataLoader worker) still has the descriptor open.
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _held() -> set[str]:
    """The lock paths this thread holds."""
    held: set[str] | None = getattr(_local, "held", None)
    if held is None:
        held = _local.held = set()
    return held


def _acquire(lock_path: Path, *, wait: bool, log: Callable[[str], None]) -> tuple[int, list[Path]]:
    """Open and flock ``lock_path``, write this pid into it; the descriptor and the directories created."""
    while True:
        created = _make_directories(lock_path.parent)
        try:
            # No O_TRUNC: truncating before holding the lock would erase the holder's pid.
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:  # a releasing holder removed the directory just now
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = _read_pid(fd)
                if not wait:
                    raise RunInProgress(_run_path(lock_path), pid) from None
                holder = f"pid {pid}" if pid is not None else "pid unknown"
                log(f"waiting for another process on {_run_name(lock_path)} ({holder})")
                fcntl.flock(fd, fcntl.LOCK_EX)
            if not _is_file_at(fd, lock_path):  # the previous holder unlinked it as it released
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)  # also frees the lock if it was just taken
            raise
        return fd, created


def _make_directories(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents; those this call created, outermost first."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    created = []
    for path in reversed(missing):
        try:
            path.mkdir()
            created.append(path)
        except FileExistsError:  # another process made it meanwhile: not ours to remove
            pass
    return created


def _is_file_at(fd: int, path: Path) -> bool:
    """Whether the open file ``fd`` is the file now at ``path``."""
    try:
        there = os.stat(path)
    except FileNotFoundError:
        return False
    here = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _read_pid(fd: int) -> int | None:
    """The holder's pid from the lock file; None when not (yet) written."""
    # Best effort: the holder may have locked but not yet written, or a dead
    # holder's pid may still be there for that instant.
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _split(lock_path: Path) -> tuple[Path, Path] | None:
    """(runs_dir, run directory relative to it) for a path from :func:`lock_path_for`."""
    parts = Path(os.path.abspath(lock_path)).parts
    if not parts[-1].endswith(LOCK_SUFFIX) or LOCKS_DIR not in parts[:-1]:
        return None
    at = len(parts) - 2 - parts[-2::-1].index(LOCKS_DIR)  # the last .locks above the file
    relative = Path(*parts[at + 1 : -1], parts[-1][: -len(LOCK_SUFFIX)])
    return Path(*parts[:at]), relative


def _run_path(lock_path: Path) -> Path:
    """The run directory a lock guards, for messages (the lock file for other locks)."""
    split = _split(lock_path)
    return lock_path if split is None else split[0] / split[1]


def _run_name(lock_path: Path) -> str:
    """The short name of the run a lock guards, e.g. ``lottery-<hash>/level-3``."""
    split = _split(lock_path)
    return str(lock_path) if split is None else split[1].as_posix()

"""Where data files are looked for, and the message when they are nowhere.

Roots, in order: the explicit ``data_dir``, ``$TICKETLAB_DATA``, the user cache
(``$XDG_CACHE_HOME/ticketlab`` or ``~/.cache/ticketlab``) and the system roots
(``/usr/share/datasets``, where Debian's dataset packages install). Under each root a
data set may sit in ``<root>/<name>/`` or in the layout of another tool (torchvision's
``FashionMNIST/raw``, ``cifar-10-batches-py``...), also nested under ``<root>/<name>/``,
so existing downloads are reused.

The root itself may hold the files only when it is the explicit ``data_dir``: MNIST and
Fashion-MNIST share file names, so a shared root holding bare IDX files is ambiguous.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ticketlab.data.rawfile import resolve
from ticketlab.data.source import DatasetSource
from ticketlab.errors import DataError

# Module-level so tests (and unusual installs) can replace it.
SYSTEM_ROOTS: tuple[Path, ...] = (Path("/usr/share/datasets"),)


def cache_dir() -> Path:
    """The user's ticketlab cache: ``$XDG_CACHE_HOME/ticketlab`` or ``~/.cache/ticketlab``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "ticketlab"


def default_roots() -> list[Path]:
    """``$TICKETLAB_DATA`` (when set), the cache dir and :data:`SYSTEM_ROOTS`, in order."""
    roots = []
    env = os.environ.get("TICKETLAB_DATA")
    if env:
        roots.append(Path(env).expanduser())
    roots.append(cache_dir())
    roots.extend(SYSTEM_ROOTS)
    return roots


def search_roots(
    data_dir: str | Path | None = None, roots: Sequence[Path] | None = None
) -> list[Path]:
    """``data_dir`` followed by ``roots`` (default: :func:`default_roots`), duplicates dropped."""
    found: list[Path] = []
    head = [Path(data_dir).expanduser()] if data_dir is not None else []
    for root in head + list(default_roots() if roots is None else roots):
        if root not in found:
            found.append(root)
    return found


def check_data_dir(data_dir: str | Path) -> None:
    """A one-line :class:`DataError` unless the explicit ``--data-dir`` is a folder."""
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        why = "is not a folder" if path.exists() else "does not exist"
        raise DataError(f"--data-dir {path} {why}")


def candidate_dirs(source: DatasetSource, root: Path, *, root_itself: bool) -> list[Path]:
    """The folders under ``root`` that may hold ``source``'s files, in search order."""
    dirs = [root / source.name]
    dirs += [root / source.name / layout for layout in source.layouts]
    dirs += [root / layout for layout in source.layouts]
    if root_itself:
        dirs.append(root)
    return dirs


def missing_files(source: DatasetSource, directory: Path) -> list[str]:
    """The names of ``source.files`` that ``directory`` lacks (plain or ``.gz``)."""
    return [name for name in source.files if resolve(directory, name) is None]


def find_dataset(
    source: DatasetSource, data_dir: str | Path | None = None, roots: Sequence[Path] | None = None
) -> Path | None:
    """The first folder holding all of ``source``'s files, or None."""
    for root in search_roots(data_dir, roots):
        explicit = data_dir is not None and root == Path(data_dir).expanduser()
        for directory in candidate_dirs(source, root, root_itself=explicit):
            if directory.is_dir() and not missing_files(source, directory):
                return directory
    return None


def locate_dataset(
    source: DatasetSource, data_dir: str | Path | None = None, roots: Sequence[Path] | None = None
) -> Path:
    """Like :func:`find_dataset`, but a one-line :class:`DataError` when nothing is found."""
    found = find_dataset(source, data_dir, roots)
    if found is not None:
        return found
    raise DataError(not_found_message(source, data_dir, roots))


def not_found_message(
    source: DatasetSource, data_dir: str | Path | None = None, roots: Sequence[Path] | None = None
) -> str:
    """One line: which roots were searched, any partial copy found, how to get the files."""
    searched = search_roots(data_dir, roots)
    subdirs = [f"{d}/" for d in candidate_dirs(source, Path(""), root_itself=False)]
    listed = ", ".join(subdirs[:-1]) + " and " + subdirs[-1] if len(subdirs) > 1 else subdirs[0]
    where = f"looked in {listed} under {', '.join(map(str, searched))}"
    if data_dir is not None:
        where += f" (and {Path(data_dir).expanduser()} itself)"
    incomplete = ""
    for root in searched:
        explicit = data_dir is not None and root == Path(data_dir).expanduser()
        for directory in candidate_dirs(source, root, root_itself=explicit):
            lacking = missing_files(source, directory) if directory.is_dir() else source.files
            if 0 < len(lacking) < len(source.files):
                incomplete = f"; {directory} is incomplete, it lacks {', '.join(lacking)}"
                break
        if incomplete:
            break
    ways = [f"install the Debian package {source.debian_package}"] if source.debian_package else []
    ways += [
        "rerun with --download",
        f"or pass --data-dir DIR with {', '.join(source.files)} (plain or .gz) in DIR",
    ]
    return (
        f"{source.name} data files not found; {where}{incomplete}; to get them: {', '.join(ways)}"
    )

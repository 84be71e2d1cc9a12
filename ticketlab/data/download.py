"""Official downloads, only when asked for (``--download``).

Each file goes to a temporary name in its destination folder, is checked against the
published MD5 and only then renamed into place, so an interrupted or corrupted download
never looks like a data set. Archives are unpacked through a staging folder after every
member is checked to stay inside it.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from ticketlab.data import idx
from ticketlab.data.locate import cache_dir, find_dataset
from ticketlab.data.registry import DATASETS
from ticketlab.errors import ConfigError, DataError

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60.0
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """One published file and its MD5 (hex)."""

    name: str
    md5: str


@dataclass(frozen=True)
class DownloadSpec:
    """Where a data set is published: base URLs tried in order, its files, and whether
    those files are ``.tar.gz`` archives to unpack."""

    mirrors: tuple[str, ...]
    files: tuple[RemoteFile, ...]
    archive: bool = False


def _idx_files(md5s: tuple[str, str, str, str]) -> tuple[RemoteFile, ...]:
    # Published gzipped, in the order of idx.FILES.
    return tuple(RemoteFile(f"{name}.gz", md5) for name, md5 in zip(idx.FILES, md5s, strict=True))


# Module-level so tests can point a data set at a local server or a wrong checksum.
DOWNLOADS: dict[str, DownloadSpec] = {
    "fashion-mnist": DownloadSpec(
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        _idx_files(
            (
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79",
                "bb300cfdad3c16e7a12a480ee83cd310",
            )
        ),
    ),
    "mnist": DownloadSpec(
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        _idx_files(
            (
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3",
                "ec29112dd5afa0611ce80d1b7f02629c",
            )
        ),
    ),
    "cifar10": DownloadSpec(
        ("https://www.cs.toronto.edu/~kriz/",),
        (RemoteFile("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),),
        archive=True,
    ),
    "cifar100": DownloadSpec(
        ("https://www.cs.toronto.edu/~kriz/",),
        (RemoteFile("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85"),),
        archive=True,
    ),
}


def download_roots(data_dir: str | Path | None = None) -> list[Path]:
    """Candidate download roots: ``data_dir``, ``$TICKETLAB_DATA``, the cache dir."""
    roots = [Path(data_dir).expanduser()] if data_dir is not None else []
    if os.environ.get("TICKETLAB_DATA"):
        roots.append(Path(os.environ["TICKETLAB_DATA"]).expanduser())
    roots.append(cache_dir())
    return roots


def writable_root(data_dir: str | Path | None = None) -> Path:
    """The first root of :func:`download_roots` that exists or can be made, and is writable."""
    for root in download_roots(data_dir):
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(root, os.W_OK | os.X_OK):
            return root
    tried = ", ".join(map(str, download_roots(data_dir)))
    raise DataError(f"no writable folder to download into; tried {tried}")


def md5_of(path: Path) -> str:
    """Hex MD5 of a file, read in chunks."""
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(spec: DownloadSpec, remote: RemoteFile, folder: Path) -> Path:
    """Download ``remote`` into ``folder`` from the first mirror that serves it intact."""
    problems = []
    for base in spec.mirrors:
        url = base + remote.name
        problem = _fetch_one(url, remote, folder)
        if problem is None:
            return folder / remote.name
        problems.append(f"{url}: {problem}")
    raise DataError(f"could not download {remote.name}: {'; '.join(problems)}")


def _fetch_one(url: str, remote: RemoteFile, folder: Path) -> str | None:
    """Download ``url`` to ``folder/remote.name``; None on success, else what went wrong."""
    handle, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{remote.name}.", suffix=".part")
    tmp = Path(tmp_name)
    digest = hashlib.md5()
    try:
        log.info("downloading %s", url)
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response,
        ):
            while chunk := response.read(CHUNK_BYTES):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != remote.md5:
            return f"MD5 {digest.hexdigest()} instead of {remote.md5}"
        os.replace(tmp, folder / remote.name)
        return None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        return str(getattr(exc, "reason", None) or exc)
    finally:
        # Also on Ctrl-C: a partial download must not linger (after success it is renamed).
        tmp.unlink(missing_ok=True)


def extract_tar(archive: Path, folder: Path) -> None:
    """Unpack ``archive`` into ``folder``, refusing members that would land outside it."""
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".extract-"))
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                parts = Path(member.name).parts
                if (
                    member.name.startswith(("/", "\\"))
                    or ".." in parts
                    or not (member.isfile() or member.isdir())
                ):
                    raise DataError(f"{archive}: unsafe archive member '{member.name}'")
            # The "data" filter (Python 3.10.12+, 3.11.4+) re-checks paths and drops modes
            # such as setuid; older interpreters rely on the member check above.
            if hasattr(tarfile, "data_filter"):
                tar.extractall(staging, members=members, filter="data")
            else:
                tar.extractall(staging, members=members)  # noqa: S202 (members checked above)
        for child in staging.iterdir():
            destination = folder / child.name
            if destination.is_dir():
                shutil.rmtree(destination)
            os.replace(child, destination)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DataError(f"{archive}: cannot unpack ({exc})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def download_dataset(name: str, data_dir: str | Path | None = None) -> Path:
    """Download ``name`` into ``<root>/<name>/`` of the first writable download root.

    Returns the folder holding the data files (for CIFAR, the unpacked sub-folder).
    Files already there with the right MD5 are kept; a complete copy is not re-fetched.
    """
    source = DATASETS.get(name)
    if name not in DOWNLOADS:
        why = "is generated, not downloaded" if not source.needs_files else "has no known download"
        raise ConfigError(f"{name} {why}")
    spec = DOWNLOADS[name]
    root = writable_root(data_dir)
    present = find_dataset(source, roots=[root])
    if present is not None:
        return present
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for remote in spec.files:
        target = folder / remote.name
        if not (target.is_file() and md5_of(target) == remote.md5):
            fetch(spec, remote, folder)
        if spec.archive:
            extract_tar(target, folder)
            target.unlink()
    present = find_dataset(source, roots=[root])
    if present is None:
        raise DataError(f"{folder}: download finished but {name}'s files are not there")
    return present

"""Reading data files that may or may not be gzipped."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from ticketlab.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"


def resolve(directory: Path, name: str) -> Path | None:
    """``directory/name`` or, failing that, ``directory/name.gz``; None if neither is a file.

    The plain file wins: torchvision's raw/ folders hold both, and it skips a decompression.
    """
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_bytes(path: Path) -> bytes:
    """The contents of ``path``, decompressed when it starts with the gzip magic bytes.

    The magic bytes decide, not the extension: users gunzip files and keep the name, or
    the reverse. A truncated or corrupt gzip stream raises a one-line :class:`DataError`.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except EOFError:
        raise DataError(f"{path}: truncated gzip file") from None
    except (OSError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt gzip file ({exc})") from None

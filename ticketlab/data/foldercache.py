"""Decode a folder data set once: a uint8 ``.npz`` cache under the user cache.

One cache file per folder (``<cache>/folders/<hash of the folder's path>.npz``) holds the
decoded splits and the key they were decoded under: the sorted file list with each
file's size and mtime, and the requested image size. A folder whose listing changed (an
image added, removed, rewritten or touched) gets a new key and is decoded again; an
unchanged one is read back from the cache. An unreadable cache is simply rebuilt.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import torch

from ticketlab.atomic import atomic_write_bytes
from ticketlab.data import folder
from ticketlab.data.locate import cache_dir
from ticketlab.data.source import RawSplits

VERSION = "2"  # bump when decoding rules change (2: mixed grey and colour is an error), so old caches are not reused
ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def listing_key(listing: folder.FolderListing, image_size: tuple[int, int] | None) -> str:
    """SHA-256 of the file list (relative path, size, mtime) and the image size."""
    digest = hashlib.sha256(f"v{VERSION} size={image_size}\n".encode())
    for split, files in (("train", listing.train), ("test", listing.test)):
        for path, label in files:
            stat = path.stat()
            rel = path.relative_to(listing.root)
            digest.update(f"{split}\t{rel}\t{label}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_path(root: Path) -> Path:
    """Where the decoded copy of the folder ``root`` is kept."""
    name = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:20]
    return cache_dir() / "folders" / f"{name}.npz"


def _cached(path: Path, key: str) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if str(archive["key"]) != key:
                return None
            return {name: archive[name] for name in ARRAYS}
    except Exception:  # missing, truncated or foreign: decode again
        return None


def read_folder(root: Path, image_size: tuple[int, int] | None = None) -> RawSplits:
    """The raw splits of the folder data set ``root`` (see :mod:`ticketlab.data.folder`)."""
    listing = folder.list_folder(root)
    key = listing_key(listing, image_size)
    path = cache_path(root)
    arrays = _cached(path, key)
    if arrays is None:
        arrays = dict(zip(ARRAYS, folder.decode_folder(listing, image_size)))
        buffer = io.BytesIO()
        np.savez(buffer, key=np.array(key), **arrays)
        atomic_write_bytes(path, buffer.getvalue())
    return RawSplits(*(torch.from_numpy(arrays[name]) for name in ARRAYS))

"""Data sets larger than memory: uint8 images memory-mapped, normalised batch by batch.

:class:`MappedImages` stands in for a split's float32 tensor ``x``: indexing it with an
int64 index tensor or a slice reads only those rows of the uint8 array and applies the
same elementwise operations as :func:`ticketlab.data.load.normalise` (to float32, /255,
-mean, /std), so a batch is bit for bit the rows of the in-memory tensor.

The uint8 splits are written once as ``.npy`` files under the user cache
(``<cache>/mapped/<key>/``), keyed by what decides the raw images (the data set and its
options, and the source files' sizes and mtimes), and opened with ``mmap_mode="r"``: the
page cache holds them, not the process.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from ticketlab.data.locate import cache_dir
from ticketlab.data.rawfile import resolve
from ticketlab.data.source import DatasetSource, RawSplits

if TYPE_CHECKING:
    from ticketlab.data.config import DataConfig

VERSION = "1"  # bump when the cached layout or decoding rules change
ARRAYS = ("x_train", "y_train", "x_test", "y_test")


class MappedImages:
    """Normalised float32 images (N, C, H, W) read lazily from a uint8 array.

    ``images`` is a uint8 (M, C, H, W) numpy array (usually a memmap); ``rows``, when
    given, selects the N rows of it that this split holds (int64, in order).
    """

    dtype = torch.float32

    def __init__(
        self,
        images: np.ndarray,
        mean: Sequence[float],
        std: Sequence[float],
        device: str | torch.device = "cpu",
        rows: np.ndarray | None = None,
    ) -> None:
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(f"MappedImages needs uint8 (N, C, H, W) images, got {images.dtype} {images.shape}")
        self.images = images
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self._device = torch.device(device)
        self._m = torch.tensor(self.mean, dtype=torch.float32, device=self._device).view(1, -1, 1, 1)
        self._s = torch.tensor(self.std, dtype=torch.float32, device=self._device).view(1, -1, 1, 1)

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def shape(self) -> torch.Size:
        n = self.images.shape[0] if self.rows is None else len(self.rows)
        return torch.Size((n, *self.images.shape[1:]))

    def __len__(self) -> int:
        return self.shape[0]

    def dim(self) -> int:
        return 4

    def __repr__(self) -> str:
        return f"MappedImages(shape={tuple(self.shape)}, device={self._device})"

    def to(self, device: str | torch.device) -> MappedImages:
        """The same images, normalised onto ``device``."""
        return MappedImages(self.images, self.mean, self.std, device, self.rows)

    def _read(self, index: Tensor | slice | int) -> np.ndarray:
        if isinstance(index, int):
            index = slice(index, index + 1) if index != -1 else slice(index, None)
        if isinstance(index, slice):
            if self.rows is None:
                return np.asarray(self.images[index])
            return self.images[self.rows[index]]
        if not isinstance(index, Tensor):
            index = torch.as_tensor(index)
        if index.dtype == torch.bool:
            index = index.nonzero().view(-1)
        picked = index.to("cpu", torch.int64).numpy()
        if self.rows is not None:
            picked = self.rows[picked]
        return self.images[picked]

    def __getitem__(self, index: Tensor | slice | int) -> Tensor:
        """Normalised float32 rows on this device (a new tensor; only they are read)."""
        squeeze = isinstance(index, int)
        pixels = torch.from_numpy(np.ascontiguousarray(self._read(index)))
        x = pixels.to(self._device).to(torch.float32).div_(255.0)
        x = x.sub_(self._m).div_(self._s)
        return x[0] if squeeze else x

    def tensor(self) -> Tensor:
        """Every image as one normalised in-memory tensor (for code that needs it whole)."""
        return self[slice(None)]


def float_bytes(count: int, image_shape: Sequence[int]) -> int:
    """Bytes of ``count`` normalised float32 images of ``image_shape``."""
    return 4 * count * int(np.prod(image_shape))


def cache_key(source: DatasetSource, cfg: DataConfig, location: Path | None) -> str:
    """``<name>-<digest>``: the name (a hash of the data set, its options and location)
    names the cache folder; the digest adds the files' sizes and mtimes."""
    from ticketlab.data.custom import FileSource

    spec = {
        "version": VERSION,
        "dataset": cfg.dataset,
        "image_size": cfg.image_size,
        "synthetic": [cfg.synthetic_shape, cfg.synthetic_classes, cfg.synthetic_train, cfg.synthetic_test]
        if not source.needs_files and not isinstance(source, FileSource)
        else None,
    }
    if source.needs_files or isinstance(source, FileSource):
        spec["location"] = str((source.location or location or Path()).resolve())
    # The folder is named by the data set alone, so a changed file replaces its old copy.
    name = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode())
    if isinstance(source, FileSource) and source.scheme == "folder":
        from ticketlab.data import folder
        from ticketlab.data.foldercache import listing_key

        digest.update(listing_key(folder.list_folder(source.path), source.image_size).encode())
    elif isinstance(source, FileSource):
        stat = source.path.stat()
        digest.update(f"{source.path.resolve()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    elif source.needs_files and location is not None:
        for file in source.files:
            path = resolve(location, file)
            if path is not None:
                stat = path.stat()
                digest.update(f"{path.resolve()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return f"{name}-{digest.hexdigest()}"


def cache_folder(key: str) -> Path:
    """Where the uint8 ``.npy`` copies of the data set of ``key`` are kept."""
    return cache_dir() / "mapped" / key.split("-")[0]


def open_cached(key: str) -> dict[str, np.ndarray] | None:
    """The memory-mapped arrays of ``key`` (labels read in), or None if not cached."""
    folder = cache_folder(key)
    try:
        if (folder / "key").read_text() != key:
            return None
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
        return {n: (np.array(a) if n.startswith("y") else a) for n, a in arrays.items()}
    except Exception:  # missing, truncated or foreign: write again
        return None


def write_cached(key: str, raw: RawSplits) -> dict[str, np.ndarray]:
    """Write ``raw`` under ``key`` (atomically: a temporary folder renamed) and map it."""
    folder = cache_folder(key)
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.parent / f".{folder.name}.{os.getpid()}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    tensors = (raw.train_images, raw.train_labels, raw.test_images, raw.test_labels)
    for name, tensor in zip(ARRAYS, tensors):
        np.save(temporary / f"{name}.npy", tensor.contiguous().numpy())
    (temporary / "key").write_text(key)
    try:
        temporary.rename(folder)  # fails if the folder exists (a non-empty directory)
    except OSError:
        if open_cached(key) is None:  # an older copy of changed files, or broken: replace it
            shutil.rmtree(folder, ignore_errors=True)
            temporary.rename(folder)
        # else another process wrote the same copy first: keep it (and its readers' maps)
    shutil.rmtree(temporary, ignore_errors=True)
    arrays = open_cached(key)
    if arrays is None:
        raise OSError(f"could not write the memory-mapped copy of the data set under {folder}")
    return arrays


def raw_view(arrays: dict[str, np.ndarray]) -> RawSplits:
    """``arrays`` as :class:`RawSplits` without copying (for shape and label checks only)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # read-only memmaps: never written
        return RawSplits(*(torch.from_numpy(arrays[name]) for name in ARRAYS))


"""CIFAR-10/100 "python version" batches, read without running code from the pickle.

The batches are pickled dicts from Python 2 (keys may be bytes), so they load with
``encoding="latin1"``. A restricted unpickler resolves only the few numpy callables
that rebuild arrays; any other global (``os.system``, ``builtins.eval``...) is refused.
"""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ticketlab.data.rawfile import read_bytes, resolve
from ticketlab.data.source import RawSplits
from ticketlab.errors import DataError

CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_FILES = CIFAR10_TRAIN + ("test_batch",)
CIFAR100_FILES = ("train", "test")
PIXELS = 3 * 32 * 32


def _allowed_globals() -> dict[tuple[str, str], Any]:
    # Take the callables from numpy's own reducers so this works on numpy 1 and 2,
    # whose pickles name them under numpy.core and numpy._core respectively.
    reconstruct = np.zeros(1).__reduce__()[0]
    scalar = np.int64(0).__reduce__()[0]
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # Protocol-2 pickles written by Python 3 store bytes as _codecs.encode(str, "latin1").
        ("_codecs", "encode"): codecs.encode,
    }
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{core}.multiarray", "scalar")] = scalar
        allowed[(f"{core}.numeric", "_frombuffer")] = frombuffer
    return allowed


class _Refused(Exception):
    """A pickle asked for a global outside the allow-list."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only plain containers and numpy arrays."""

    ALLOWED = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise _Refused(f"{module}.{name}") from None


def load_pickle(path: Path) -> Any:
    """Unpickle ``path`` (maybe gzipped) with :class:`RestrictedUnpickler`."""
    data = read_bytes(path)
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except _Refused as exc:
        raise DataError(
            f"{path}: refused to unpickle global {exc} (only numpy arrays are allowed)"
        ) from None
    except Exception as exc:  # any malformed byte stream: truncated, wrong opcodes, bad args
        raise DataError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc})") from None


def read_batch(path: Path, label_key: str, num_classes: int) -> tuple[Tensor, Tensor]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64 of one pickled CIFAR batch."""
    batch = load_pickle(path)
    if not isinstance(batch, dict):
        raise DataError(f"{path}: expected a pickled dict, found {type(batch).__name__}")
    entries = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    for key in ("data", label_key):
        if key not in entries:
            raise DataError(f"{path}: no '{key}' entry (keys: {', '.join(map(str, entries))})")
    data = entries["data"]
    if not isinstance(data, np.ndarray):
        raise DataError(f"{path}: 'data' is a {type(data).__name__}, expected a numpy array")
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        found = f"{data.dtype} {data.shape}"
        raise DataError(f"{path}: 'data' is {found}, expected uint8 (N, {PIXELS})")
    try:
        labels = np.array(entries[label_key], dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"{path}: '{label_key}' is not a list of integers") from None
    if labels.shape != (data.shape[0],):
        raise DataError(f"{path}: {labels.size} labels in '{label_key}' for {data.shape[0]} images")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise DataError(f"{path}: '{label_key}' has labels outside 0..{num_classes - 1}")
    # Rows are channel-major (1024 red, 1024 green, 1024 blue), each row-major 32x32.
    images = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())
    return images, torch.from_numpy(labels)


def _read_batches(
    directory: Path, names: tuple[str, ...], label_key: str, num_classes: int
) -> tuple[Tensor, Tensor]:
    images, labels = [], []
    for name in names:
        path = resolve(directory, name)
        if path is None:
            raise DataError(f"{directory}: missing {name}")
        x, y = read_batch(path, label_key, num_classes)
        images.append(x)
        labels.append(y)
    return torch.cat(images), torch.cat(labels)


def read_cifar10(directory: Path) -> RawSplits:
    """CIFAR-10 from ``cifar-10-batches-py``: data_batch_1..5 and test_batch."""
    train = _read_batches(directory, CIFAR10_TRAIN, "labels", 10)
    test = _read_batches(directory, ("test_batch",), "labels", 10)
    return RawSplits(*train, *test)


def read_cifar100(directory: Path) -> RawSplits:
    """CIFAR-100 from ``cifar-100-python``: train and test, with the 100 fine labels."""
    train = _read_batches(directory, ("train",), "fine_labels", 100)
    test = _read_batches(directory, ("test",), "fine_labels", 100)
    return RawSplits(*train, *test)

"""IDX files (MNIST, Fashion-MNIST), gzipped or not.

Format: two zero bytes, a dtype byte (0x08 = uint8), a byte with the number of dims,
then one big-endian uint32 per dim and the row-major payload.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ticketlab.data.rawfile import read_bytes, resolve
from ticketlab.data.source import RawSplits
from ticketlab.errors import DataError

UINT8 = 0x08
LABELS_MAGIC = 0x801  # uint8, 1 dim
IMAGES_MAGIC = 0x803  # uint8, 3 dims

# (images, labels) file names of each split, as published.
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FILES = tuple(name for pair in SPLIT_FILES.values() for name in pair)


def read_idx(path: Path, magic: int) -> np.ndarray:
    """The uint8 array stored in the IDX file ``path``, whose magic number must be ``magic``."""
    data = read_bytes(path)
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < 4:
        raise DataError(f"{path}: too short for an IDX file ({len(data)} bytes)")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        if data[:2] == b"\0\0" and data[2] != UINT8:
            raise DataError(f"{path}: IDX dtype byte is 0x{data[2]:02x}, expected 0x08 (uint8)")
        raise DataError(f"{path}: bad IDX magic number 0x{found:08x}, expected 0x{magic:08x}")
    if len(data) < header:
        raise DataError(f"{path}: IDX header cut short ({len(data)} bytes)")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64))
    if len(data) - header != expected:
        raise DataError(
            f"{path}: IDX payload is {len(data) - header} bytes, dims {dims} need {expected}"
        )
    # frombuffer is zero-copy; the reshape below is a view, so decoding is O(1) Python work.
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def read_images(path: Path) -> Tensor:
    """Images of an idx3 file as a uint8 tensor (N, 1, H, W)."""
    array = read_idx(path, IMAGES_MAGIC)
    return torch.from_numpy(array.copy()).unsqueeze(1)


def read_labels(path: Path, num_classes: int) -> Tensor:
    """Labels of an idx1 file as an int64 tensor (N,), each in 0..num_classes-1."""
    array = read_idx(path, LABELS_MAGIC)
    if array.size and int(array.max()) >= num_classes:
        raise DataError(f"{path}: label {int(array.max())} out of range 0..{num_classes - 1}")
    return torch.from_numpy(array.astype(np.int64))


def read_split(directory: Path, split: str, num_classes: int) -> tuple[Tensor, Tensor]:
    """Images and labels of ``split`` ("train" or "test") from ``directory``."""
    paths = []
    for name in SPLIT_FILES[split]:
        path = resolve(directory, name)
        if path is None:
            raise DataError(f"{directory}: missing {name} (or {name}.gz)")
        paths.append(path)
    images = read_images(paths[0])
    labels = read_labels(paths[1], num_classes)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{paths[1]}: {labels.shape[0]} labels for {images.shape[0]} images in {paths[0].name}"
        )
    return images, labels


def read_idx_dataset(directory: Path, num_classes: int = 10) -> RawSplits:
    """Both splits of an MNIST-style data set stored as four IDX files in ``directory``."""
    train_images, train_labels = read_split(directory, "train", num_classes)
    test_images, test_labels = read_split(directory, "test", num_classes)
    return RawSplits(train_images, train_labels, test_images, test_labels)

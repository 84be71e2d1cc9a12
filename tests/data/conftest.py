"""Hermetic data tests: no machine data roots, and writers for tiny data files."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

from ticketlab.data import locate

IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@pytest.fixture(autouse=True)
def isolated_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Search no real data folder: no $TICKETLAB_DATA, a private cache, no system roots."""
    monkeypatch.delenv("TICKETLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setattr(locate, "SYSTEM_ROOTS", ())


class DataFiles:
    """Writers of tiny data files, reached through the ``files`` fixture (so test modules
    need not import each other, whatever pytest's import mode)."""

    @staticmethod
    def idx_bytes(array: np.ndarray, dtype_byte: int = 0x08) -> bytes:
        """An IDX file holding ``array`` (uint8)."""
        header = bytes([0, 0, dtype_byte, array.ndim])
        header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
        return header + array.astype(np.uint8).tobytes()

    @staticmethod
    def write(path: Path, data: bytes, gz: bool = False) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    @staticmethod
    def images(n: int, shape: tuple[int, ...], salt: int = 0) -> np.ndarray:
        """Deterministic random uint8 images."""
        return np.random.default_rng(salt).integers(0, 256, size=(n, *shape), dtype=np.uint8)

    @staticmethod
    def labels(n: int, num_classes: int = 10) -> np.ndarray:
        return (np.arange(n) % num_classes).astype(np.uint8)

    def idx_dataset(
        self, directory: Path, n_train: int = 40, n_test: int = 20, gz: bool = True
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Four IDX files (28x28, 10 balanced classes); returns (images, labels) per split."""
        out = {}
        for salt, (split, n) in enumerate((("train", n_train), ("test", n_test))):
            images, labels = self.images(n, (28, 28), salt), self.labels(n)
            names = IDX_NAMES[split]
            suffix = ".gz" if gz else ""
            self.write(directory / f"{names[0]}{suffix}", self.idx_bytes(images), gz)
            self.write(directory / f"{names[1]}{suffix}", self.idx_bytes(labels), gz)
            out[split] = (images, labels)
        return out

    def cifar_batch(
        self, n: int, label_key: str, num_classes: int, salt: int, bytes_keys: bool
    ) -> dict:
        labels = [int(v) for v in (np.arange(n) * 7 + salt) % num_classes]
        batch = {"data": self.images(n, (3072,), salt), label_key: labels, "batch_label": "tiny"}
        if bytes_keys:  # as in the real Python 2 pickles
            return {k.encode(): v for k, v in batch.items()}
        return batch

    def cifar(
        self, directory: Path, kind: str = "cifar10", per_batch: int = 4
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """A tiny CIFAR-10/-100 folder; returns (images (N,3,32,32), labels) per split.

        Batches alternate str/bytes keys and pickle protocols 4/2.
        """
        directory.mkdir(parents=True, exist_ok=True)
        if kind == "cifar10":
            files = {f"data_batch_{i}": "train" for i in range(1, 6)} | {"test_batch": "test"}
            key, classes = "labels", 10
        else:
            files = {"train": "train", "test": "test"}
            key, classes = "fine_labels", 100
        parts: dict[str, list] = {"train": [], "test": []}
        for salt, (name, split) in enumerate(files.items()):
            batch = self.cifar_batch(per_batch, key, classes, salt, bytes_keys=salt % 2 == 0)
            with (directory / name).open("wb") as handle:
                pickle.dump(batch, handle, protocol=2 if salt % 2 else 4)
            entries = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
            parts[split].append((entries["data"].reshape(-1, 3, 32, 32), np.array(entries[key])))
        return {
            split: (np.concatenate([p[0] for p in ps]), np.concatenate([p[1] for p in ps]))
            for split, ps in parts.items()
        }


@pytest.fixture
def files() -> DataFiles:
    return DataFiles()

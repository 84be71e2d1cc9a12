"""CIFAR reader: torchvision-layout batches, and pickles that must be refused."""

from __future__ import annotations

import builtins
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from ticketlab.data import cifar
from ticketlab.errors import DataError

if TYPE_CHECKING:  # the fixture's type only; test modules never import conftest
    from conftest import DataFiles


def dump(path: Path, obj: object, protocol: int = 4) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


def one_line_error(excinfo: pytest.ExceptionInfo, path: Path, *words: str) -> None:
    text = str(excinfo.value)
    assert "\n" not in text and str(path) in text
    for word in words:
        assert word in text, text


@pytest.mark.parametrize("kind", ["cifar10", "cifar100"])
def test_reads_tiny_batches(files: DataFiles, tmp_path: Path, kind: str) -> None:
    folder = tmp_path / ("cifar-10-batches-py" if kind == "cifar10" else "cifar-100-python")
    written = files.cifar(folder, kind, per_batch=3)
    raw = cifar.read_cifar10(folder) if kind == "cifar10" else cifar.read_cifar100(folder)
    assert raw.train_images.shape == ((15 if kind == "cifar10" else 3), 3, 32, 32)
    assert np.array_equal(raw.train_images.numpy(), written["train"][0])
    assert np.array_equal(raw.test_images.numpy(), written["test"][0])
    assert raw.train_labels.tolist() == written["train"][1].tolist()


def test_pixel_layout_is_channel_major(tmp_path: Path) -> None:
    data = np.zeros((1, 3072), np.uint8)
    data[0, 1024 + 32 * 2 + 5] = 200  # green channel, row 2, column 5
    path = dump(tmp_path / "b", {"data": data, "labels": [3]})
    images, labels = cifar.read_batch(path, "labels", 10)
    assert images[0, 1, 2, 5] == 200 and int(images.sum()) == 200
    assert labels.tolist() == [3]


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_numpy_pickles_of_every_protocol(files: DataFiles, tmp_path: Path, protocol: int) -> None:
    data = files.images(2, (3072,))
    labels = np.array([4, 2])  # labels may also be an array
    path = dump(tmp_path / "b", {"data": data, "labels": labels}, protocol)
    images, got = cifar.read_batch(path, "labels", 10)
    assert np.array_equal(images.numpy().reshape(2, -1), data) and got.tolist() == [4, 2]


def test_gzipped_batch_is_read(files: DataFiles, tmp_path: Path) -> None:
    payload = pickle.dumps({"data": files.images(2, (3072,)), "labels": [0, 1]})
    path = files.write(tmp_path / "test_batch", payload, gz=True)
    images, _ = cifar.read_batch(path, "labels", 10)
    assert images.shape == (2, 3, 32, 32)


class Evil:
    """Unpickling this would create ``marker`` by calling ``open``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (builtins.open, (str(self.marker), "w"))


class EvilSystem:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("evil", [Evil, EvilSystem])
@pytest.mark.parametrize("protocol", [2, 4])
def test_malicious_reduce_is_refused_not_run(tmp_path: Path, evil: type, protocol: int) -> None:
    marker = tmp_path / "pwned"
    path = dump(tmp_path / "data_batch_1", {"data": evil(marker), "labels": [0]}, protocol)
    with pytest.raises(DataError) as excinfo:
        cifar.read_batch(path, "labels", 10)
    one_line_error(excinfo, path, "refused")
    assert not marker.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"not a pickle at all", pickle.dumps({"data": 1})[:-3]],
    ids=["empty", "text", "truncated"],
)
def test_not_a_pickle(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "test_batch"
    path.write_bytes(content)
    with pytest.raises(DataError) as excinfo:
        cifar.read_batch(path, "labels", 10)
    one_line_error(excinfo, path, "not a readable pickle")


GOOD = np.zeros((2, 3072), np.uint8)


@pytest.mark.parametrize(
    ("obj", "words"),
    [
        ([1, 2], ["expected a pickled dict"]),
        ({"labels": [0, 1]}, ["no 'data' entry"]),
        ({"data": GOOD}, ["no 'labels' entry"]),
        ({"data": [[0] * 3072], "labels": [0]}, ["'data' is a list"]),
        ({"data": GOOD[:, :100], "labels": [0, 1]}, ["expected uint8 (N, 3072)"]),
        ({"data": GOOD.astype(np.float32), "labels": [0, 1]}, ["float32"]),
        ({"data": GOOD, "labels": [0]}, ["1 labels", "for 2 images"]),
        ({"data": GOOD, "labels": [0, 10]}, ["outside 0..9"]),
        ({"data": GOOD, "labels": [0, -1]}, ["outside 0..9"]),
        ({"data": GOOD, "labels": ["a", None]}, ["not a list of integers"]),
    ],
)
def test_wrong_contents(tmp_path: Path, obj: object, words: list[str]) -> None:
    path = dump(tmp_path / "data_batch_1", obj)
    with pytest.raises(DataError) as excinfo:
        cifar.read_batch(path, "labels", 10)
    one_line_error(excinfo, path, *words)


def test_cifar100_uses_fine_labels(tmp_path: Path) -> None:
    batch = {b"data": GOOD, b"coarse_labels": [0, 1], b"fine_labels": [99, 42]}
    path = dump(tmp_path / "train", batch)
    _, labels = cifar.read_batch(path, "fine_labels", 100)
    assert labels.tolist() == [99, 42]


def test_missing_batch(files: DataFiles, tmp_path: Path) -> None:
    files.cifar(tmp_path, "cifar10")
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(DataError, match="missing data_batch_3"):
        cifar.read_cifar10(tmp_path)

"""IDX reader: valid files gzipped or not, and one-line errors for every kind of damage."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch

from ticketlab.data import idx
from ticketlab.data.rawfile import read_bytes
from ticketlab.errors import DataError

if TYPE_CHECKING:  # the fixture's type only; test modules never import conftest
    from conftest import DataFiles


def one_line_error(excinfo: pytest.ExceptionInfo, path: Path, *words: str) -> None:
    text = str(excinfo.value)
    assert "\n" not in text
    assert str(path) in text
    for word in words:
        assert word in text, text


@pytest.mark.parametrize("gz", [True, False])
def test_reads_images_and_labels(files: DataFiles, tmp_path: Path, gz: bool) -> None:
    images = files.images(5, (4, 3), 0)
    labels = files.labels(5, 10)
    img = files.write(tmp_path / "img", files.idx_bytes(images), gz)
    lab = files.write(tmp_path / "lab", files.idx_bytes(labels), gz)
    got = idx.read_images(img)
    assert got.dtype == torch.uint8 and got.shape == (5, 1, 4, 3)
    assert np.array_equal(got[:, 0].numpy(), images)
    got_labels = idx.read_labels(lab, 10)
    assert got_labels.dtype == torch.int64
    assert got_labels.tolist() == labels.tolist()


def test_gzip_is_detected_by_magic_bytes_not_extension(files: DataFiles, tmp_path: Path) -> None:
    payload = files.idx_bytes(files.labels(3, 10))
    gz_without_suffix = files.write(tmp_path / "labels", payload, gz=True)
    raw_with_suffix = files.write(tmp_path / "labels.gz", payload, gz=False)
    assert read_bytes(gz_without_suffix) == payload
    assert read_bytes(raw_with_suffix) == payload


def test_truncated_gzip(files: DataFiles, tmp_path: Path) -> None:
    whole = gzip.compress(files.idx_bytes(files.images(4, (5, 5), 1)))
    path = tmp_path / "img.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError) as excinfo:
        idx.read_images(path)
    one_line_error(excinfo, path, "truncated gzip")


def test_corrupt_gzip(files: DataFiles, tmp_path: Path) -> None:
    whole = bytearray(gzip.compress(files.idx_bytes(files.images(4, (5, 5), 1))))
    whole[-6] ^= 0xFF  # damage the CRC
    path = tmp_path / "img.gz"
    path.write_bytes(bytes(whole))
    with pytest.raises(DataError) as excinfo:
        idx.read_images(path)
    one_line_error(excinfo, path, "gzip")


@pytest.mark.parametrize("gz", [True, False])
def test_wrong_magic(files: DataFiles, tmp_path: Path, gz: bool) -> None:
    path = files.write(tmp_path / "labels", files.idx_bytes(files.labels(4, 10)), gz)
    with pytest.raises(DataError) as excinfo:
        idx.read_images(path)  # a labels file (0x801) where images (0x803) are expected
    one_line_error(excinfo, path, "magic", "0x00000801")


def test_wrong_dtype_byte(files: DataFiles, tmp_path: Path) -> None:
    data = files.idx_bytes(files.images(2, (3, 3), 0), dtype_byte=0x0D)
    path = files.write(tmp_path / "img", data)
    with pytest.raises(DataError) as excinfo:
        idx.read_images(path)
    one_line_error(excinfo, path, "dtype", "0x0d")


@pytest.mark.parametrize("delta", [-1, 1])
@pytest.mark.parametrize("gz", [True, False])
def test_wrong_payload_length(files: DataFiles, tmp_path: Path, delta: int, gz: bool) -> None:
    data = files.idx_bytes(files.images(3, (4, 4), 0))
    data = data[:delta] if delta < 0 else data + b"\0"
    path = files.write(tmp_path / "img", data, gz)
    with pytest.raises(DataError) as excinfo:
        idx.read_images(path)
    one_line_error(excinfo, path, "payload", "48")


@pytest.mark.parametrize("data", [b"", b"\0\0\x08", b"\0\0\x08\x03\0\0\0\x02"])
def test_header_cut_short(files: DataFiles, tmp_path: Path, data: bytes) -> None:
    path = files.write(tmp_path / "img", data, gz=False)
    with pytest.raises(DataError) as excinfo:
        idx.read_images(path)
    one_line_error(excinfo, path)


def test_label_out_of_range(files: DataFiles, tmp_path: Path) -> None:
    path = files.write(tmp_path / "lab", files.idx_bytes(np.array([0, 3, 10], np.uint8)), gz=True)
    with pytest.raises(DataError) as excinfo:
        idx.read_labels(path, 10)
    one_line_error(excinfo, path, "label 10 out of range")


def test_count_mismatch(tmp_path: Path, files: DataFiles) -> None:
    files.idx_dataset(tmp_path, n_train=10, n_test=5, gz=False)
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    files.write(labels, files.idx_bytes(files.labels(6, 10)), gz=False)
    with pytest.raises(DataError) as excinfo:
        idx.read_idx_dataset(tmp_path)
    one_line_error(excinfo, labels, "6 labels for 5 images")


def test_reads_a_whole_dataset_plain_or_gz(tmp_path: Path, files: DataFiles) -> None:
    written = files.idx_dataset(tmp_path / "gz", gz=True)
    files.idx_dataset(tmp_path / "plain", gz=False)
    for folder in ("gz", "plain"):
        raw = idx.read_idx_dataset(tmp_path / folder)
        assert raw.train_images.shape == (40, 1, 28, 28)
        assert np.array_equal(raw.test_images[:, 0].numpy(), written["test"][0])
        assert raw.train_labels.tolist() == written["train"][1].tolist()


def test_missing_file_in_folder(tmp_path: Path, files: DataFiles) -> None:
    files.idx_dataset(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing train-labels-idx1-ubyte"):
        idx.read_idx_dataset(tmp_path)

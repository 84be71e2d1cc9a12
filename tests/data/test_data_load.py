"""load_data end to end: tiny files in a temporary root, and the real Fashion-MNIST."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch

from ticketlab.data import DATASETS, DataConfig, dataset_status, load_data
from ticketlab.errors import DataError

if TYPE_CHECKING:  # the fixture's type only; test modules never import conftest
    from conftest import DataFiles

REAL_FASHION = Path("/usr/share/datasets/fashion-mnist")


def test_idx_dataset_is_normalised_with_standard_constants(
    files: DataFiles, tmp_path: Path
) -> None:
    written = files.idx_dataset(tmp_path / "root/FashionMNIST/raw", n_train=50, n_test=20)
    bundle = load_data(DataConfig(), roots=[tmp_path / "root"])
    assert bundle.info.location == tmp_path / "root/FashionMNIST/raw"
    assert (bundle.info.name, bundle.info.image_shape, bundle.info.num_classes) == (
        "fashion-mnist",
        (1, 28, 28),
        10,
    )
    expected = (torch.from_numpy(written["test"][0]).float() / 255 - 0.2860) / 0.3530
    assert torch.allclose(bundle.test.x[:, 0], expected, atol=1e-6)
    assert bundle.test.x.dtype == torch.float32 and bundle.test.y.dtype == torch.int64
    assert bundle.val is None and torch.equal(bundle.train_indices, torch.arange(50))


def test_val_and_subset_come_from_the_training_split(files: DataFiles, tmp_path: Path) -> None:
    written = files.idx_dataset(tmp_path / "mnist", n_train=100, n_test=30, gz=False)
    cfg = DataConfig(dataset="mnist", val=20, per_class=3, subset_seed=9)
    bundle = load_data(cfg, data_dir=str(tmp_path), roots=[])
    assert len(bundle.train) == 30 and len(bundle.val) == 20 and len(bundle.test) == 30
    assert torch.bincount(bundle.train.y, minlength=10).tolist() == [3] * 10
    assert torch.bincount(bundle.val.y, minlength=10).tolist() == [2] * 10
    assert not set(bundle.train_indices.tolist()) & set(bundle.val_indices.tolist())
    train_images = torch.from_numpy(written["train"][0])
    raw_val = (train_images[bundle.val_indices].float() / 255 - 0.1307) / 0.3081
    assert torch.allclose(bundle.val.x[:, 0], raw_val, atol=1e-6)
    again = load_data(cfg, data_dir=str(tmp_path), roots=[])
    assert torch.equal(again.train_indices, bundle.train_indices)


@pytest.mark.parametrize(
    ("name", "folder", "n_train"),
    [("cifar10", "cifar-10-batches-py", 15), ("cifar100", "cifar-100-python", 3)],
)
def test_cifar_in_torchvision_layout(
    files: DataFiles, tmp_path: Path, name: str, folder: str, n_train: int
) -> None:
    written = files.cifar(tmp_path / folder, name, per_batch=3)
    bundle = load_data(DataConfig(dataset=name), roots=[tmp_path])
    assert bundle.info.image_shape == (3, 32, 32)
    assert bundle.info.num_classes == DATASETS.get(name).num_classes
    assert len(bundle.train) == n_train and len(bundle.test) == 3
    mean = torch.tensor(DATASETS.get(name).mean).view(1, 3, 1, 1)
    std = torch.tensor(DATASETS.get(name).std).view(1, 3, 1, 1)
    expected = (torch.from_numpy(written["train"][0]).float() / 255 - mean) / std
    assert torch.allclose(bundle.train.x, expected, atol=1e-5)
    assert bundle.train.pad_value.shape == (3,)


def test_wrong_image_size_is_a_data_error(files: DataFiles, tmp_path: Path) -> None:
    folder = tmp_path / "fashion-mnist"
    files.idx_dataset(folder)
    small = files.images(40, (8, 8))
    files.write(folder / "train-images-idx3-ubyte.gz", files.idx_bytes(small), gz=True)
    with pytest.raises(DataError, match="expected uint8 \\(N, 1, 28, 28\\)"):
        load_data(DataConfig(), roots=[tmp_path])


def test_missing_data_lists_where_it_looked(tmp_path: Path) -> None:
    (tmp_path / "nowhere").mkdir()  # an explicit --data-dir must exist (see test_data_custom_errors)
    with pytest.raises(DataError) as excinfo:
        load_data(DataConfig(), data_dir=str(tmp_path / "nowhere"), roots=[tmp_path / "r"])
    text = str(excinfo.value)
    assert "\n" not in text and str(tmp_path / "nowhere") in text and str(tmp_path / "r") in text


def test_dataset_status(files: DataFiles, tmp_path: Path) -> None:
    assert dataset_status("cifar10", roots=[tmp_path]) is None
    files.cifar(tmp_path / "cifar10/cifar-10-batches-py")
    assert dataset_status("cifar10", roots=[tmp_path]) == tmp_path / "cifar10/cifar-10-batches-py"


@pytest.mark.skipif(not REAL_FASHION.is_dir(), reason="Debian package dataset-fashion-mnist absent")
def test_real_fashion_mnist() -> None:
    start = time.perf_counter()
    bundle = load_data(DataConfig(), roots=[REAL_FASHION.parent])
    seconds = time.perf_counter() - start
    assert bundle.info.location == REAL_FASHION
    assert bundle.train.x.shape == (60000, 1, 28, 28) and bundle.test.x.shape == (10000, 1, 28, 28)
    assert torch.bincount(bundle.train.y).tolist() == [6000] * 10
    assert torch.bincount(bundle.test.y).tolist() == [1000] * 10
    assert abs(bundle.train.x.mean().item()) < 0.01
    assert abs(bundle.train.x.std().item() - 1) < 0.01
    assert seconds < 5, seconds  # decoding alone takes well under 2 s; slack for busy machines
    assert np.isfinite(bundle.test.x.numpy()).all()

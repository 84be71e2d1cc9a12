"""``--dataset folder:PATH`` end to end on real Fashion-MNIST written out as PNG files.

A class-stratified subset of the installed IDX files (the first 300 training and 100 test
images of each class) is written as an image folder; the folder data set must give back
exactly the IDX pixels and labels, numpy's statistics of those pixels, and a model trained
on it must score the same on the folder's test split as on the same IDX test images.
Skipped only when the Fashion-MNIST files are absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ticketlab.data import DATASETS, DataConfig, TensorSplit, dataset_status, load_data, locate
from ticketlab.data import folder as folder_module
from ticketlab.data.foldercache import cache_path, read_folder
from ticketlab.data.load import read_raw
from ticketlab.models.config import ModelConfig
from ticketlab.runs import TrainRunConfig, run_train
from ticketlab.training import TrainConfig
from ticketlab.training.evaluate import evaluate

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(dataset_status("fashion-mnist") is None, reason="Fashion-MNIST files not installed"),
]

TRAIN_PER_CLASS, TEST_PER_CLASS = 300, 100


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder decode cache (``$XDG_CACHE_HOME/ticketlab``) goes under tmp_path, never home."""
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("TICKETLAB_DATA", raising=False)
    assert locate.cache_dir() == cache / "ticketlab"
    return cache


def first_per_class(labels: np.ndarray, n: int) -> np.ndarray:
    """Indices of the first ``n`` examples of each class, by class then original order."""
    return np.concatenate([np.flatnonzero(labels == k)[:n] for k in range(10)])


def write_folder(split_dir: Path, images: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> None:
    """images[i] (1, 28, 28) as split_dir/<class, 2 digits>/<i, 5 digits>.png (grey)."""
    for i in indices:
        folder = split_dir / f"{labels[i]:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[i, 0]).save(folder / f"{i:05d}.png")  # 2-D uint8: grey (mode L)


def oracle_normalised(images: np.ndarray, mean: float, std: float) -> np.ndarray:
    """float32 (x / 255 - mean) / std, computed in numpy."""
    return (images.astype(np.float32) / np.float32(255.0) - np.float32(mean)) / np.float32(std)


def test_folder_of_fashion_mnist_pngs_matches_the_idx_files(tmp_path: Path, private_cache: Path) -> None:
    raw, _ = read_raw(DATASETS.get("fashion-mnist"))
    x_train, y_train = raw.train_images.numpy(), raw.train_labels.numpy()
    x_test, y_test = raw.test_images.numpy(), raw.test_labels.numpy()
    assert x_train.dtype == np.uint8 and x_train.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    train_idx, test_idx = first_per_class(y_train, TRAIN_PER_CLASS), first_per_class(y_test, TEST_PER_CLASS)
    assert len(train_idx) == 3000 and len(test_idx) == 1000

    root = tmp_path / "fashion-folder"
    write_folder(root / "train", x_train, y_train, train_idx)
    write_folder(root / "test", x_test, y_test, test_idx)

    # (1) The decoded pixels are the IDX pixels, example by example, matched by file name.
    listing = folder_module.list_folder(root)
    assert listing.classes == tuple(f"{k:02d}" for k in range(10))
    decoded = read_folder(root)
    assert cache_path(root).is_file() and cache_path(root).is_relative_to(private_cache)
    for files, images, labels, originals, original_labels in (
        (listing.train, decoded.train_images, decoded.train_labels, x_train, y_train),
        (listing.test, decoded.test_images, decoded.test_labels, x_test, y_test),
    ):
        assert images.dtype == torch.uint8 and tuple(images.shape[1:]) == (1, 28, 28)
        assert len(files) == images.shape[0] == labels.shape[0]
        for row, (path, label) in enumerate(files):
            i = int(path.stem)
            assert label == int(labels[row]) == int(original_labels[i]) == int(path.parent.name), path
            assert np.array_equal(images[row].numpy(), originals[i]), f"{path}: pixels differ from IDX image {i}"
    # File names sort as the original indices, so rows follow train_idx / test_idx.
    assert [int(p.stem) for p, _ in listing.train] == train_idx.tolist()
    assert [int(p.stem) for p, _ in listing.test] == test_idx.tolist()
    sub_train, sub_test = x_train[train_idx], x_test[test_idx]

    # (2) The folder bundle's normalisation is numpy's mean/std of the 3000 training images.
    bundle = load_data(DataConfig(dataset=f"folder:{root}"))
    pixels = sub_train.astype(np.float64) / 255.0
    mean, std = float(pixels.mean()), float(pixels.std())
    assert bundle.info.image_shape == (1, 28, 28) and bundle.info.num_classes == 10
    assert len(bundle.info.mean) == len(bundle.info.std) == 1
    assert bundle.info.mean[0] == pytest.approx(mean, rel=1e-9, abs=1e-9)
    assert bundle.info.std[0] == pytest.approx(std, rel=1e-9, abs=1e-9)
    # ...and every split is those pixels, normalised by them (the training split in its drawn order).
    rows = bundle.train_indices.numpy()
    assert sorted(rows.tolist()) == list(range(3000))
    mean, std = bundle.info.mean[0], bundle.info.std[0]
    np.testing.assert_array_equal(bundle.train.x.numpy(), oracle_normalised(sub_train[rows], mean, std))
    np.testing.assert_array_equal(bundle.train.y.numpy(), y_train[train_idx][rows])
    np.testing.assert_array_equal(bundle.test.x.numpy(), oracle_normalised(sub_test, mean, std))
    np.testing.assert_array_equal(bundle.test.y.numpy(), y_test[test_idx])

    # (3) A model trained on the folder scores the same on the folder test split and on
    # the same IDX test images normalised with the same mean/std.
    config = TrainRunConfig(
        data=DataConfig(dataset=f"folder:{root}"),
        model=ModelConfig(model="lenet300", width=0.25),
        train=TrainConfig(duration="1ep", batch_size=64),
    )
    result = run_train(config, runs_dir=tmp_path / "runs")
    model = config.build(bundle.info)
    state = torch.load(Path(result.run_dir) / "model_final.pt", weights_only=True)["state"]["model"]
    model.load_state_dict(state)
    builtin_test = TensorSplit(
        torch.from_numpy(oracle_normalised(sub_test, mean, std)),
        torch.from_numpy(y_test[test_idx].astype(np.int64)),
        torch.tensor([-mean / std], dtype=torch.float32),
    )
    folder_loss, folder_accuracy = evaluate(model, bundle.test)
    builtin_loss, builtin_accuracy = evaluate(model, builtin_test)
    with torch.no_grad():
        model.eval()
        plain_accuracy = float((model(builtin_test.x).argmax(dim=1) == builtin_test.y).double().mean())
    assert result.test_accuracy == pytest.approx(folder_accuracy, abs=1e-6)
    assert folder_accuracy == pytest.approx(builtin_accuracy, abs=1e-6)
    assert folder_accuracy == pytest.approx(plain_accuracy, abs=1e-6)
    assert folder_loss == pytest.approx(builtin_loss, rel=1e-9)
    assert folder_accuracy > 0.6, "one epoch on 3000 Fashion-MNIST images should learn something"

"""``--dataset npz:FILE``: layouts, dtypes, labels, normalisation, training and errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from ticketlab.data import DataConfig, load_data
from ticketlab.errors import DataError

TINY = ["--model", "lenet300", "--width", "0.1", "--epochs", "1", "--device", "cpu", "--quiet"]


def oracle(train_nchw_uint8: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Normalised ``images`` with per-channel mean/std of the training pixels, by numpy."""
    pixels = train_nchw_uint8.astype(np.float64) / 255.0
    mean = pixels.mean(axis=(0, 2, 3)).reshape(1, -1, 1, 1)
    std = pixels.std(axis=(0, 2, 3)).reshape(1, -1, 1, 1)
    return (images.astype(np.float64) / 255.0 - mean) / std


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def test_uint8_nhwc(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (30, 5, 6, 3), dtype=np.uint8)  # NHWC: last axis 3, second 5
    x_test = rng.integers(0, 256, (8, 5, 6, 3), dtype=np.uint8)
    y_train, y_test = np.arange(30) % 4, np.array([0, 1, 2, 3, 3, 2, 1, 0], dtype=np.int32)
    path = write_npz(tmp_path / "d.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    bundle = load_data(DataConfig(dataset=f"npz:{path}"))
    assert bundle.info.image_shape == (3, 5, 6) and bundle.info.num_classes == 4
    assert bundle.info.location == path and bundle.info.name == f"npz:{path}"
    train_nchw = x_train.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(bundle.train.x.numpy(), oracle(train_nchw, train_nchw), atol=1e-5)
    np.testing.assert_allclose(bundle.test.x.numpy(), oracle(train_nchw, x_test.transpose(0, 3, 1, 2)), atol=1e-5)
    assert bundle.train.y.tolist() == y_train.tolist() and bundle.test.y.tolist() == y_test.tolist()
    expected_mean = (train_nchw / 255.0).mean(axis=(0, 2, 3))
    np.testing.assert_allclose(bundle.info.mean, expected_mean, rtol=1e-9)


def test_float_nchw_and_grey_2d(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    levels = rng.integers(0, 256, (20, 3, 4, 4))  # NCHW: second axis 3 -> channels-first
    x_train = (levels / 255.0).astype(np.float32)
    path = write_npz(tmp_path / "f.npz", x_train=x_train, y_train=np.arange(20) % 2,
                     x_test=x_train[:4], y_test=np.array([1, 0, 1, 0]))
    bundle = load_data(DataConfig(dataset=f"npz:{path}"))
    assert bundle.info.image_shape == (3, 4, 4) and bundle.info.num_classes == 2
    np.testing.assert_allclose(bundle.train.x.numpy(), oracle(levels, levels), atol=1e-5)
    grey = rng.integers(0, 256, (12, 7, 9), dtype=np.uint8)
    path = write_npz(tmp_path / "g.npz", x_train=grey, y_train=np.arange(12) % 3, x_test=grey[:3], y_test=np.zeros(3, int))
    bundle = load_data(DataConfig(dataset=f"npz:{path}"))
    assert bundle.info.image_shape == (1, 7, 9) and bundle.info.num_classes == 3


def test_training_through_the_cli(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8)
    path = write_npz(tmp_path / "d.npz", x_train=x, y_train=np.arange(40) % 3, x_test=x[:9], y_test=np.arange(9) % 3)
    result = cli("train", "--dataset", f"npz:{path}", *TINY, "--runs-dir", str(tmp_path / "runs"), "--json")
    assert result.code == 0, result.err
    assert 0.0 <= json.loads(result.out)["test_accuracy"] <= 1.0
    (run,) = (tmp_path / "runs").iterdir()
    assert f"npz:{path}" in (run / "config.json").read_text()


GOOD = {
    "x_train": np.zeros((6, 4, 4), np.uint8), "y_train": np.array([0, 1, 2, 0, 1, 2]),
    "x_test": np.zeros((2, 4, 4), np.uint8), "y_test": np.array([0, 1]),
}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"y_test": None}, "missing array\\(s\\) y_test"),
        ({"y_train": np.array([0, 1, -1, 0, 1, 2])}, "y_train has a negative label"),
        ({"y_train": np.array([0, 1, 2, 0, 1, 2.5])}, "y_train is float64, expected integer labels"),
        ({"y_train": np.array([0, 1, 2])}, "y_train has shape \\(3,\\), expected \\(6,\\)"),
        ({"y_test": np.array([0, 3])}, "y_test has label 3, outside the training labels 0..2"),
        ({"y_train": np.zeros(6, int)}, "one class only"),
        ({"x_test": np.zeros((2, 5, 4), np.uint8)}, "x_train images are 1x4x4 \\(CxHxW\\) but x_test images are 1x5x4"),
        ({"x_train": np.full((6, 4, 4), 1.5)}, "outside \\[0, 1\\]"),
        ({"x_train": np.zeros((6, 4, 4), np.int64)}, "x_train is int64, expected uint8"),
        ({"x_train": np.zeros((6, 16), np.uint8)}, "x_train has shape \\(6, 16\\)"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path: Path, change: dict, message: str) -> None:
    arrays = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    path = write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message) as excinfo:
        load_data(DataConfig(dataset=f"npz:{path}"))
    assert str(path) in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_not_an_npz_and_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(DataError, match="not a readable .npz file"):
        load_data(DataConfig(dataset=f"npz:{tmp_path / 'text.npz'}"))
    with pytest.raises(DataError, match="no such file"):
        load_data(DataConfig(dataset=f"npz:{tmp_path / 'none.npz'}"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset", "npz:NOWHERE"], "nowhere: no such file"),
        (["--dataset", "nope"], "unknown dataset 'nope'"),
        (["--dataset", "zip:x"], "unknown kind 'zip:'"),
        (["--dataset", "npz:"], "no path after 'npz:'"),
        (["--dataset", "synthetic", "--image-size", "8x8"], "--image-size only applies to --dataset folder:PATH"),
        (["--dataset", "synthetic", "--data-dir", "NOWHERE"], "--data-dir .*nowhere does not exist"),
    ],
)
def test_cli_errors_exit_2_with_one_line(cli, tmp_path: Path, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    args = [a.replace("NOWHERE", str(tmp_path / "nowhere")) for a in args]
    result = cli("train", *args, *TINY, "--runs-dir", str(tmp_path / "runs"))
    assert result.code == 2
    line = result.err.strip()
    assert "\n" not in line
    assert re.search(message, line), line
    assert not (tmp_path / "runs").exists()


def test_effective_reads_the_shape_of_an_npz_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``ticketlab effective RUN_DIR`` learns an npz set's shape and classes from the file."""
    from ticketlab.cli.main import main

    rng = np.random.default_rng(3)
    path = write_npz(tmp_path / "set.npz", x_train=rng.integers(0, 256, (40, 5, 5, 3), dtype=np.uint8),
                     y_train=np.arange(40) % 4, x_test=rng.integers(0, 256, (8, 5, 5, 3), dtype=np.uint8),
                     y_test=np.arange(8) % 4)
    args = ["prune", "--dataset", f"npz:{path}", "--method", "random", "--sparsity", "0.5", "--epochs", "0",
            "--model", "lenet300", "--width", "0.1", "--device", "cpu", "--quiet", "--json",
            "--runs-dir", str(tmp_path / "runs")]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert main(["effective", result["run_dir"], "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # fc1 reads 3 * 5 * 5 = 75 inputs; the run's own effective count is the oracle of the shape read back.
    assert report["layers"][0]["shape"] == [30, 75]
    assert report["effective_kept"] == result["effective_kept"] and report["kept"] == result["kept"]

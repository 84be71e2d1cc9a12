"""Where data sets are looked for: roots, their order, other tools' layouts, the message."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketlab.data import DATASETS, dataset_status, locate
from ticketlab.data.locate import find_dataset, locate_dataset, search_roots
from ticketlab.errors import DataError

FASHION = DATASETS.get("fashion-mnist")
IDX = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def touch(folder: Path, names: tuple[str, ...], suffix: str = "") -> Path:
    """Empty stand-ins: locating checks presence only, reading is tested elsewhere."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}{suffix}").write_bytes(b"")
    return folder


CIFAR10 = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


@pytest.mark.parametrize(
    ("name", "relative", "names", "suffix"),
    [
        ("fashion-mnist", "fashion-mnist", IDX, ".gz"),
        ("fashion-mnist", "FashionMNIST/raw", IDX, ".gz"),
        ("fashion-mnist", "FashionMNIST/raw", IDX, ""),
        ("fashion-mnist", "fashion-mnist/FashionMNIST/raw", IDX, ".gz"),
        ("mnist", "MNIST/raw", IDX, ""),
        ("mnist", "mnist", IDX, ".gz"),
        ("cifar10", "cifar-10-batches-py", CIFAR10, ""),
        ("cifar10", "cifar10/cifar-10-batches-py", CIFAR10, ""),
        ("cifar10", "cifar10", CIFAR10, ""),
        ("cifar100", "cifar-100-python", ("train", "test"), ""),
        ("cifar100", "cifar100/cifar-100-python", ("train", "test"), ""),
    ],
)
def test_layouts_under_a_root(
    tmp_path: Path, name: str, relative: str, names: tuple[str, ...], suffix: str
) -> None:
    folder = touch(tmp_path / relative, names, suffix)
    assert find_dataset(DATASETS.get(name), roots=[tmp_path]) == folder


def test_other_datasets_layouts_are_not_taken(tmp_path: Path) -> None:
    touch(tmp_path / "MNIST/raw", IDX, ".gz")
    assert find_dataset(FASHION, roots=[tmp_path]) is None
    assert find_dataset(DATASETS.get("mnist"), roots=[tmp_path]) == tmp_path / "MNIST/raw"


def test_root_itself_only_when_it_is_the_explicit_data_dir(tmp_path: Path) -> None:
    touch(tmp_path, IDX, ".gz")
    assert find_dataset(FASHION, roots=[tmp_path]) is None  # ambiguous: mnist or fashion?
    assert find_dataset(FASHION, data_dir=tmp_path, roots=[]) == tmp_path


def test_incomplete_folder_is_skipped(tmp_path: Path) -> None:
    touch(tmp_path / "a/fashion-mnist", IDX[:3], ".gz")
    complete = touch(tmp_path / "b/fashion-mnist", IDX, ".gz")
    assert find_dataset(FASHION, roots=[tmp_path / "a", tmp_path / "b"]) == complete


def test_search_order_data_dir_then_env_then_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit, env, xdg = tmp_path / "explicit", tmp_path / "env", tmp_path / "xdg"
    monkeypatch.setenv("TICKETLAB_DATA", str(env))
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    system = touch(tmp_path / "system/fashion-mnist", IDX, ".gz")
    monkeypatch.setattr(locate, "SYSTEM_ROOTS", (tmp_path / "system",))
    cache = touch(xdg / "ticketlab/fashion-mnist", IDX, ".gz")
    from_env = touch(env / "fashion-mnist", IDX, ".gz")
    from_arg = touch(explicit / "fashion-mnist", IDX, ".gz")
    assert search_roots(explicit) == [explicit, env, xdg / "ticketlab", tmp_path / "system"]
    for expected in (from_arg, from_env, cache, system):
        assert find_dataset(FASHION, data_dir=explicit) == expected
        assert dataset_status("fashion-mnist", data_dir=explicit) == expected
        for name in IDX:
            (expected / f"{name}.gz").unlink()
    assert find_dataset(FASHION, data_dir=explicit) is None


def test_cache_defaults_to_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert locate.cache_dir() == tmp_path / ".cache/ticketlab"


def test_roots_argument_replaces_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETLAB_DATA", str(tmp_path / "env"))
    touch(tmp_path / "env/fashion-mnist", IDX, ".gz")
    assert find_dataset(FASHION, roots=[]) is None
    assert search_roots(tmp_path / "x", roots=[tmp_path / "y"]) == [tmp_path / "x", tmp_path / "y"]


def test_missing_message_is_one_line_and_lists_roots(tmp_path: Path) -> None:
    roots = [tmp_path / "first", tmp_path / "second"]
    with pytest.raises(DataError) as excinfo:
        locate_dataset(FASHION, data_dir=tmp_path / "mine", roots=roots)
    text = str(excinfo.value)
    assert "\n" not in text
    for expected in (
        *map(str, roots),
        str(tmp_path / "mine"),
        "FashionMNIST/raw/",
        "dataset-fashion-mnist",
        "--download",
        "--data-dir",
    ):
        assert expected in text, text


def test_missing_message_names_an_incomplete_copy(tmp_path: Path) -> None:
    touch(tmp_path / "FashionMNIST/raw", IDX[1:], ".gz")
    with pytest.raises(DataError) as excinfo:
        locate_dataset(FASHION, roots=[tmp_path])
    text = str(excinfo.value)
    assert f"{tmp_path / 'FashionMNIST/raw'} is incomplete" in text
    assert "train-images-idx3-ubyte" in text


def test_no_debian_hint_for_cifar(tmp_path: Path) -> None:
    with pytest.raises(DataError) as excinfo:
        locate_dataset(DATASETS.get("cifar10"), roots=[tmp_path])
    assert "Debian" not in str(excinfo.value) and "cifar-10-batches-py/" in str(excinfo.value)


def test_synthetic_needs_no_files() -> None:
    assert not DATASETS.get("synthetic").needs_files
    assert dataset_status("synthetic") is None

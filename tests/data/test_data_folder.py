"""``--dataset folder:PATH``: decoding, grey/RGB, --image-size, the decode cache, errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ticketlab.data import DataConfig, load_data
from ticketlab.data import folder as folder_module
from ticketlab.errors import ConfigError, DataError

TINY = ["--model", "lenet300", "--width", "0.1", "--epochs", "1", "--device", "cpu", "--quiet"]
CLASSES = ("cat", "dog", "emu")


def write_set(root: Path, per_class: dict[str, int], *, shape: tuple[int, ...] = (5, 6), seed: int = 0,
              ext: str = ".png") -> dict[str, list[np.ndarray]]:
    """Random images under root/<split>/<class>/NN<ext>; returns the pixels per split, in file order."""
    rng = np.random.default_rng(seed)
    written: dict[str, list[np.ndarray]] = {}
    for split, n in per_class.items():
        written[split] = []
        for name in CLASSES:
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                pixels = rng.integers(0, 256, shape, dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{i:02d}{ext}")
                written[split].append(pixels)
    return written


def as_nchw(images: list[np.ndarray]) -> np.ndarray:
    stacked = np.stack(images)
    return stacked[:, None] if stacked.ndim == 3 else stacked.transpose(0, 3, 1, 2)


def normalised(train: np.ndarray, images: np.ndarray) -> np.ndarray:
    pixels = train.astype(np.float64) / 255.0
    mean = pixels.mean(axis=(0, 2, 3)).reshape(1, -1, 1, 1)
    std = pixels.std(axis=(0, 2, 3)).reshape(1, -1, 1, 1)
    return (images / 255.0 - mean) / std


def test_grey_png_pixels_labels_and_stats(tmp_path: Path) -> None:
    written = write_set(tmp_path / "set", {"train": 4, "test": 2})
    (tmp_path / "set/train/cat/notes.txt").write_text("ignored")
    bundle = load_data(DataConfig(dataset=f"folder:{tmp_path / 'set'}"))
    assert bundle.info.image_shape == (1, 5, 6) and bundle.info.num_classes == 3
    train, test = as_nchw(written["train"]), as_nchw(written["test"])
    np.testing.assert_allclose(bundle.train.x.numpy(), normalised(train, train), atol=1e-5)
    np.testing.assert_allclose(bundle.test.x.numpy(), normalised(train, test), atol=1e-5)
    assert bundle.train.y.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert bundle.test.y.tolist() == [0, 0, 1, 1, 2, 2]
    np.testing.assert_allclose(bundle.info.std, (train / 255.0).std(), rtol=1e-9)


def test_rgb_png_with_val_split_and_mixed_modes(tmp_path: Path) -> None:
    written = write_set(tmp_path / "set", {"train": 3, "val": 1}, shape=(4, 4, 3))
    bundle = load_data(DataConfig(dataset=f"folder:{tmp_path / 'set'}"))
    assert bundle.info.image_shape == (3, 4, 4) and len(bundle.test) == 3
    train = as_nchw(written["train"])
    np.testing.assert_allclose(bundle.train.x.numpy(), normalised(train, train), atol=1e-5)
    # One grey image among colour ones: mixed channel counts, a one-line error naming both kinds.
    Image.fromarray(np.full((4, 4), 77, np.uint8)).save(tmp_path / "set/train/dog/zz.png")
    with pytest.raises(DataError, match=r"images mix channel counts: .*zz\.png is grey, .* is colour \(RGB\)") as caught:
        load_data(DataConfig(dataset=f"folder:{tmp_path / 'set'}"))
    assert len(str(caught.value).splitlines()) == 1


def test_jpeg_and_resizing(tmp_path: Path) -> None:
    root = tmp_path / "set"
    write_set(root, {"train": 2, "test": 1}, shape=(8, 8, 3), ext=".JPG")
    # A constant colour survives JPEG (nearly) and resizing (exactly): an oracle for both.
    Image.fromarray(np.full((12, 10, 3), (200, 40, 90), np.uint8)).save(root / "train/emu/big.jpeg", quality=100)
    with pytest.raises(DataError, match=r"images differ in size: .*00.JPG is 8x8, .*big.jpeg is 12x10 \(HxW\)"):
        load_data(DataConfig(dataset=f"folder:{root}"))
    bundle = load_data(DataConfig(dataset=f"folder:{root}", image_size="6x7"))
    assert bundle.info.image_shape == (3, 6, 7) and len(bundle.train) == 7
    mean, std = np.array(bundle.info.mean), np.array(bundle.info.std)
    big = bundle.train.x[-1].numpy() * std.reshape(3, 1, 1) + mean.reshape(3, 1, 1)
    np.testing.assert_allclose(big * 255.0, np.broadcast_to(np.array([200, 40, 90]).reshape(3, 1, 1), (3, 6, 7)),
                               atol=2.0)


def test_training_through_the_cli(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_set(tmp_path / "set", {"train": 5, "test": 2}, shape=(6, 6))
    result = cli("train", "--dataset", f"folder:{tmp_path / 'set'}", "--image-size", "8x8", *TINY,
                 "--runs-dir", str(tmp_path / "runs"), "--json")
    assert result.code == 0, result.err
    assert 0.0 <= json.loads(result.out)["test_accuracy"] <= 1.0


def test_decoding_happens_once_until_the_folder_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "set"
    write_set(root, {"train": 2, "test": 1})
    calls: list[Path] = []
    decode = folder_module.decode_image

    def counting(path: Path, mode: str, size: tuple[int, int] | None) -> np.ndarray:
        calls.append(path)
        return decode(path, mode, size)

    monkeypatch.setattr(folder_module, "decode_image", counting)
    cfg = DataConfig(dataset=f"folder:{root}")
    first = load_data(cfg)
    assert len(calls) == 9
    again = load_data(cfg)
    assert len(calls) == 9 and bool((again.train.x == first.train.x).all())  # from the cache
    touched = root / "train/cat/00.png"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    load_data(cfg)
    assert len(calls) == 18  # a changed mtime: decoded again
    load_data(DataConfig(dataset=f"folder:{root}", image_size="4x4"))
    assert len(calls) == 27  # another size: decoded again
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(root / "test/dog/new.png")
    bundle = load_data(cfg)
    assert len(calls) == 37 and len(bundle.test) == 4  # a new file: decoded again


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: [p.unlink() for p in (r / "train/dog").iterdir()], r"train/dog: empty class folder"),
        (lambda r: (r / "train/cat/00.png").write_bytes((r / "train/cat/00.png").read_bytes()[:60]),
         r"train/cat/00.png: not a readable image"),
        (lambda r: (r / "train/cat/01.png").write_bytes(b"not a png at all"), r"train/cat/01.png: not a readable image"),
        (lambda r: (r / "test/emu").rename(r / "test/eel"),
         r"train/ and test/ classes differ: only in train/: emu; only in test/: eel"),
        (lambda r: [os.rename(r / s / c, r / s / ".hidden" / c) for s in ("train", "test") for c in ("dog", "emu")
                    if (r / s / ".hidden").mkdir(exist_ok=True) is None],
         r"train: a data set needs at least two class folders, found only cat"),
        (lambda r: (r / "test").rename(r / "other"), r"no test/ or val/ folder"),
    ],
)
def test_bad_folders_are_one_line_errors(tmp_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "set"
    write_set(root, {"train": 2, "test": 1})
    damage(root)
    with pytest.raises(DataError, match=message) as excinfo:
        load_data(DataConfig(dataset=f"folder:{root}"))
    assert "\n" not in str(excinfo.value)


def test_errors_through_the_cli(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = cli("train", "--dataset", f"folder:{tmp_path / 'none'}", *TINY, "--runs-dir", str(tmp_path / "runs"))
    assert missing.code == 2 and missing.err.strip().endswith("none: no such folder")
    bad_size = cli("train", "--dataset", f"folder:{tmp_path}", "--image-size", "8", *TINY)
    assert bad_size.code == 2 and "--image-size must look like 32x32" in bad_size.err
    with pytest.raises(ConfigError, match="only applies to --dataset folder"):
        DataConfig(dataset="mnist", image_size="8x8")

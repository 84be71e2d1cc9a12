"""A data set as a folder of images: ``PATH/train/<class>/*.png`` and ``PATH/test/<class>/...``.

Rules:

- the test split is ``test/``, else ``val/``; classes are the sub-folders of ``train/``
  (hidden ones skipped), sorted by name, and ``test/`` must have the same ones;
- images are the files ending in .png, .jpg, .jpeg, .bmp, .gif or .webp (any case),
  sorted by name within a class; other files are ignored;
- images are decoded with Pillow to uint8: one grey channel when every image is mode 1,
  L or LA, three when every image is colour (alpha dropped); a set that mixes grey and
  colour images is an error naming one of each (convert them to one kind first);
- every image must have the same size, unless ``image_size`` (H, W) is given: then each
  is resized to it (bilinear), images already of that size are kept as they are.

Each problem (an empty class folder, an unreadable or truncated image, a single class,
train and test classes that differ, two sizes, grey and colour images mixed) is a one-line :class:`DataError` naming
the file or folder. Decoding results are cached (:mod:`ticketlab.data.foldercache`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ticketlab.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
GREY_MODES = ("1", "L", "LA")


@dataclass(frozen=True)
class FolderListing:
    """The classes of a folder data set and its image files with their labels."""

    root: Path
    classes: tuple[str, ...]
    train: tuple[tuple[Path, int], ...]
    test: tuple[tuple[Path, int], ...]


def class_folders(split: Path) -> dict[str, list[Path]]:
    """Class name -> its image files (sorted); an empty class folder is an error."""
    classes: dict[str, list[Path]] = {}
    for folder in sorted(p for p in split.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)
        if not images:
            raise DataError(f"{folder}: empty class folder (no {', '.join(EXTENSIONS)} files)")
        classes[folder.name] = images
    return classes


def list_folder(root: Path) -> FolderListing:
    """Check the layout of ``root`` and list its images (nothing is decoded)."""
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    if not (root / "train").is_dir():
        raise DataError(f"{root}: no train/ folder (expected train/<class>/ and test/<class>/)")
    test_dir = root / "test" if (root / "test").is_dir() else root / "val"
    if not test_dir.is_dir():
        raise DataError(f"{root}: no test/ or val/ folder (expected train/<class>/ and test/<class>/)")
    train, test = class_folders(root / "train"), class_folders(test_dir)
    if len(train) < 2:
        found = f"only {', '.join(train)}" if train else "none"
        raise DataError(f"{root / 'train'}: a data set needs at least two class folders, found {found}")
    if list(train) != list(test):
        only_train = sorted(set(train) - set(test)) or ["-"]
        only_test = sorted(set(test) - set(train)) or ["-"]
        raise DataError(
            f"{root}: train/ and {test_dir.name}/ classes differ: only in train/: {', '.join(only_train)}; "
            f"only in {test_dir.name}/: {', '.join(only_test)}"
        )
    classes = tuple(train)

    def labelled(split: dict[str, list[Path]]) -> tuple[tuple[Path, int], ...]:
        return tuple((path, k) for k, name in enumerate(classes) for path in split[name])

    return FolderListing(root, classes, labelled(train), labelled(test))


def _fail(path: Path, exc: BaseException) -> DataError:
    why = " ".join(str(exc).split()) or type(exc).__name__
    return DataError(f"{path}: not a readable image ({why})")


def image_header(path: Path) -> tuple[str, tuple[int, int]]:
    """(Pillow mode, (height, width)) of ``path``, read from its header only."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.mode, (image.height, image.width)
    except Exception as exc:  # PIL raises many types on malformed files
        raise _fail(path, exc) from None


def decode_image(path: Path, mode: str, size: tuple[int, int] | None) -> np.ndarray:
    """uint8 (H, W, C) pixels of ``path`` in ``mode`` ("L" or "RGB"), resized to ``size`` (H, W)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()  # a truncated or corrupt file raises here
            converted = image.convert(mode)
    except Exception as exc:  # PIL raises many types on malformed files
        raise _fail(path, exc) from None
    if size is not None and (converted.height, converted.width) != size:
        converted = converted.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    pixels = np.asarray(converted, dtype=np.uint8)
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


def channel_mode(root: Path, files: list[tuple[Path, int]], headers: list[tuple[str, tuple[int, int]]]) -> str:
    """"L" when every image is grey, "RGB" when every one is colour; a DataError when they mix."""
    grey = next((path for (path, _), (m, _) in zip(files, headers) if m in GREY_MODES), None)
    colour = next(((path, m) for (path, _), (m, _) in zip(files, headers) if m not in GREY_MODES), None)
    if grey is not None and colour is not None:
        raise DataError(f"{root}: images mix channel counts: {grey} is grey, {colour[0]} is colour ({colour[1]}); "
                        "convert them to one kind")
    return "L" if colour is None else "RGB"


def decode_folder(
    listing: FolderListing, image_size: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """uint8 NCHW train images, int64 labels, test images, labels of ``listing``."""
    files = listing.train + listing.test
    headers = [image_header(path) for path, _ in files]
    mode = channel_mode(listing.root, files, headers)
    size = image_size
    if size is None:
        size = headers[0][1]
        for (path, _), (_, other) in zip(files, headers):
            if other != size:
                raise DataError(
                    f"{listing.root}: images differ in size: {files[0][0]} is {size[0]}x{size[1]}, {path} is "
                    f"{other[0]}x{other[1]} (HxW); pass --image-size HxW to resize them"
                )
    channels = 1 if mode == "L" else 3
    images = np.empty((len(files), channels, *size), dtype=np.uint8)
    for i, (path, _) in enumerate(files):
        images[i] = decode_image(path, mode, size).transpose(2, 0, 1)
    labels = np.array([k for _, k in files], dtype=np.int64)
    n = len(listing.train)
    return images[:n], labels[:n], images[n:], labels[n:]

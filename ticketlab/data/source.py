"""What a data set is: its constants, the files it needs and how its raw splits load."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ticketlab.errors import DataError

if TYPE_CHECKING:
    from ticketlab.data.config import DataConfig


@dataclass(frozen=True)
class RawSplits:
    """A data set as read from disk: uint8 images (N, C, H, W) and int64 labels (N,)."""

    train_images: Tensor
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor

    def check(self, where: str, image_shape: tuple[int, int, int], num_classes: int) -> None:
        """Raise a one-line :class:`DataError` unless shapes, dtypes and labels fit."""
        for split in ("train", "test"):
            images: Tensor = getattr(self, f"{split}_images")
            labels: Tensor = getattr(self, f"{split}_labels")
            if images.dtype != torch.uint8 or tuple(images.shape[1:]) != image_shape:
                raise DataError(
                    f"{where}: {split} images are {images.dtype} {tuple(images.shape)}, "
                    f"expected uint8 (N, {', '.join(map(str, image_shape))})"
                )
            if labels.dtype != torch.int64 or labels.shape != (images.shape[0],):
                raise DataError(
                    f"{where}: {split} labels are {labels.dtype} {tuple(labels.shape)}, "
                    f"expected int64 ({images.shape[0]},)"
                )
            if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
                raise DataError(f"{where}: {split} labels fall outside 0..{num_classes - 1}")


Reader = Callable[[Path], RawSplits]


@dataclass(frozen=True)
class DatasetSource:
    """A registered data set.

    ``files`` are the names a folder must hold (each may also be gzipped, ``name.gz``);
    ``layouts`` are the sub-folders of a data root that other tools use for it (e.g.
    torchvision's ``FashionMNIST/raw``), searched besides ``<root>/<name>/``.
    ``mean``/``std`` are per-channel constants in [0, 1] pixel units; None means they are
    computed from the training split (synthetic data).
    """

    name: str
    description: str
    image_shape: tuple[int, int, int]
    num_classes: int
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    files: tuple[str, ...] = ()
    layouts: tuple[str, ...] = ()
    reader: Reader | None = None
    debian_package: str | None = None

    @property
    def needs_files(self) -> bool:
        """False for generated data sets, which are never searched for or downloaded."""
        return bool(self.files)

    def for_config(self, cfg: DataConfig) -> DatasetSource:
        """This source as configured by ``cfg`` (only synthetic data has options)."""
        return self

    @property
    def location(self) -> Path | None:
        """The file or folder of a source that names its own (``npz:``/``folder:``), else None."""
        return None

    def fitted(self, raw: RawSplits) -> DatasetSource:
        """This source with the shape and class count of ``raw`` (only the user's own data
        learns them from its files; registered sources know them beforehand)."""
        return self

    def load(self, directory: Path | None) -> RawSplits:
        """Read the raw splits from ``directory`` (as found by :mod:`ticketlab.data.locate`)."""
        if self.reader is None or directory is None:
            raise DataError(f"{self.name}: no folder to read the data from")
        raw = self.reader(directory)
        raw.check(str(directory), self.image_shape, self.num_classes)
        return raw

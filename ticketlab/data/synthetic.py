"""A generated, learnable data set of any image shape and class count.

Each class has a smooth prototype image (random low-resolution values upsampled
bilinearly); an example is its class prototype under a random contrast and offset, plus
a smooth random field and pixel noise, stored as uint8 like real data. Pixel noise alone
averages out over many pixels (large images would be trivially separable); the smooth
field lives at the prototypes' own resolution, so it keeps the task from saturating:
a linear model reaches roughly 75-85% on 1x28x28 with 10 classes (chance: 10%).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from ticketlab.data.config import parse_shape
from ticketlab.data.source import DatasetSource, RawSplits
from ticketlab.seeding import generator

if TYPE_CHECKING:
    from ticketlab.data.config import DataConfig

NOISE_STD = 0.35  # in [0, 1] pixel units; prototypes span roughly [0.1, 0.9]
FIELD_STD = 0.25  # amplitude of the per-example smooth field, same units
PROTOTYPE_GRID = 4  # low-resolution grid side before upsampling: smooth blobs, not noise


def smooth(grid: Tensor, height: int, width: int) -> Tensor:
    """Bilinear upsampling of (N, C, g, g) values to (N, C, height, width)."""
    return F.interpolate(grid, size=(height, width), mode="bilinear", align_corners=True)


def prototypes(shape: tuple[int, int, int], num_classes: int, seed: int) -> Tensor:
    """Class prototypes (K, C, H, W) in [0.1, 0.9]; a pure function of the arguments."""
    channels, height, width = shape
    g = generator(seed, "synthetic-prototypes", "x".join(map(str, shape)), num_classes)
    grid = torch.rand(num_classes, channels, PROTOTYPE_GRID, PROTOTYPE_GRID, generator=g)
    return 0.1 + 0.8 * smooth(grid, height, width)


def sample(protos: Tensor, size: int, seed: int, split: str) -> tuple[Tensor, Tensor]:
    """``size`` uint8 images (N, C, H, W) and int64 labels, classes as balanced as possible."""
    g = generator(seed, "synthetic", split, size)
    num_classes, channels, height, width = protos.shape
    # Balanced, then shuffled: per-class subsets of up to size // K always exist.
    labels = (torch.arange(size) % num_classes)[torch.randperm(size, generator=g)]
    contrast = 0.6 + 0.8 * torch.rand(size, 1, 1, 1, generator=g)
    offset = 0.2 * (torch.rand(size, 1, 1, 1, generator=g) - 0.5)
    grid = torch.randn(size, channels, PROTOTYPE_GRID, PROTOTYPE_GRID, generator=g)
    field = FIELD_STD * smooth(grid, height, width)
    noise = NOISE_STD * torch.randn((size, channels, height, width), generator=g)
    images = 0.5 + contrast * (protos[labels] - 0.5) + offset + field + noise
    pixels = (images.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)
    return pixels, labels


def make_synthetic(
    shape: tuple[int, int, int], num_classes: int, train_size: int, test_size: int, seed: int = 0
) -> RawSplits:
    """Train and test splits sharing one set of prototypes; same arguments, same data."""
    protos = prototypes(shape, num_classes, seed)
    train = sample(protos, train_size, seed, "train")
    test = sample(protos, test_size, seed, "test")
    return RawSplits(*train, *test)


@dataclass(frozen=True)
class SyntheticSource(DatasetSource):
    """A :class:`DatasetSource` that generates its data; mean/std come from its train split.

    ``seed`` is fixed (not --seed or --subset-seed), so the data set is one fixed set per
    shape, class count and sizes, like a real one; subsets are then drawn from it.
    """

    train_size: int = 2000
    test_size: int = 500
    seed: int = 0

    def for_config(self, cfg: DataConfig) -> DatasetSource:
        return dataclasses.replace(
            self,
            image_shape=parse_shape(cfg.synthetic_shape),
            num_classes=cfg.synthetic_classes,
            train_size=cfg.synthetic_train,
            test_size=cfg.synthetic_test,
        )

    def load(self, directory: Path | None) -> RawSplits:
        raw = make_synthetic(
            self.image_shape, self.num_classes, self.train_size, self.test_size, self.seed
        )
        raw.check("synthetic", self.image_shape, self.num_classes)
        return raw

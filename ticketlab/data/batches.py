"""In-memory splits and their batches: index tensors only, no per-sample Python work.

Augmentation runs after normalisation, on whole batches. Crop padding therefore uses
each split's ``pad_value`` (the normalised value of raw pixel 0, ``-mean/std``), which
makes it exactly zero padding in pixel space.

Every random draw comes from a generator named by (seed, purpose, epoch[, batch]), so
the batches of an epoch are a pure function of (seed, epoch) and skipping batches to
resume mid-epoch leaves the remaining ones unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ticketlab.data.config import AUGMENTATIONS
from ticketlab.data.mapped import MappedImages
from ticketlab.seeding import generator

Batch = tuple[Tensor, Tensor]


@dataclass(frozen=True)
class TensorSplit:
    """Normalised float32 images ``x`` (N, C, H, W) and int64 labels ``y`` (N,), on one device.

    ``x`` is a tensor, or for a data set larger than the memory budget a
    :class:`MappedImages` that normalises the rows it is indexed with (an index tensor or
    a slice) on the fly. ``pad_value`` (C,) is what a raw 0 pixel becomes after normalisation.
    """

    x: Tensor | MappedImages
    y: Tensor
    pad_value: Tensor

    def __len__(self) -> int:
        return self.x.shape[0]

    def to(self, device: str | torch.device) -> TensorSplit:
        """This split on ``device``."""
        return TensorSplit(self.x.to(device), self.y.to(device), self.pad_value.to(device))


@dataclass(frozen=True)
class DatasetInfo:
    """What a model and a run record need to know about the data.

    ``mean``/``std`` are the per-channel normalisation constants in [0, 1] pixel units;
    ``location`` is the folder read from (None for generated data).
    """

    name: str
    image_shape: tuple[int, int, int]
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    location: Path | None = None


@dataclass(frozen=True)
class DataBundle:
    """Train, optional validation and test splits of one data set.

    ``train_indices``/``val_indices`` index the raw training split, for the record.
    """

    train: TensorSplit
    val: TensorSplit | None
    test: TensorSplit
    info: DatasetInfo
    train_indices: Tensor
    val_indices: Tensor | None = None


def num_batches(n: int, batch_size: int) -> int:
    """Batches per epoch over ``n`` examples, the last partial batch included."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return -(-n // batch_size)


def epoch_order(n: int, seed: int, epoch: int) -> Tensor:
    """The permutation of ``range(n)`` used in ``epoch`` (CPU, int64)."""
    return torch.randperm(n, generator=generator(seed, "order", epoch))


def flip(x: Tensor, coins: Tensor) -> Tensor:
    """Mirror left-right the images of ``x`` (B, C, H, W) whose ``coins`` (B,) are True."""
    return torch.where(coins.view(-1, 1, 1, 1), x.flip(3), x)


def crop(x: Tensor, offsets: Tensor, padding: int, pad_value: Tensor) -> Tensor:
    """Per-image crops of ``x`` (B, C, H, W) padded by ``padding`` on every side.

    ``offsets`` (B, 2) holds (top, left) in 0..2*padding within the padded image, so
    (padding, padding) returns the image unchanged. ``pad_value`` (C,) fills the border.
    """
    b, c, h, w = x.shape
    fill = pad_value.to(x.dtype).view(1, c, 1, 1)
    padded = fill.expand(b, c, h + 2 * padding, w + 2 * padding).clone()
    padded[:, :, padding : padding + h, padding : padding + w] = x
    offsets = offsets.to(x.device)
    rows = offsets[:, 0:1] + torch.arange(h, device=x.device)  # (B, H)
    cols = offsets[:, 1:2] + torch.arange(w, device=x.device)  # (B, W)
    batch = torch.arange(b, device=x.device).view(b, 1, 1, 1)
    channel = torch.arange(c, device=x.device).view(1, c, 1, 1)
    return padded[batch, channel, rows.view(b, 1, h, 1), cols.view(b, 1, 1, w)]


def augment_batch(
    x: Tensor,
    pad_value: Tensor,
    augment: str,
    crop_padding: int,
    *,
    seed: int,
    epoch: int,
    batch: int,
) -> Tensor:
    """Apply ``augment`` ("none", "flip", "crop", "crop+flip") to one batch.

    Crop offsets are drawn before flip coins, both from ``generator(seed, "augment",
    epoch, batch)``.
    """
    if augment == "none":
        return x
    g = generator(seed, "augment", epoch, batch)
    if "crop" in augment and crop_padding > 0:
        offsets = torch.randint(0, 2 * crop_padding + 1, (x.shape[0], 2), generator=g)
        x = crop(x, offsets, crop_padding, pad_value)
    if "flip" in augment:
        coins = torch.rand(x.shape[0], generator=g) < 0.5
        x = flip(x, coins.to(x.device))
    return x


def train_batches(
    split: TensorSplit,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    augment: str = "none",
    crop_padding: int = 4,
    start_batch: int = 0,
) -> Iterator[Batch]:
    """Shuffled (and augmented) batches of one epoch, starting at batch ``start_batch``.

    The order is :func:`epoch_order` (seed, epoch); the last batch may be smaller.
    """
    if augment not in AUGMENTATIONS:
        raise ValueError(f"augment must be one of {', '.join(AUGMENTATIONS)}, got '{augment}'")
    if crop_padding < 0:
        raise ValueError(f"crop_padding must be 0 or more, got {crop_padding}")
    total = num_batches(len(split), batch_size)
    if not 0 <= start_batch <= total:
        raise ValueError(f"start_batch must be in 0..{total}, got {start_batch}")
    # Checked here, not on the first next(): a bad resume point fails where it is passed.
    return _epoch(split, batch_size, seed, epoch, augment, crop_padding, start_batch, total)


def _epoch(
    split: TensorSplit,
    batch_size: int,
    seed: int,
    epoch: int,
    augment: str,
    crop_padding: int,
    start_batch: int,
    total: int,
) -> Iterator[Batch]:
    # Mapped images are read on the CPU: their index stays there.
    order = epoch_order(len(split), seed, epoch)
    if isinstance(split.x, Tensor):
        order = order.to(split.x.device)
    for b in range(start_batch, total):
        index = order[b * batch_size : (b + 1) * batch_size]
        x = augment_batch(
            split.x[index], split.pad_value, augment, crop_padding, seed=seed, epoch=epoch, batch=b
        )
        yield x, split.y[index]


def eval_batches(split: TensorSplit, batch_size: int) -> Iterator[Batch]:
    """Batches in stored order, without augmentation (slices, no copies)."""
    for b in range(num_batches(len(split), batch_size)):
        window = slice(b * batch_size, (b + 1) * batch_size)
        yield split.x[window], split.y[window]

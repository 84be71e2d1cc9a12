"""Class-stratified, seeded selection of validation and training examples.

One seeded permutation is stable-sorted by label, which puts every class's examples in a
contiguous block in random order. Validation takes the head of each block and the
per-class subset the next examples, so the two are disjoint by construction and the
subset is drawn from what validation left. Only the training split is ever used.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ticketlab.errors import DataError
from ticketlab.seeding import generator


@dataclass(frozen=True)
class SplitIndices:
    """Sorted int64 indices into the raw training split."""

    train: Tensor
    val: Tensor | None


def val_counts(val: int, num_classes: int, seed: int) -> Tensor:
    """Validation examples per class: ``val // K`` each, the remainder one each to
    classes in a seeded order (so no class is always favoured)."""
    counts = torch.full((num_classes,), val // num_classes, dtype=torch.int64)
    order = torch.randperm(num_classes, generator=generator(seed, "val-remainder"))
    counts[order[: val % num_classes]] += 1
    return counts


def stratified_split(
    labels: Tensor, num_classes: int, *, val: int = 0, per_class: int | None = None, seed: int = 0
) -> SplitIndices:
    """Hold out ``val`` examples (class-balanced), then keep ``per_class`` of each class.

    ``labels``: int64 (N,) in 0..K-1. ``per_class=None`` keeps everything not held out.
    The result is a pure function of the arguments. A class too small for the request
    raises a one-line :class:`DataError`.
    """
    labels = labels.cpu()
    n = labels.shape[0]
    if val >= n:
        raise DataError(f"--val {val} leaves no training examples out of {n}")
    class_sizes = torch.bincount(labels, minlength=num_classes)
    shuffled = torch.randperm(n, generator=generator(seed, "split"))
    # Stable sort: within a class the order stays the random one of the permutation.
    by_class = shuffled[torch.argsort(labels[shuffled], stable=True)]
    starts = torch.cumsum(class_sizes, 0) - class_sizes
    held = val_counts(val, num_classes, seed) if val else torch.zeros_like(class_sizes)
    short = (class_sizes < held).nonzero().flatten()
    if short.numel():
        k = int(short[0])
        raise DataError(
            f"--val {val} needs {int(held[k])} examples of class {k}, "
            f"which has only {int(class_sizes[k])} training examples"
        )
    if per_class is not None:
        short = (class_sizes - held < per_class).nonzero().flatten()
        if short.numel():
            k = int(short[0])
            raise DataError(
                f"--per-class {per_class}: class {k} has only {int(class_sizes[k] - held[k])} "
                f"training examples" + (f" left after --val {val}" if val else "")
            )
    # Position of each example within its class block, to pick heads by comparison
    # rather than a Python loop over classes.
    block_labels = labels[by_class]
    rank = torch.arange(n) - starts[block_labels]
    is_val = rank < held[block_labels]
    is_train = ~is_val
    if per_class is not None:
        is_train &= rank < held[block_labels] + per_class
    val_idx = torch.sort(by_class[is_val]).values if val else None
    return SplitIndices(train=torch.sort(by_class[is_train]).values, val=val_idx)

"""The scoring data of data-dependent scores: a seeded, class-stratified sample."""

from __future__ import annotations

import torch
from torch import Tensor

from ticketlab.data import DataBundle
from ticketlab.data.splits import stratified_split
from ticketlab.errors import ConfigError
from ticketlab.seeding import generator


def score_batches(
    data: DataBundle, per_class: int, batch_size: int, seed: int
) -> list[tuple[Tensor, Tensor]]:
    """``per_class`` examples of every class of ``data.train``, in batches of ``batch_size``.

    A pure function of the arguments. The examples are shuffled before batching so that
    every batch mixes classes (BatchNorm sees batch statistics while scoring). A class
    with fewer than ``per_class`` training examples raises a one-line ConfigError.
    """
    if per_class < 1 or batch_size < 1:
        raise ConfigError(
            f"need per_class >= 1 and batch_size >= 1, got {per_class} and {batch_size}"
        )
    labels = data.train.y.cpu()
    classes = data.info.num_classes
    present = torch.bincount(labels, minlength=classes)
    short = (present < per_class).nonzero().flatten()
    if short.numel():
        k = int(short[0])
        raise ConfigError(
            f"--score-per-class {per_class}: class {k} has only {int(present[k])} training examples"
        )
    chosen = stratified_split(labels, classes, per_class=per_class, seed=seed).train
    chosen = chosen[torch.randperm(chosen.numel(), generator=generator(seed, "score-order"))]
    chosen = chosen.to(data.train.x.device)
    return [
        (data.train.x[chosen[i : i + batch_size]], data.train.y[chosen[i : i + batch_size]])
        for i in range(0, chosen.numel(), batch_size)
    ]

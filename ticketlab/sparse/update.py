"""One layer's mask update: drop the smallest surviving weights, regrow as many elsewhere.

The rule shared by SET and RigL (they differ only in the growth scores): of a layer's
``n`` kept entries, ``k = floor(fraction * n)`` with the smallest |w| are dropped, and the
``k`` entries with the largest growth score are grown among those that were pruned
*before* this update. A just-dropped entry is never regrown in the same update, so every
update moves exactly ``k`` connections (RigL's code may regrow one, which keeps its old
value: that amounts to dropping fewer), and every grown entry is a new connection, whose
weight the caller sets to zero. ``k`` is capped by the count of pruned entries, so the
kept count of every layer is conserved. Ties (equal magnitudes, equal scores) are broken
in a random order drawn from the generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ticketlab.pruning.select import top_alive


@dataclass(frozen=True)
class LayerUpdate:
    """A layer's new mask with the entries it ``dropped`` and ``grew`` (bool tensors of its shape)."""

    mask: Tensor
    dropped: Tensor
    grew: Tensor


def moved_count(fraction: float, kept: int, pruned: int) -> int:
    """How many of a layer's ``kept`` entries an update moves: floor(fraction * kept), at most ``pruned``."""
    return max(0, min(math.floor(fraction * kept), pruned))


def drop_and_grow(weight: Tensor, mask: Tensor, grow_scores: Tensor, fraction: float,
                  generator: torch.Generator) -> LayerUpdate:
    """Drop the ``k`` smallest-|w| kept entries of ``mask`` and grow the ``k`` highest-scoring pruned ones.

    ``weight``, ``mask`` (bool, True = kept) and ``grow_scores`` have one shape and lie on
    the CPU; NaN scores rank lowest. Draws the drop's tie order, then the growth's.
    """
    kept = int(mask.sum())
    candidates = ~mask
    count = moved_count(fraction, kept, int(candidates.sum()))
    flat = torch.zeros(mask.numel(), dtype=torch.bool)
    flat[top_alive(weight.detach().abs(), mask, kept - count, generator)] = True
    survivors = flat.view(mask.shape)
    flat = torch.zeros(mask.numel(), dtype=torch.bool)
    flat[top_alive(grow_scores, candidates, count, generator)] = True
    grew = flat.view(mask.shape)
    return LayerUpdate(survivors | grew, mask & ~survivors, grew)

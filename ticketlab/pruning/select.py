"""From scores and per-layer kept counts to a mask, ties broken in a seeded random order.

Ties must not be broken by index: with a signed-constant init every |w| of a layer is
equal, and index order would keep one contiguous block (whole rows or channels).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ticketlab.masks import Mask

if TYPE_CHECKING:  # structures import this module; the name is only an annotation here
    from ticketlab.pruning.structures import Structure


def rank_alive(scores: Tensor, alive: Tensor, generator: torch.Generator) -> Tensor:
    """Flat indices of the alive entries, highest score first; ties in a random order.

    One ``randperm`` of the alive entries is drawn from ``generator``; a stable sort of
    the permuted scores then keeps that random order among equal scores. NaN ranks lowest.
    """
    alive_index = alive.flatten().cpu().nonzero().flatten()
    shuffled = alive_index[torch.randperm(alive_index.numel(), generator=generator)]
    values = torch.nan_to_num(scores.detach().flatten().cpu()[shuffled], nan=-math.inf)
    order = torch.sort(values, descending=True, stable=True).indices
    return shuffled[order]


def rank_layers(
    scores: dict[str, Tensor], alive: Mask, generator: torch.Generator
) -> dict[str, Tensor]:
    """:func:`rank_alive` for every layer, in mask order (the order of the draws)."""
    return {name: rank_alive(scores[name], m, generator) for name, m in alive.items()}


def keep_top(
    ranking: dict[str, Tensor], counts: dict[str, int], shapes: dict[str, torch.Size]
) -> Mask:
    """A mask keeping the first ``counts[l]`` entries of each layer's ranking."""
    mask: Mask = {}
    for name, order in ranking.items():
        count = int(counts[name])
        if not 0 <= count <= order.numel():
            raise ValueError(f"{name}: cannot keep {count} of its {order.numel()} alive entries")
        flat = torch.zeros(math.prod(shapes[name]), dtype=torch.bool)
        flat[order[:count]] = True
        mask[name] = flat.view(shapes[name])
    return mask


def top_alive(scores: Tensor, alive: Tensor, count: int, generator: torch.Generator) -> Tensor:
    """The first ``count`` entries of :func:`rank_alive`'s order, without sorting.

    Draws the same permutation, then keeps every alive entry above the count-th largest
    score and, of those equal to it, the first in permuted order: exactly the entries a
    stable sort of the permuted scores puts first, found by one selection (O(n)).
    """
    alive_index = alive.flatten().cpu().nonzero().flatten()
    shuffled = alive_index[torch.randperm(alive_index.numel(), generator=generator)]
    if count <= 0:
        return shuffled[:0]
    if count >= shuffled.numel():
        return shuffled
    values = torch.nan_to_num(scores.detach().flatten().cpu()[shuffled], nan=-math.inf)
    threshold = values.kthvalue(values.numel() - count + 1).values
    chosen = values > threshold
    ties = (values == threshold).nonzero().flatten()
    chosen[ties[: count - int(chosen.sum())]] = True
    return shuffled[chosen]


def mask_from_scores(
    scores: dict[str, Tensor], counts: dict[str, int], alive: Mask, generator: torch.Generator,
    structure: Structure | None = None,
) -> Mask:
    """Per layer, keep the ``counts[l]`` highest-scoring ALIVE entries (never revives).

    With a ``structure`` other than unstructured, its :meth:`~Structure.select` chooses
    each layer's entries instead (N:M groups, whole channels).

    A count above the layer's alive count is a ValueError: quotas used iteratively must
    stay nested. Ties are broken by a random order drawn from ``generator``, the same as
    :func:`rank_layers` followed by :func:`keep_top` (one permutation per layer, in mask order).
    """
    mask: Mask = {}
    for name, m in alive.items():
        if not 0 <= counts[name] <= int(m.sum()):
            raise ValueError(
                f"{name}: cannot keep {counts[name]} of its {int(m.sum())} alive entries"
            )
    if structure is not None and structure.spec != "unstructured":
        return {name: structure.select(name, scores[name], m, int(counts[name]), generator)
                for name, m in alive.items()}
    for name, m in alive.items():
        flat = torch.zeros(m.numel(), dtype=torch.bool)
        flat[top_alive(scores[name], m, int(counts[name]), generator)] = True
        mask[name] = flat.view(m.shape)
    return mask

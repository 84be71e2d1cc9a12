"""Scores that read only the weights: magnitude, random and LAMP."""

from __future__ import annotations

import torch
from torch import Tensor

from ticketlab.pruning.scores.context import ScoreContext, Scores


def magnitude(ctx: ScoreContext) -> Scores:
    """|w| per entry."""
    return {name: w.detach().abs().clone() for name, w in ctx.weights().items()}


def random(ctx: ScoreContext) -> Scores:
    """I.i.d. uniform [0, 1) per entry, drawn from ``ctx.generator`` in mask order.

    float64, so that ties (harmless, but broken at random) are rare even in large layers.
    """
    return {
        name: torch.rand(m.shape, generator=ctx.generator, dtype=torch.float64)
        for name, m in ctx.mask.items()
    }


def lamp_layer(weight: Tensor, alive: Tensor) -> Tensor:
    """LAMP scores of one layer: w_u^2 / sum of w_v^2 over alive v with w_v^2 >= w_u^2.

    Equal weights share one denominator (each counts all of its equals); dead entries
    and a layer whose alive weights are all zero score 0. float64, shape of ``weight``.
    """
    squares = weight.detach().to(torch.float64).pow(2).flatten().cpu()
    alive_flat = alive.flatten().cpu()
    values = squares[alive_flat]
    ascending = torch.sort(values).values
    # tail[i] = sum of ascending[i:], so tail[first index >= w_u^2] is u's denominator.
    tail = torch.flip(torch.cumsum(torch.flip(ascending, [0]), 0), [0])
    first = torch.searchsorted(ascending, values, right=False)
    denominators = tail[first] if values.numel() else values
    safe = torch.where(denominators > 0, denominators, torch.ones_like(denominators))
    scores = torch.zeros_like(squares)
    scores[alive_flat] = torch.where(denominators > 0, values / safe, torch.zeros_like(values))
    return scores.view(weight.shape)


def lamp(ctx: ScoreContext) -> Scores:
    """Layer-adaptive magnitude pruning (Lee et al.): :func:`lamp_layer` per layer."""
    return {name: lamp_layer(w, ctx.mask[name]) for name, w in ctx.weights().items()}

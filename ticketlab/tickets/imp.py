"""One IMP step: prune the smallest-magnitude survivors down to the level's density."""

from __future__ import annotations

import torch
from torch import nn

from ticketlab.masks import Mask
from ticketlab.pruning import layer_counts, mask_from_scores


def magnitude_prune(
    model: nn.Module, alive: Mask, density: float, scope: str, generator: torch.Generator
) -> Mask:
    """Keep the largest-|w| weights of ``alive``, ``density`` of the prunable weights in all.

    ``global``: one ranking over every prunable layer, round(density * N) kept in total.
    ``layerwise``: each layer keeps round(density * n_l) (apportioned so the total is
    round(density * N) exactly). Counts are measured against the full layer sizes, not
    the survivors, so level L's density is (1 - P) ** L up to one weight per layer
    instead of drifting with repeated rounding. Ties break by a seeded random order.
    """
    params = dict(model.named_parameters())
    scores = {
        name: torch.where(m, params[name].detach().abs().cpu().double(), torch.tensor(float("-inf"), dtype=torch.float64))
        for name, m in alive.items()
    }
    shapes = {name: m.shape for name, m in alive.items()}
    quota = "global" if scope == "global" else "uniform"
    counts = layer_counts(quota, shapes, density, scores)
    # A tiny layer can round up past its survivors; it keeps them all.
    counts = {name: min(count, int(alive[name].sum())) for name, count in counts.items()}
    return mask_from_scores(scores, counts, alive, generator)

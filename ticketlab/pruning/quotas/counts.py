"""From a quota name and a target density to exact integer kept counts per layer."""

from __future__ import annotations

import torch
from torch import Tensor

from ticketlab.pruning.quotas.apportion import apportion
from ticketlab.pruning.quotas.layerwise import sizes_of
from ticketlab.pruning.quotas.registry import QUOTAS


def kept_total(density: float, total: int) -> int:
    """The kept budget of ``density`` over ``total`` weights: round(density * total)."""
    return int(round(density * total))


def layer_counts(
    quota: str,
    shapes: dict[str, torch.Size],
    density: float,
    scores: dict[str, Tensor] | None = None,
    *,
    caps: dict[str, int] | None = None,
) -> dict[str, int]:
    """Kept count per layer under ``quota``, summing exactly to round(density * N).

    ``caps`` (default: the layer sizes) bounds each layer, e.g. by its alive count when
    pruning iteratively; give dead entries a score of -inf for score-based quotas.
    """
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1], got {density}")
    rule = QUOTAS.get(quota)
    if rule.needs_scores and scores is None:
        raise ValueError(f"the {quota} quota needs scores")
    sizes = sizes_of(shapes)
    limits = sizes if caps is None else {n: min(int(caps[n]), sizes[n]) for n in sizes}
    return apportion(
        rule(shapes, density, scores), kept_total(density, sum(sizes.values())), limits
    )

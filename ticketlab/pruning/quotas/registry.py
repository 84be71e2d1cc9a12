"""The quota registry: every way of sharing a kept budget among layers, registered here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor

from ticketlab.pruning.quotas import layerwise
from ticketlab.pruning.quotas.topk import GlobalTopK, global_quota
from ticketlab.registry import Registry

Shapes = dict[str, torch.Size]
QuotaFn = Callable[[Shapes, float, "dict[str, Tensor] | None"], dict[str, float]]
Curve = Callable[[float], dict[str, float]]


@dataclass(frozen=True)
class Quota:
    """A quota function ``(shapes, density, scores) -> real kept counts`` and its needs.

    ``needs_scores``: it reads the scores (others accept None).
    ``prepare``: optional; builds a fast ``density -> counts`` curve for repeated calls
    with the same scores (nested mask families query many densities).
    """

    count: QuotaFn
    needs_scores: bool = False
    prepare: Callable[[dict[str, Tensor]], Curve] | None = None

    def __call__(
        self, shapes: Shapes, density: float, scores: dict[str, Tensor] | None = None
    ) -> dict[str, float]:
        return self.count(shapes, density, scores)

    def curve(self, shapes: Shapes, scores: dict[str, Tensor] | None = None) -> Curve:
        """``density -> real counts`` for fixed shapes and scores."""
        if self.prepare is not None and scores is not None:
            return self.prepare({name: scores[name] for name in shapes})
        return partial(_at_density, self.count, shapes, scores)


def _at_density(
    count: QuotaFn, shapes: Shapes, scores: dict[str, Tensor] | None, density: float
) -> dict[str, float]:
    return count(shapes, density, scores)


QUOTAS: Registry[Quota] = Registry("quota")

QUOTAS.add(
    "global",
    Quota(global_quota, needs_scores=True, prepare=GlobalTopK),
    "one score threshold over all layers",
)
QUOTAS.add("uniform", Quota(layerwise.uniform), "every layer at the target density")
QUOTAS.add(
    "uniform-plus",
    Quota(layerwise.uniform_plus),
    "Gale et al.: first layer dense, last >= 20%, rest uniform",
)
QUOTAS.add(
    "erk", Quota(layerwise.erk), "Erdos-Renyi-Kernel: density proportional to sum(dims)/prod(dims)"
)
QUOTAS.add("igq", Quota(layerwise.igq), "ideal gas quotas (seed 003): d_l = 1 / (1 + F n_l)")

"""Nested masks at every kept count between a pruned mask and the unpruned one.

Effective-sparsity targets bisect over the kept count, which needs masks that only
gain weights as the count grows; a family provides them without re-scoring.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
from torch import Tensor

from ticketlab.masks import Mask
from ticketlab.pruning.numeric import previous_float, smallest_true
from ticketlab.pruning.quotas import Curve
from ticketlab.pruning.select import keep_top


class MaskFamily(ABC):
    """Masks ``mask_at(k)`` keeping exactly k weights, nested in k.

    ``total``: entries in the mask (N); ``min_kept``: the pruned mask's count;
    ``max_kept``: the entries alive before pruning (N when pruning from a full mask).
    """

    total: int
    min_kept: int
    max_kept: int

    def check(self, kept: int) -> None:
        """Raise a ValueError unless ``min_kept <= kept <= max_kept``."""
        if not self.min_kept <= kept <= self.max_kept:
            raise ValueError(
                f"kept count must be in [{self.min_kept}, {self.max_kept}], got {kept}"
            )

    @abstractmethod
    def mask_at(self, kept: int) -> Mask:
        """The member keeping exactly ``kept`` weights."""


class RankedFamily(MaskFamily):
    """One global ranking: ``mask_at(k)`` keeps the k highest-ranked entries.

    ``ranks`` holds per entry its position from the bottom (0 = first removed);
    entries dead before pruning hold -1 and are never kept.
    """

    def __init__(self, ranks: dict[str, Tensor], min_kept: int) -> None:
        self.ranks = ranks
        self.total = sum(r.numel() for r in ranks.values())
        self.max_kept = sum(int((r >= 0).sum()) for r in ranks.values())
        self.min_kept = min_kept

    def mask_at(self, kept: int) -> Mask:
        self.check(kept)
        floor = self.max_kept - kept
        return {name: r >= floor for name, r in self.ranks.items()}


class QuotaFamily(MaskFamily):
    """Fixed per-layer rankings, per-layer counts from a quota curve.

    Between the pruned counts and the alive counts, layer l gets round(r_l(x)) (the
    quota's real count, rounded half up, clamped) at the smallest density x where these
    sum to at least k; the few units of the last step go to layers in mask order. Each
    count only grows with x, so members are nested; they match the quota's apportioned
    counts at k / N to about one weight per layer.
    """

    def __init__(
        self,
        ranking: dict[str, Tensor],
        shapes: dict[str, torch.Size],
        curve: Curve,
        pruned_counts: dict[str, int],
        pruned_density: float,
    ) -> None:
        self.ranking, self.shapes, self.curve = ranking, shapes, curve
        self.pruned_counts = dict(pruned_counts)
        self.alive_counts = {name: order.numel() for name, order in ranking.items()}
        self.pruned_density = pruned_density
        self.total = sum(math.prod(s) for s in shapes.values())
        self.min_kept = sum(self.pruned_counts.values())
        self.max_kept = sum(self.alive_counts.values())

    def _rounded(self, density: float) -> dict[str, int]:
        real = self.curve(density)
        return {
            n: min(max(math.floor(real[n] + 0.5), low), self.alive_counts[n])
            for n, low in self.pruned_counts.items()
        }

    def counts_at(self, kept: int) -> dict[str, int]:
        """Kept count per layer of ``mask_at(kept)``."""
        self.check(kept)
        if kept == self.min_kept:
            return dict(self.pruned_counts)
        if kept == self.max_kept:
            return dict(self.alive_counts)
        x = smallest_true(
            lambda d: sum(self._rounded(d).values()) >= kept, self.pruned_density, 1.0
        )
        upper = self._rounded(x)
        lower = self._rounded(previous_float(x)) if x > self.pruned_density else self.pruned_counts
        counts, missing = {}, kept - sum(lower.values())
        for name, low in lower.items():
            add = min(max(upper[name] - low, 0), missing)
            counts[name], missing = low + add, missing - add
        for name in counts:  # only reached if float noise made the curve non-monotone
            add = min(self.alive_counts[name] - counts[name], missing)
            counts[name], missing = counts[name] + add, missing - add
        return counts

    def mask_at(self, kept: int) -> Mask:
        return keep_top(self.ranking, self.counts_at(kept), self.shapes)


class FixedFamily(MaskFamily):
    """One mask and nothing in between: a structured mask (N:M, channels) has no nested members."""

    def __init__(self, mask: Mask) -> None:
        self.mask = mask
        self.total = sum(m.numel() for m in mask.values())
        self.min_kept = self.max_kept = sum(int(m.sum()) for m in mask.values())

    def mask_at(self, kept: int) -> Mask:
        self.check(kept)
        return self.mask

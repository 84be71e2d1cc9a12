"""The global quota: how many of each layer's entries fall in the global top-K of the scores.

Entries strictly above the K-th highest score count 1 each; the entries tied with it
share what is left of K equally. That is the expected count under a uniformly random
order of the tied entries, which is how :mod:`ticketlab.pruning.select` breaks ties, and
it needs no generator. NaN scores rank lowest, like -inf (give dead entries -inf).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

Shapes = dict[str, torch.Size]


def _flat(scores: dict[str, Tensor]) -> list[Tensor]:
    flat = [s.detach().flatten().cpu() for s in scores.values()]
    # Copies only where needed: these can be tens of millions of entries.
    return [torch.nan_to_num(f, nan=-math.inf) if f.isnan().any() else f for f in flat]


def _shared(names: list[str], above: list[int], tied: list[int], kept: float) -> dict[str, float]:
    share = (kept - sum(above)) / sum(tied)
    return {n: a + t * share for n, a, t in zip(names, above, tied, strict=True)}


def global_quota(
    shapes: Shapes, density: float, scores: dict[str, Tensor] | None = None
) -> dict[str, float]:
    """One threshold over all layers: real counts of each layer in the global top density * N.

    One selection (``kthvalue``) and one comparison pass: O(N), no sort.
    """
    if scores is None:
        raise ValueError("the global quota needs scores")
    names = list(shapes)
    flat = _flat({name: scores[name] for name in names})
    total = sum(f.numel() for f in flat)
    kept = min(density * total, float(total))
    if kept <= 0:
        return {name: 0.0 for name in names}
    # The ceil(kept)-th highest score is the (N - ceil(kept) + 1)-th lowest.
    threshold = torch.kthvalue(torch.cat(flat), total - math.ceil(kept) + 1).values
    above = [int((f > threshold).sum()) for f in flat]
    tied = [int((f == threshold).sum()) for f in flat]
    return _shared(names, above, tied, kept)


class GlobalTopK:
    """:func:`global_quota` for fixed scores at many densities: sorts once, then O(L log N)."""

    def __init__(self, scores: dict[str, Tensor]) -> None:
        self.names = list(scores)
        flat = _flat(scores)
        self.layers = [torch.sort(f).values for f in flat]
        self.descending = torch.sort(torch.cat(flat), descending=True).values
        self.total = self.descending.numel()

    def __call__(self, density: float) -> dict[str, float]:
        """Real-valued counts per layer summing to density * N."""
        kept = min(density * self.total, float(self.total))
        if kept <= 0:
            return {name: 0.0 for name in self.names}
        threshold = self.descending[math.ceil(kept) - 1].reshape(1)
        above: list[int] = []
        tied: list[int] = []
        for values in self.layers:
            below = int(torch.searchsorted(values, threshold, right=False))
            upto = int(torch.searchsorted(values, threshold, right=True))
            above.append(values.numel() - upto)
            tied.append(upto - below)
        return _shared(self.names, above, tied, kept)

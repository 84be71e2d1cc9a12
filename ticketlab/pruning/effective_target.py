"""Pruning to a target *effective* sparsity (seed 003), and layerwise reshuffling.

Effective sparsity only grows as nested masks lose weights, so the smallest kept count
whose effective sparsity is at most the target is found by bisection over the kept
count of a family of nested masks: about log2(N) evaluations of the effective mask.
The result lands at or just below the target (removing one more weight can disconnect
many at once, so "exactly" is not always possible).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ticketlab.errors import ConfigError
from ticketlab.masks import Mask, count_kept, random_mask_like
from ticketlab.pruning.quotas import layer_counts

EffectiveSparsity = Callable[[Mask], float]
# Bisection over a float density stops long before this; it only guards against a quota
# whose rounding never closes the gap between the two masks.
MAX_STEPS = 200


@dataclass(frozen=True)
class EffectiveSearch:
    """The mask found, its direct kept count, its effective sparsity, and the cost."""

    mask: Mask
    kept: int
    effective_sparsity: float
    evaluations: int


def check_target(target: float) -> None:
    """Raise a :class:`ConfigError` unless ``target`` is a sparsity in [0, 1)."""
    if not 0.0 <= target < 1.0:
        raise ConfigError(f"target effective sparsity must be in [0, 1), got {target}")


def prune_to_effective(
    mask_at: Callable[[int], Mask], min_kept: int, total: int, target: float, effective_sparsity: EffectiveSparsity
) -> EffectiveSearch:
    """Bisection over the kept count ``k`` of nested masks ``mask_at(k)``, ``min_kept <= k <= total``.

    Returns the mask with the fewest kept weights whose effective sparsity is at most
    ``target``; the invariant is that ``lo`` lies above the target and ``hi`` at or below.
    """
    check_target(target)
    evaluations = 0

    def evaluate(k: int) -> tuple[Mask, float]:
        nonlocal evaluations
        evaluations += 1
        mask = mask_at(k)
        return mask, effective_sparsity(mask)

    best_mask, best_value = evaluate(min_kept)
    if best_value <= target:
        return EffectiveSearch(best_mask, min_kept, best_value, evaluations)
    lo, hi = min_kept, total
    best_mask, best_value = evaluate(hi)
    if best_value > target:
        raise ConfigError(f"even the unpruned network has effective sparsity {best_value:.6g} > target {target}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        mask, value = evaluate(mid)
        if value <= target:
            hi, best_mask, best_value = mid, mask, value
        else:
            lo = mid
    return EffectiveSearch(best_mask, hi, best_value, evaluations)


def effective_random_mask(
    template: Mask,
    quota: str,
    target: float,
    effective_sparsity: EffectiveSparsity,
    generator: torch.Generator,
) -> EffectiveSearch:
    """Approximate effective random pruning (seed 003, Algorithm 1) under any quota.

    Bisection over the direct density between a lower mask (effective sparsity at most
    the target) and an upper mask (above it, and a subset of the lower one). Each
    midpoint keeps the upper mask plus random weights drawn only among those alive in the
    lower mask and dead in the upper one, as many per layer as the quota asks for, so
    every mask drawn is nested between the two.
    """
    check_target(target)
    shapes = {name: m.shape for name, m in template.items()}
    # One random score per weight, used only by the global quota to apportion counts.
    scores = {name: torch.rand(m.shape, generator=generator) for name, m in template.items()}
    lower: Mask = {name: torch.ones_like(m) for name, m in template.items()}
    upper: Mask = {name: torch.zeros_like(m) for name, m in template.items()}
    lower_density, upper_density, lower_value = 1.0, 0.0, effective_sparsity(lower)
    evaluations = 1
    if lower_value > target:
        raise ConfigError(f"even the unpruned network has effective sparsity {lower_value:.6g} > target {target}")
    for _ in range(MAX_STEPS):
        density = (lower_density + upper_density) / 2
        if count_kept(lower)[0] - count_kept(upper)[0] <= 1 or density in (lower_density, upper_density):
            break
        counts = layer_counts(quota, shapes, density, scores)
        middle = _between(lower, upper, counts, generator)
        value = effective_sparsity(middle)
        evaluations += 1
        if value <= target:
            lower, lower_density, lower_value = middle, density, value
        else:
            upper, upper_density = middle, density
    return EffectiveSearch(lower, count_kept(lower)[0], lower_value, evaluations)


def _between(lower: Mask, upper: Mask, counts: dict[str, int], generator: torch.Generator) -> Mask:
    """``upper`` plus random entries of ``lower - upper``: ``counts`` per layer, clamped to fit."""
    middle: Mask = {}
    for name, low in lower.items():
        up = upper[name]
        up_kept, low_kept = int(up.sum()), int(low.sum())
        extra = min(max(counts[name], up_kept), low_kept) - up_kept
        candidates = (low & ~up).flatten().nonzero().flatten()
        chosen = candidates[torch.randperm(candidates.numel(), generator=generator)[:extra]]
        flat = up.flatten().clone()
        flat[chosen] = True
        middle[name] = flat.view(up.shape)
    return middle


def reshuffle(mask: Mask, generator: torch.Generator) -> Mask:
    """A random mask with exactly the per-layer kept counts of ``mask`` (layerwise reshuffling)."""
    densities = {name: int(m.sum()) / m.numel() for name, m in mask.items()}
    return random_mask_like(mask, densities, generator)

"""Quotas that depend only on layer shapes: uniform, uniform-plus, ERK and IGQ.

Each returns real-valued kept counts per layer, in [0, n_l], summing to density * N.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ticketlab.errors import ConfigError
from ticketlab.pruning.numeric import smallest_true

Shapes = dict[str, torch.Size]
# Gale et al. never prune the last layer below 20% density.
LAST_MIN_DENSITY = 0.2


def sizes_of(shapes: Shapes) -> dict[str, int]:
    """Entries per layer."""
    return {name: math.prod(shape) for name, shape in shapes.items()}


def uniform(
    shapes: Shapes, density: float, scores: dict[str, Tensor] | None = None
) -> dict[str, float]:
    """Every layer at the target density."""
    return {name: density * n for name, n in sizes_of(shapes).items()}


def _module(name: str) -> str:
    """``fc1`` for ``fc1.weight`` and ``fc1.bias``; any other name is its own module."""
    head, _, tail = name.rpartition(".")
    return head if tail in ("weight", "bias") else name


def uniform_plus(
    shapes: Shapes, density: float, scores: dict[str, Tensor] | None = None
) -> dict[str, float]:
    """Gale et al.: first layer dense, last layer at least 20% dense, the rest uniform.

    "First" and "last" are the entries of the first and last mask entry's module (so a
    pruned bias goes with its weight). The shared density u of the rest solves the
    budget; the last layer keeps max(0.2, u). Raises a ConfigError when a dense first
    and a 20% last layer alone exceed the budget.
    """
    sizes = sizes_of(shapes)
    names = list(sizes)
    first_module, last_module = _module(names[0]), _module(names[-1])
    if first_module == last_module:
        raise ConfigError(
            "uniform-plus needs at least two prunable layers (a dense first and a last one)"
        )
    first = [n for n in names if _module(n) == first_module]
    last = [n for n in names if _module(n) == last_module]
    middle = [n for n in names if n not in first and n not in last]
    n_first, n_last = sum(sizes[n] for n in first), sum(sizes[n] for n in last)
    n_middle, total = sum(sizes[n] for n in middle), sum(sizes.values())
    budget = density * total
    least = n_first + LAST_MIN_DENSITY * n_last
    if budget < least * (1 - 1e-12):
        raise ConfigError(
            f"uniform-plus cannot reach sparsity {1 - density:.6g}: a dense first layer and a "
            f"20% dense last layer already keep {least:.0f} of {total} weights, so the highest "
            f"sparsity it can reach is {1 - least / total:.6g}"
        )
    rest = max(budget - n_first, 0.0)
    if n_middle and rest - LAST_MIN_DENSITY * n_last <= LAST_MIN_DENSITY * n_middle:
        u, last_density = (rest - LAST_MIN_DENSITY * n_last) / n_middle, LAST_MIN_DENSITY
    else:
        u = last_density = rest / (n_middle + n_last)
    u, last_density = min(max(u, 0.0), 1.0), min(max(last_density, 0.0), 1.0)
    out = {n: float(sizes[n]) for n in first}
    out.update({n: u * sizes[n] for n in middle})
    out.update({n: last_density * sizes[n] for n in last})
    return {n: out[n] for n in names}


def erk(
    shapes: Shapes, density: float, scores: dict[str, Tensor] | None = None
) -> dict[str, float]:
    """Erdos-Renyi-Kernel (Evci et al.): d_l = eps * sum(dims) / prod(dims), capped at dense.

    When eps would push a layer above density 1, the layer(s) with the largest raw
    density become dense and eps is solved again over the others, one step at a time
    (as in RigL's code), so no layer is made dense that would not exceed 1.
    """
    sizes = sizes_of(shapes)
    raw = {n: sum(shape) / sizes[n] for n, shape in shapes.items()}
    budget = density * sum(sizes.values())
    dense: set[str] = set()
    eps = 0.0
    while len(dense) < len(sizes):
        rest = [n for n in sizes if n not in dense]
        left = budget - sum(sizes[n] for n in dense)
        eps = max(left, 0.0) / sum(raw[n] * sizes[n] for n in rest)
        largest = max(raw[n] for n in rest)
        if eps * largest <= 1.0:
            break
        dense.update(n for n in rest if raw[n] == largest)
    return {n: float(sizes[n]) if n in dense else eps * raw[n] * sizes[n] for n in sizes}


def igq_factor(sizes: list[int], budget: float) -> float:
    """The F >= 0 with sum of n / (1 + F n) = budget (inf for a zero budget).

    The smallest float F whose kept total is at most the budget, found by bisection to
    float precision; monotone in the budget, which nested masks rely on.
    """

    def within(f: float) -> bool:
        return sum(n / (1.0 + f * n) for n in sizes) <= budget

    return smallest_true(within, 0.0, math.inf)


def igq(
    shapes: Shapes, density: float, scores: dict[str, Tensor] | None = None
) -> dict[str, float]:
    """Ideal gas quotas (seed 003): d_l = 1 / (1 + F n_l), F solving the budget.

    Valid at every density; as the density goes to 0 every layer keeps about 1/F weights.
    """
    sizes = sizes_of(shapes)
    factor = igq_factor(list(sizes.values()), density * sum(sizes.values()))
    return {n: size / (1.0 + factor * size) for n, size in sizes.items()}

"""IMP with any registered quota and data-free score, end to end through ``ticketlab lottery``.

Oracles: ERK and IGQ written out here from their papers' formulas (each solved by its own
bisection), and LAMP's defining property (within a layer it ranks like |w|).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from ticketlab.masks import load_mask
from ticketlab.runs.store import load_torch_file

# LeNet-300-100 on 28x28 synthetic images: its real layer sizes, a few steps per level.
ARGS = ["lottery", "--model", "lenet300", "--dataset", "synthetic", "--synthetic-shape", "1x28x28",
        "--synthetic-train", "100", "--synthetic-test", "20", "--iterations", "2", "--batch-size", "50",
        "--levels", "2", "--prune-fraction", "0.6", "--score", "lamp", "--device", "cpu", "--json", "--quiet"]
SHAPES = {"fc1.weight": (300, 784), "fc2.weight": (100, 300), "fc3.weight": (10, 100)}


def solve(increasing: Callable[[float], float], target: float) -> float:
    """The x >= 0 with increasing(x) = target, by bisection (doubling to bracket it first)."""
    low, high = 0.0, 1.0
    while increasing(high) < target:
        high *= 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        low, high = (middle, high) if increasing(middle) < target else (low, middle)
    return (low + high) / 2.0


def erk_counts(density: float) -> dict[str, float]:
    """Evci et al.: n_l * min(1, eps * sum(dims) / prod(dims)), eps meeting the budget."""
    budget = density * sum(math.prod(s) for s in SHAPES.values())
    kept = lambda eps: sum(min(math.prod(s), eps * sum(s)) for s in SHAPES.values())  # noqa: E731
    eps = solve(kept, budget)
    return {name: min(math.prod(s), eps * sum(s)) for name, s in SHAPES.items()}


def igq_counts(density: float) -> dict[str, float]:
    """Ideal gas quotas: n_l * d_l with d_l = 1 / (1 + F n_l), F meeting the budget."""
    sizes = {name: math.prod(s) for name, s in SHAPES.items()}
    budget = density * sum(sizes.values())
    # The kept total falls as F grows; bisect on the removed total, which rises.
    removed = lambda f: sum(n - n / (1.0 + f * n) for n in sizes.values())  # noqa: E731
    factor = solve(removed, sum(sizes.values()) - budget)
    return {name: n / (1.0 + factor * n) for name, n in sizes.items()}


@pytest.mark.parametrize("quota, oracle", [("igq", igq_counts), ("erk", erk_counts)])
def test_lottery_levels_follow_the_quota(cli, tmp_path: Path, quota: str,  # type: ignore[no-untyped-def]
                                         oracle: Callable[[float], dict[str, float]]) -> None:
    result = cli(*ARGS, "--quota", quota, "--runs-dir", str(tmp_path))
    assert result.code == 0, result.err
    top = Path(json.loads(result.out)["run_dir"])
    total = sum(math.prod(s) for s in SHAPES.values())
    for level in (1, 2):
        density = 0.4 ** level
        mask = load_mask(top / f"level-{level}" / "mask.npz")
        assert set(mask) == set(SHAPES)
        expected = oracle(density)
        kept = {name: int(m.sum()) for name, m in mask.items()}
        for name in SHAPES:
            assert abs(kept[name] - expected[name]) <= 1, (level, name, kept[name], expected[name])
        assert sum(kept.values()) == round(density * total)
        if quota == "erk":  # eps * (10 + 100) / 1000 exceeds 1: fc3 is capped at dense
            assert kept["fc3.weight"] == 1000
        # LAMP ranks like |w| within a layer: every kept survivor outweighs every pruned one.
        trained = load_torch_file(top / f"level-{level - 1}" / "model_final.pt")["state"]["model"]
        alive = load_mask(top / f"level-{level - 1}" / "mask.npz") if level > 1 else None
        for name, m in mask.items():
            weights = trained[name].abs()
            survivors = alive[name] if alive is not None else torch.ones_like(m)
            pruned = survivors & ~m
            assert not torch.any(m & ~survivors)  # nothing revived
            if pruned.any():
                assert weights[m].min() >= weights[pruned].max()

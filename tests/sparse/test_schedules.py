"""Schedules against values worked out by hand: Zhu & Gupta's cubic sparsity, RigL's cosine drop fraction."""

from __future__ import annotations

import math

import pytest
import torch

from ticketlab.sparse import SPARSE_METHODS, SparseConfig, UpdateContext
from ticketlab.sparse.schedules import cosine_drop_fraction, cubic_sparsity, gmp_prunes_at, step_at, updates_at


@pytest.mark.parametrize("step, expected", [
    (0, 0.0), (10, 0.0),
    (20, 0.9 - 0.9 * 0.75**3),  # 0.5203125: a quarter of the way
    (30, 0.9 - 0.9 * 0.5**3),   # 0.7875
    (40, 0.9 - 0.9 * 0.25**3),  # 0.8859375
    (50, 0.9), (70, 0.9),
])
def test_cubic_schedule_from_dense(step: int, expected: float) -> None:
    assert cubic_sparsity(step, initial=0.0, final=0.9, start=10, end=50) == pytest.approx(expected, abs=1e-12)


def test_cubic_schedule_from_a_sparse_start() -> None:
    # s_t = 0.9 + (0.5 - 0.9) (1 - 20/40)^3 = 0.9 - 0.4 / 8
    assert cubic_sparsity(30, initial=0.5, final=0.9, start=10, end=50) == pytest.approx(0.85)
    assert cubic_sparsity(5, initial=0.5, final=0.9, start=10, end=50) == 0.5
    assert cubic_sparsity(10, initial=0.5, final=0.9, start=10, end=10) == 0.9  # one-shot at start == end


def test_gmp_prunes_every_interval_and_at_the_end() -> None:
    steps = [t for t in range(0, 80) if gmp_prunes_at(t, start=10, end=50, every=15)]
    assert steps == [25, 40, 50]
    assert [t for t in range(0, 10) if gmp_prunes_at(t, start=0, end=6, every=2)] == [2, 4, 6]


@pytest.mark.parametrize("step, expected", [
    (0, 0.3), (25, 0.15 * (1 + math.sqrt(0.5))), (50, 0.15), (75, 0.15 * (1 - math.sqrt(0.5))), (100, 0.0), (140, 0.0),
])
def test_cosine_drop_fraction(step: int, expected: float) -> None:
    assert cosine_drop_fraction(step, initial=0.3, end=100) == pytest.approx(expected, abs=1e-12)


def test_updates_every_interval_strictly_before_the_end() -> None:
    assert [t for t in range(0, 40) if updates_at(t, every=10, end=30)] == [10, 20]
    assert step_at(0.75, 18) == 14  # 13.5 rounds to even


def test_gmp_update_keeps_the_largest_magnitudes_at_the_scheduled_count() -> None:
    # 8 weights, dense, 0 -> 0.75 over steps 0..4: at step 2, s = 0.75 - 0.75 / 8 = 0.65625,
    # so round(0.34375 * 8) = 3 kept: the three largest |w|; at step 4, round(0.25 * 8) = 2.
    weights = {"w": torch.tensor([0.1, -0.9, 0.3, 0.05, -0.4, 0.2, 0.7, -0.01])}
    config = SparseConfig(method="gmp", sparsity=0.75, quota="uniform", prune_start=0.0, prune_end=1.0,
                          prune_every=2)
    gmp = SPARSE_METHODS.get("gmp")
    assert [t for t in range(6) if gmp.moves_at(t, 4, config)] == [2, 4]
    mask = {"w": torch.ones(8, dtype=torch.bool)}
    mask = gmp.update(UpdateContext(2, 4, weights, mask, None, config, torch.Generator().manual_seed(0)))
    assert mask["w"].nonzero().flatten().tolist() == [1, 4, 6]
    weights["w"][4] = 0.0  # pruned weights are zero; a dead entry never comes back
    mask = gmp.update(UpdateContext(4, 4, weights, mask, None, config, torch.Generator().manual_seed(0)))
    assert mask["w"].nonzero().flatten().tolist() == [1, 6]

"""Random subset sum against brute force."""

from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest
import torch

from ticketlab.errors import ConfigError
from ticketlab.strong.subset_sum import solve_subset_sum


def brute_force(targets: torch.Tensor, candidates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every subset: (best error, smallest size reaching each error) by enumeration."""
    n = candidates.shape[1]
    table = torch.tensor(list(itertools.product([0, 1], repeat=n)), dtype=torch.float64)
    errors = (candidates @ table.T - targets[:, None]).abs()  # (T, 2^n)
    return errors, table.sum(dim=1)


def instances(seed: int, count: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    candidates = (torch.rand(count, n, generator=g, dtype=torch.float64) * 2 - 1) * torch.rand(
        count, n, generator=g, dtype=torch.float64)
    targets = torch.rand(count, generator=g, dtype=torch.float64) - 0.5
    return targets, candidates


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 10, 13])
def test_exact_equals_brute_force(n: int) -> None:
    targets, candidates = instances(n, 200, n)
    result = solve_subset_sum(targets, candidates)
    errors, _ = brute_force(targets, candidates)
    assert result.mask.dtype == torch.bool and result.mask.shape == (200, n)
    assert torch.allclose(result.errors, errors.min(dim=1).values, rtol=0, atol=1e-15)
    assert torch.allclose(result.sums, (candidates * result.mask).sum(dim=1))


def test_shared_candidates_and_exact_hits() -> None:
    candidates = torch.tensor([0.5, 0.25, -0.125, 1.0], dtype=torch.float64)
    targets = torch.tensor([0.625, 0.375, 1.75, 0.0, -0.125])
    result = solve_subset_sum(targets, candidates)
    assert result.errors.max() == 0.0
    assert result.mask[3].sum() == 0 or result.sums[3] == 0.0


@pytest.mark.parametrize("eps", [0.05, 0.01, 0.001])
def test_smallest_subset_within_eps(eps: float) -> None:
    targets, candidates = instances(7, 150, 10)
    result = solve_subset_sum(targets, candidates, solver="smallest", eps=eps, max_size=10)
    errors, sizes = brute_force(targets, candidates)
    for row in range(150):
        reachable = errors[row] <= eps
        if not bool(reachable.any()):
            continue  # falls back to the exact answer, checked below
        smallest = int(sizes[reachable].min())
        assert int(result.mask[row].sum()) == smallest
        at_size = errors[row][sizes == smallest].min()
        assert float(result.errors[row]) == pytest.approx(float(at_size), abs=1e-15)
        assert float(result.errors[row]) <= eps


def test_smallest_falls_back_to_exact() -> None:
    targets, candidates = instances(3, 100, 9)
    result = solve_subset_sum(targets, candidates, solver="smallest", eps=1e-12, max_size=2)
    exact = solve_subset_sum(targets, candidates)
    assert torch.allclose(result.errors, exact.errors, rtol=0, atol=1e-15)


@pytest.mark.skipif(importlib.util.find_spec("highspy") is None, reason="highspy not installed")
def test_mip_matches_exact() -> None:
    targets, candidates = instances(11, 8, 12)
    mip = solve_subset_sum(targets, candidates, solver="mip")
    exact = solve_subset_sum(targets, candidates)
    assert mip.mask.dtype == torch.bool
    assert torch.allclose(mip.errors, exact.errors, rtol=0, atol=1e-9)


def test_bad_inputs() -> None:
    with pytest.raises(ConfigError, match=r"\(T, n\)"):
        solve_subset_sum(torch.zeros(3), torch.zeros(2, 4))
    with pytest.raises(ConfigError, match="too large"):
        solve_subset_sum(torch.zeros(1), torch.zeros(1, 50))
    with pytest.raises(ConfigError, match="eps"):
        solve_subset_sum(torch.zeros(1), torch.zeros(1, 3), solver="smallest")
    with pytest.raises(ConfigError, match="unknown subset-sum solver"):
        solve_subset_sum(torch.zeros(1), torch.zeros(1, 3), solver="greedy")


def bit_table(m: int) -> np.ndarray:
    """(2^m, m): row k holds the bits of k, least significant first, spelled out one by one."""
    return np.array([[(k >> j) & 1 for j in range(m)] for k in range(2**m)], dtype=np.float64)


def test_bit_table_by_hand() -> None:
    assert bit_table(2).tolist() == [[0, 0], [1, 0], [0, 1], [1, 1]]


def test_subset_sums_by_doubling_follow_the_bit_table() -> None:
    from ticketlab.strong.subset_sum import subset_sums

    values = np.random.default_rng(0).uniform(-1, 1, (5, 7))
    # Column k of the doubling sums is the subset of k's bits: the product with the table.
    assert np.allclose(subset_sums(values), values @ bit_table(7).T, rtol=0, atol=1e-14)

"""Random subset sum: choose a subset of candidates whose sum is closest to each target.

``solve_subset_sum(targets, candidates)`` solves many independent instances at once
(target t with its own row of n candidates). Solvers, registered in ``SOLVERS``:

- ``exact``: meet in the middle. The 2^(n/2) subset sums of each half are enumerated by
  doubling (column k sums the values of k's bits); target minus left sums and right sums
  are sorted together and the closest pair is found among neighbours. Exact (float64,
  up to one ulp) for n up to about 40, vectorised over targets in cache-sized chunks.
- ``smallest``: seed 001's variant: subsets of size 0, 1, 2, ... in turn, stopping at the
  first size that reaches error <= eps; sparser tickets, not the smallest error. Targets
  no size reaches within ``max_size`` fall back to the exact solution.
- ``mip``: a mixed-integer program per target through HiGHS (``highspy``), for comparison.

Masks are always 0/1 (bool), never fractional solver values.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ticketlab.errors import ConfigError
from ticketlab.registry import Registry


@dataclass(frozen=True)
class SubsetSumResult:
    """Per target: the chosen subset (bool, (T, n)), its sum and its absolute error."""

    mask: Tensor
    sums: Tensor
    errors: Tensor
    seconds: float


Solver = Callable[..., Tensor]
SOLVERS: Registry[Solver] = Registry("subset-sum solver")


def solve_subset_sum(
    targets: Tensor, candidates: Tensor, *, solver: str = "exact", eps: float | None = None, max_size: int = 4
) -> SubsetSumResult:
    """Solve ``len(targets)`` instances; ``candidates`` is (T, n) or (n,) shared by all.

    ``eps`` (absolute) is the tolerance of the ``smallest`` solver; ``max_size`` the
    largest subset size it tries before falling back to the exact answer.
    """
    started = time.perf_counter()
    targets = torch.as_tensor(targets).detach().to("cpu", torch.float64).flatten()
    candidates = torch.as_tensor(candidates).detach().to("cpu", torch.float64)
    if candidates.dim() == 1:
        candidates = candidates.expand(targets.numel(), -1)
    if candidates.dim() != 2 or candidates.shape[0] != targets.numel():
        raise ConfigError(f"candidates must be (T, n) or (n,) for T = {targets.numel()} targets, got {tuple(candidates.shape)}")
    if solver == "smallest" and (eps is None or eps < 0):
        raise ConfigError("the smallest-subset solver needs a tolerance eps >= 0")
    options = {"eps": eps, "max_size": max_size} if solver == "smallest" else {}
    mask = SOLVERS.get(solver)(targets, candidates, **options)
    sums = (candidates * mask).sum(dim=1)
    return SubsetSumResult(mask, sums, (sums - targets).abs(), time.perf_counter() - started)


@SOLVERS.register("exact", "meet in the middle, exact in float64 for n up to about 40")
def exact(targets: Tensor, candidates: Tensor, threads: int | None = None) -> Tensor:
    """The subset with the smallest |sum - target| for every row (ties: any one of them).

    Rows are processed in small chunks (cache-sized) on ``threads`` threads (default:
    torch's thread count); NumPy's sort releases the GIL, so the threads run in parallel.
    """
    count, n = candidates.shape
    if n > 44:
        raise ConfigError(f"the exact solver enumerates 2^(n/2) sums per half; n = {n} is too large (use n <= 44)")
    if n == 0:
        return torch.zeros(count, 0, dtype=torch.bool)
    left_n = n // 2
    left_bits, right_bits = _bits(left_n), _bits(n - left_n)
    values = candidates.numpy()
    goals = targets.numpy()
    left_pick = np.zeros(count, dtype=np.int64)
    right_pick = np.zeros(count, dtype=np.int64)
    chunk = max(1, CHUNK_VALUES // (left_bits.shape[0] + right_bits.shape[0]))

    def work(start: int) -> None:
        rows = slice(start, min(start + chunk, count))
        left = subset_sums(values[rows, :left_n])
        right = subset_sums(values[rows, left_n:])
        need, found = _closest_pairs(goals[rows, None] - left, right)
        # The tags moved values by at most one ulp: recover the subsets by nearest value.
        left_pick[rows] = np.abs(goals[rows, None] - left - need[:, None]).argmin(axis=1)
        right_pick[rows] = np.abs(right - found[:, None]).argmin(axis=1)

    with ThreadPoolExecutor(max_workers=threads or torch.get_num_threads()) as pool:
        list(pool.map(work, range(0, count, chunk)))
    mask = np.concatenate([left_bits[left_pick], right_bits[right_pick]], axis=1).astype(bool)
    return torch.from_numpy(mask)


def subset_sums(values: np.ndarray) -> np.ndarray:
    """(rows, 2^m) sums of every subset of each row's m values, column k the subset of k's bits.

    Built by doubling (the sums without value j, then the same plus value j): one add per
    sum, many times cheaper than the product with the bit table, and in the same order.
    """
    rows, m = values.shape
    sums = np.empty((rows, 2**m))
    sums[:, 0] = 0.0
    size = 1
    for j in range(m):
        np.add(sums[:, :size], values[:, j : j + 1], out=sums[:, size : 2 * size])
        size *= 2
    return sums


def _bits(m: int) -> np.ndarray:
    codes = np.arange(2**m, dtype=np.int64)
    return ((codes[:, None] >> np.arange(m)) & 1).astype(np.float64)


_ONE = np.uint64(1)
# Sums per chunk of rows: small enough that the sort and the passes after it stay in cache.
CHUNK_VALUES = 2**20


def _closest_pairs(need: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the (need, right) values with the smallest |need - right|.

    Both sets are tagged in their lowest mantissa bit (need 0, right 1) and sorted
    together. The closest pair across the two sets is adjacent in that order (anything
    between a need and its nearest right value is another need, which is closer), so
    one sort and one pass over neighbouring differences find it: no binary search.
    """
    rows, m = need.shape
    merged = np.concatenate([need, right], axis=1)
    tags = merged.view(np.uint64)
    tags[:, :m] &= ~_ONE
    tags[:, m:] |= _ONE
    merged.sort(axis=1)
    tag = tags & _ONE
    gap = np.diff(merged, axis=1)
    gap[tag[:, 1:] == tag[:, :-1]] = np.inf
    k = gap.argmin(axis=1)
    r = np.arange(rows)
    first, second = merged[r, k], merged[r, k + 1]
    first_is_need = tag[r, k] == 0
    return np.where(first_is_need, first, second), np.where(first_is_need, second, first)


@SOLVERS.register("smallest", "seed 001: the smallest subset size whose error is within eps")
def smallest(targets: Tensor, candidates: Tensor, *, eps: float, max_size: int = 4) -> Tensor:
    """Subsets of size 0, 1, ..., ``max_size`` in turn; the first within ``eps`` wins.

    Within a size the subset with the smallest error is taken. Rows that no size up to
    ``max_size`` solves get the exact solution (which may still miss eps).
    """
    count, n = candidates.shape
    mask = torch.zeros(count, n, dtype=torch.bool)
    open_rows = torch.ones(count, dtype=torch.bool)
    open_rows &= targets.abs() > eps  # the empty subset already does
    for size in range(1, min(max_size, n) + 1):
        if not bool(open_rows.any()):
            break
        combos = torch.tensor(list(itertools.combinations(range(n), size)), dtype=torch.int64)
        rows = open_rows.nonzero().flatten()
        sums = candidates[rows][:, combos].sum(dim=2)  # (r, combos)
        errors = (sums - targets[rows, None]).abs()
        best_error, best = errors.min(dim=1)
        solved = best_error <= eps
        chosen = combos[best[solved]]
        picked = torch.zeros(int(solved.sum()), n, dtype=torch.bool)
        picked.scatter_(1, chosen, True)
        mask[rows[solved]] = picked
        open_rows[rows[solved]] = False
    if bool(open_rows.any()):
        rows = open_rows.nonzero().flatten()
        mask[rows] = exact(targets[rows], candidates[rows])
    return mask


@SOLVERS.register("mip", "one mixed-integer program per target through HiGHS (optional: highspy)")
def mip(targets: Tensor, candidates: Tensor) -> Tensor:
    """min e subject to -e <= sum(a x) - t <= e, x binary; solved by HiGHS to optimality."""
    from ticketlab.strong.mip import solve_one

    rows = [solve_one(float(t), candidates[i].tolist()) for i, t in enumerate(targets.tolist())]
    return torch.tensor(rows, dtype=torch.bool).reshape(candidates.shape)


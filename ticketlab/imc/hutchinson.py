"""Hutchinson's estimator of the Hessian diagonal: diag(H) ~ mean over z of z * (H z)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def hutchinson_diagonal(
    matvec: Callable[[Tensor], Tensor],
    size: int,
    *,
    samples: int,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> Tensor:
    """An unbiased estimate of diag(A) from ``samples`` Rademacher probes (one product each).

    Entry i has variance sum over j != i of A_ij^2 / samples; for a diagonal A it is exact
    with a single probe.
    """
    if samples < 1:
        raise ValueError(f"Hutchinson needs at least one sample, got {samples}")
    total = torch.zeros(size, dtype=torch.float64, device=device)
    for _ in range(samples):
        z = (torch.randint(0, 2, (size,), generator=generator) * 2 - 1).to(dtype=dtype, device=device)
        total += (z * matvec(z)).to(torch.float64)
    return (total / samples).to(dtype)

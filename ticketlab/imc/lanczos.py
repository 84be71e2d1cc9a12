"""Extreme eigenpairs of a symmetric operator from matrix-vector products (Lanczos).

Full reorthogonalisation (classical Gram-Schmidt, repeated when needed) keeps the basis orthonormal, so
no spurious copies of converged eigenvalues appear. When the Krylov space becomes
invariant (beta = 0, as it does on a tiny net), Lanczos restarts from a fresh random
vector orthogonal to the basis, so repeated eigenvalues are found with their multiplicity
and, after d steps, the whole spectrum is exact.

A Ritz pair (theta, y) counts as converged when its residual ||A y - theta y||, read off
the tridiagonal matrix as |beta_m s_m|, is at most ``tol * max |theta|``; every
eigenvalue of A then lies within that residual of theta. Lanczos can in principle miss an
eigenvalue whose eigenvector is orthogonal to every Krylov vector; a random start makes
that a measure-zero event, but the extreme blocks are "known" only in that sense.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

MatVec = Callable[[Tensor], Tensor]
Log = Callable[[str], None]


@dataclass
class Spectrum:
    """The extreme eigenpairs found, each block in ascending order.

    ``bottom`` holds lambda_1..lambda_b, ``top`` lambda_{d-t+1}..lambda_d (1-based, ascending
    over the whole spectrum of size d). With ``complete`` the two blocks together are the
    entire spectrum (``bottom`` then holds all of it and ``top`` is empty).
    """

    size: int
    bottom_values: Tensor
    top_values: Tensor
    bottom_vectors: Tensor | None
    top_vectors: Tensor | None
    bottom_residuals: Tensor
    top_residuals: Tensor
    steps: int
    complete: bool
    converged: bool
    residual_bound: float

    def known_pairs(self) -> list[tuple[int, float, float]]:
        """Consecutive known eigenvalues as (N, lambda_N, lambda_{N+1}), N 1-based ascending.

        Only converged Ritz values count, and only those reached from their end of the
        spectrum without a gap in convergence (an unconverged value may stand for several).
        """
        ok_bottom = _prefix(self.bottom_residuals <= self.residual_bound)
        ok_top = _prefix((self.top_residuals <= self.residual_bound).flip(0))
        bottom = self.bottom_values[:ok_bottom]
        top = self.top_values[self.top_values.numel() - ok_top :]
        pairs = [(i + 1, float(bottom[i]), float(bottom[i + 1])) for i in range(bottom.numel() - 1)]
        first_top = self.size - top.numel() + 1
        pairs += [(first_top + i, float(top[i]), float(top[i + 1])) for i in range(top.numel() - 1)]
        return pairs

    def summary(self) -> dict[str, object]:
        """JSON-able eigenvalues and residuals (no vectors)."""
        return {
            "size": self.size,
            "bottom_eigenvalues": self.bottom_values.tolist(),
            "top_eigenvalues": self.top_values.tolist(),
            "bottom_residuals": self.bottom_residuals.tolist(),
            "top_residuals": self.top_residuals.tolist(),
            "lanczos_steps": self.steps,
            "complete": self.complete,
            "converged": self.converged,
            "residual_bound": self.residual_bound,
        }


def _prefix(flags: Tensor) -> int:
    """The number of leading True entries."""
    false = (~flags).nonzero()
    return int(false[0]) if false.numel() else int(flags.numel())


def extreme_eigenpairs(
    matvec: MatVec,
    size: int,
    *,
    top: int,
    bottom: int = 0,
    max_steps: int = 500,
    tol: float = 1e-3,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    vectors: bool = True,
    check_every: int = 10,
    log: Log | None = None,
) -> Spectrum:
    """The ``top`` largest and ``bottom`` smallest eigenpairs of the symmetric ``matvec``.

    Runs until all of them have converged (see the module docstring), the space is
    exhausted (``size`` steps: the spectrum is then exact and complete), or ``max_steps``.
    Memory: one basis vector of ``size`` entries per step, never a ``size`` x ``size`` matrix.
    """
    if top < 0 or bottom < 0 or top + bottom < 1:
        raise ValueError(f"ask for at least one eigenpair, got top={top}, bottom={bottom}")
    steps_cap = max(1, min(max_steps, size))
    basis = torch.empty(steps_cap, size, dtype=dtype, device=device)
    alphas: list[float] = []
    betas: list[float] = []  # betas[j] couples basis j and j+1
    q = _random_unit(size, generator, dtype, device)
    last_beta = 0.0
    theta = s = None
    done = False
    for j in range(steps_cap):
        basis[j] = q
        w = matvec(q).to(dtype)
        alpha = float(q @ w)
        w = w - alpha * q
        if j > 0:
            w = w - betas[j - 1] * basis[j - 1]
        w = _orthogonalise(w, basis[: j + 1])
        alphas.append(alpha)
        last_beta = float(w.norm())
        scale = max(abs(a) for a in alphas) + max(betas, default=0.0)
        steps = j + 1
        if steps == steps_cap or steps % check_every == 0:
            theta, s = _ritz(alphas, betas)
            done = steps == size or _all_converged(theta, s, last_beta, top, bottom, tol)
            if log is not None:
                log(f"lanczos step {steps}: {_converged_count(theta, s, last_beta, tol)} Ritz pairs converged")
            if done or steps == steps_cap:
                break
        if last_beta <= 1e-10 * max(scale, 1e-30):
            # Invariant subspace: continue from a fresh direction orthogonal to the basis.
            q = _orthogonalise(_random_unit(size, generator, dtype, device), basis[: j + 1])
            q = q / q.norm()
            betas.append(0.0)
        else:
            q = w / last_beta
            betas.append(last_beta)
    assert theta is not None and s is not None
    complete = steps == size
    m = theta.numel()
    if complete:  # the Krylov space is everything: exact pairs, all in the bottom block
        residuals = torch.zeros_like(theta)
        bottom_idx, top_idx = torch.arange(m), torch.arange(0)
    else:
        residuals = (last_beta * s[-1, :]).abs()
        # Stopped short of top + bottom Ritz values: the top block has priority.
        top = min(top, m)
        bottom = min(bottom, m - top)
        bottom_idx, top_idx = torch.arange(bottom), torch.arange(m - top, m)

    def pick(idx: Tensor) -> Tensor | None:
        if not vectors:
            return None
        coefficients = s[:, idx].to(dtype=dtype, device=basis.device)
        return coefficients.T @ basis[:m]

    return Spectrum(
        size=size,
        bottom_values=theta[bottom_idx],
        top_values=theta[top_idx],
        bottom_vectors=pick(bottom_idx),
        top_vectors=pick(top_idx),
        bottom_residuals=residuals[bottom_idx],
        top_residuals=residuals[top_idx],
        steps=steps,
        complete=complete,
        converged=done,
        residual_bound=_residual_bound(theta, tol),
    )


def _orthogonalise(w: Tensor, basis: Tensor) -> Tensor:
    """``w`` minus its projection on the rows of ``basis``; a second pass only when the first
    removed most of ``w`` (Kahan's "twice is enough": then rounding may have left some)."""
    before = w.norm()
    w = w - basis.T @ (basis @ w)
    if w.norm() < 0.7 * before:
        w = w - basis.T @ (basis @ w)
    return w


def _random_unit(size: int, generator: torch.Generator, dtype: torch.dtype, device: torch.device | str) -> Tensor:
    v = torch.randn(size, generator=generator, dtype=torch.float64)
    return (v / v.norm()).to(dtype=dtype, device=device)


def _ritz(alphas: list[float], betas: list[float]) -> tuple[Tensor, Tensor]:
    """Eigenvalues (ascending) and eigenvectors of the tridiagonal matrix, in float64."""
    m = len(alphas)
    t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if m > 1:
        off = torch.tensor(betas[: m - 1], dtype=torch.float64)
        t += torch.diag(off, 1) + torch.diag(off, -1)
    return torch.linalg.eigh(t)


def _residual_bound(theta: Tensor, tol: float) -> float:
    """The residual below which a Ritz pair counts as converged: tol x max |theta|."""
    scale = float(theta.abs().max()) if theta.numel() else 0.0
    return tol * max(scale, 1e-30)


def _converged_mask(theta: Tensor, s: Tensor, beta: float, tol: float) -> Tensor:
    return (beta * s[-1, :]).abs() <= _residual_bound(theta, tol)


def _converged_count(theta: Tensor, s: Tensor, beta: float, tol: float) -> int:
    return int(_converged_mask(theta, s, beta, tol).sum())


def _all_converged(theta: Tensor, s: Tensor, beta: float, top: int, bottom: int, tol: float) -> bool:
    m = theta.numel()
    if m < top + bottom:
        return False
    ok = _converged_mask(theta, s, beta, tol)
    return bool(ok[:bottom].all()) and bool(ok[m - top :].all())

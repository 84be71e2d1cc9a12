"""Lip(F) on the epsilon-ball around W*, from Hessian-vector products.

Near W* the gradient flow reads dU/dt = -A U + F(U) with A = H(W*) and
F(U) = -(grad L(W* + U) - grad L(W*) - A U), so DF(U) = -(H(W* + U) - H(W*)) and, by the
mean-value theorem, Lip(F) on the ball B = {||U||_p <= epsilon} is
sup over U in B of ||H(W* + U) - H(W*)||_2.

The search (our reading of the seed, which states only p and epsilon) alternates two
steps from random starts: power iteration on D = H(W* + U) - H(W*) for its top singular
direction u (two HVPs per step), then a jump of U to the point of the ball that
maximises the linearised curvature change s * u^T H(W* + U) u (s the sign of u^T D u;
its gradient is one third-order product, the gradient of an HVP). It returns the largest
||D u|| seen: a lower bound of Lip(F), exact on the quadratic (0) and the cubic
(1/6)(a.w)^3 (epsilon ||a||_q ||a||_2^2 with q the dual exponent of p).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ticketlab.imc.objective import Objective


@dataclass(frozen=True)
class LipschitzEstimate:
    """The estimate, where on the ball it was found, and the work it took."""

    value: float
    epsilon: float
    p: float
    hvps: int
    restarts: int

    def as_dict(self) -> dict[str, float | int]:
        return {"value": self.value, "epsilon": self.epsilon, "p": self.p, "hvps": self.hvps,
                "restarts": self.restarts}


def to_p_sphere(direction: Tensor, epsilon: float, p: float) -> Tensor:
    """``direction`` rescaled to p-norm ``epsilon`` (zero stays zero)."""
    norm = direction.norm(p=p)
    return direction if float(norm) == 0.0 else direction * (epsilon / norm)


def ball_maximiser(gradient: Tensor, epsilon: float, p: float) -> Tensor:
    """argmax of gradient . v over ||v||_p <= epsilon (the p-ball's linear oracle)."""
    g = gradient.to(torch.float64)
    if math.isinf(p):
        v = epsilon * torch.sign(g)
    elif p == 1.0:
        v = torch.zeros_like(g)
        i = int(g.abs().argmax())
        v[i] = epsilon * torch.sign(g[i])
    else:
        q = p / (p - 1.0)
        power = g.abs() ** (q - 1.0)
        norm = float(power.norm(p=p))
        v = torch.zeros_like(g) if norm == 0.0 else epsilon * torch.sign(g) * power / norm
    return v.to(gradient.dtype)


def lipschitz_estimate(
    objective: Objective,
    point: Tensor,
    *,
    epsilon: float,
    p: float = 2.0,
    restarts: int = 3,
    iterations: int = 10,
    power_steps: int = 5,
    generator: torch.Generator,
) -> LipschitzEstimate:
    """Estimate sup over ||U||_p <= epsilon of ||H(point + U) - H(point)||_2 (module docstring)."""
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise ValueError(f"epsilon must be positive and finite, got {epsilon}")
    if not p >= 1:
        raise ValueError(f"p must be at least 1, got {p}")
    before = objective.hvp_count
    best = 0.0
    size, dtype, device = objective.size, objective.dtype, objective.device

    def difference(v: Tensor, u: Tensor) -> Tensor:
        return objective.hvp(point + v, u) - objective.hvp(point, u)

    for _ in range(restarts):
        v = to_p_sphere(torch.randn(size, generator=generator, dtype=torch.float64).to(dtype=dtype, device=device),
                        epsilon, p)
        u = torch.randn(size, generator=generator, dtype=torch.float64).to(dtype=dtype, device=device)
        u = u / u.norm()
        for _ in range(iterations):
            du = difference(v, u)
            for _ in range(power_steps):
                norm = float(du.norm())
                if norm == 0.0:
                    break
                u = du / norm
                du = difference(v, u)
            size_du = float(du.norm())
            best = max(best, size_du)
            if size_du == 0.0:
                break  # the curvature does not move along u here (a quadratic piece)
            sign = 1.0 if float(u @ du) >= 0 else -1.0
            step = objective.curvature_gradient(point + v, u) * sign
            if float(step.norm()) == 0.0:
                break
            moved = ball_maximiser(step, epsilon, p)
            if torch.equal(moved, v):
                break
            v = moved
        best = max(best, float(difference(v, u).norm()))
    return LipschitzEstimate(value=best, epsilon=epsilon, p=p, hvps=objective.hvp_count - before, restarts=restarts)

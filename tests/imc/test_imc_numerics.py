"""IMC's numerical parts against independent oracles: exact Hessians, finite differences,
closed forms of Lip(F), hand-made spectra."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ticketlab.imc.gap import find_gap
from ticketlab.imc.hutchinson import hutchinson_diagonal
from ticketlab.imc.lanczos import extreme_eigenpairs
from ticketlab.imc.lipschitz import ball_maximiser, lipschitz_estimate
from ticketlab.imc.objective import Objective, flat_parameters, model_objective


def tiny_problem(seed: int = 0) -> tuple[nn.Module, list[str], list[tuple[torch.Tensor, torch.Tensor]]]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    x = torch.randn(40, 6, dtype=torch.float64)
    y = torch.randint(0, 3, (40,))
    return model, ["1.weight", "3.weight"], [(x[:25], y[:25]), (x[25:], y[25:])]


def exact_hessian(objective: Objective, point: torch.Tensor) -> torch.Tensor:
    def total(w: torch.Tensor) -> torch.Tensor:
        return sum(term(w) for term in objective.terms)  # type: ignore[return-value]

    return torch.autograd.functional.hessian(total, point)


def test_hvp_matches_central_finite_differences() -> None:
    model, names, batches = tiny_problem()
    objective = model_objective(model, names, batches)
    w = flat_parameters(model, names)
    v = torch.randn(w.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    h = 1e-5
    finite = (objective.gradient(w + h * v) - objective.gradient(w - h * v)) / (2 * h)
    assert torch.allclose(objective.hvp(w, v), finite, rtol=1e-6, atol=1e-8)


def test_objective_is_the_mean_loss_over_all_batches() -> None:
    model, names, batches = tiny_problem()
    objective = model_objective(model, names, batches)
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    with torch.no_grad():
        expected = nn.functional.cross_entropy(model(x), y)
    assert float(objective.value(flat_parameters(model, names))) == pytest.approx(float(expected), rel=1e-12)


def test_lanczos_with_d_steps_gives_the_exact_spectrum_of_a_tiny_net() -> None:
    model, names, batches = tiny_problem()
    objective = model_objective(model, names, batches)
    w = flat_parameters(model, names)
    hessian = exact_hessian(objective, w)
    exact = torch.linalg.eigvalsh(hessian)
    d = w.numel()
    found = extreme_eigenpairs(lambda v: objective.hvp(w, v), d, top=d, max_steps=10 * d,
                               generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert found.complete and found.steps == d
    assert torch.allclose(found.bottom_values, exact, atol=1e-9)
    # Ritz vectors are eigenvectors: H y = lambda y.
    vectors = found.bottom_vectors
    assert torch.allclose(vectors @ hessian, found.bottom_values[:, None] * vectors, atol=1e-8)


def test_lanczos_extreme_eigenvalues_converge_before_d_steps() -> None:
    gen = torch.Generator().manual_seed(3)
    d = 400
    q, _ = torch.linalg.qr(torch.randn(d, d, dtype=torch.float64, generator=gen))
    # A bulk in [0, 1] and five well separated outliers at each end.
    values = torch.cat([torch.linspace(-30, -10, 5, dtype=torch.float64), torch.rand(d - 10, generator=gen,
                        dtype=torch.float64), torch.linspace(10, 50, 5, dtype=torch.float64)])
    matrix = (q * values) @ q.T
    found = extreme_eigenpairs(lambda v: matrix @ v, d, top=5, bottom=5, max_steps=200, tol=1e-8,
                               generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert found.converged and not found.complete and found.steps < 200
    exact = torch.linalg.eigvalsh(matrix)
    assert torch.allclose(found.top_values, exact[-5:], atol=1e-6)
    assert torch.allclose(found.bottom_values, exact[:5], atol=1e-6)
    assert [n for n, _, _ in found.known_pairs()] == [1, 2, 3, 4, d - 4, d - 3, d - 2, d - 1]


def test_lanczos_finds_repeated_eigenvalues_with_their_multiplicity() -> None:
    values = torch.tensor([1.0, 1.0, 1.0, 2.0, 5.0, 5.0], dtype=torch.float64)
    found = extreme_eigenpairs(lambda v: values * v, 6, top=2, bottom=2, max_steps=50,
                               generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert found.complete
    assert torch.allclose(found.bottom_values, values, atol=1e-12)


def test_hutchinson_is_exact_on_a_diagonal_and_unbiased_on_a_dense_matrix() -> None:
    diag = torch.tensor([3.0, -1.0, 0.5, 7.0], dtype=torch.float64)
    got = hutchinson_diagonal(lambda v: diag * v, 4, samples=1, generator=torch.Generator().manual_seed(0),
                              dtype=torch.float64)
    assert torch.equal(got, diag)
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(30, 30, dtype=torch.float64, generator=gen)
    a = a + a.T
    got = hutchinson_diagonal(lambda v: a @ v, 30, samples=4000, generator=gen, dtype=torch.float64)
    off = (a.square().sum(1) - a.diag().square()).sqrt() / math.sqrt(4000)  # one standard deviation
    assert torch.all((got - a.diag()).abs() < 5 * off)


def test_gap_rule_on_a_synthetic_spectrum() -> None:
    values = [-0.5, -0.4, 0.0, 0.1, 0.15, 3.0, 3.2, 9.0]
    pairs = [(i + 1, values[i], values[i + 1]) for i in range(len(values) - 1)]
    # Widths: 0.1, 0.4, 0.1, 0.05, 2.85, 0.2, 5.8.
    assert find_gap(pairs, lipschitz=1.0).index == 5  # 2.85 > 2: the smallest such N
    assert find_gap(pairs, lipschitz=2.0).index == 7  # only 5.8 > 4
    assert find_gap(pairs, lipschitz=2.9) is None  # 5.8 is not > 5.8
    assert find_gap(pairs, lipschitz=0.1).index == 2  # 0.4 > 0.2
    assert find_gap(pairs, lipschitz=0.0).index == 1
    assert find_gap(pairs, lipschitz=1.0).width == pytest.approx(2.85)
    with pytest.raises(ValueError):
        find_gap(pairs, lipschitz=-1.0)


def quadratic(a: torch.Tensor) -> Objective:
    return Objective([lambda w: 0.5 * w @ (a @ w) + w.sum()], a.shape[0], dtype=torch.float64)


def cubic(a: torch.Tensor) -> Objective:
    return Objective([lambda w: (a @ w) ** 3 / 6 + 0.5 * w @ w], a.numel(), dtype=torch.float64)


def test_lipschitz_estimate_is_zero_for_a_quadratic_loss() -> None:
    gen = torch.Generator().manual_seed(0)
    b = torch.randn(8, 8, dtype=torch.float64, generator=gen)
    objective = quadratic(b @ b.T)
    point = torch.randn(8, dtype=torch.float64, generator=gen)
    found = lipschitz_estimate(objective, point, epsilon=0.01, generator=gen)
    assert found.value == 0.0


@pytest.mark.parametrize("p, dual", [(2.0, 2.0), (math.inf, 1.0), (1.0, math.inf), (3.0, 1.5)])
def test_lipschitz_estimate_is_exact_for_a_known_cubic(p: float, dual: float) -> None:
    # L = (a.w)^3 / 6 + |w|^2 / 2: H(w) = (a.w) a a^T + I, so H(w+v) - H(w) = (a.v) a a^T and
    # Lip = sup over |v|_p <= eps of |a.v| |a|_2^2 = eps |a|_q |a|_2^2 (q the dual exponent).
    gen = torch.Generator().manual_seed(2)
    a = torch.randn(12, dtype=torch.float64, generator=gen)
    point = torch.randn(12, dtype=torch.float64, generator=gen)
    eps = 0.01
    found = lipschitz_estimate(cubic(a), point, epsilon=eps, p=p, generator=gen)
    expected = eps * float(a.norm(p=dual)) * float(a.norm()) ** 2
    assert found.value == pytest.approx(expected, rel=1e-9)


def test_ball_maximiser_attains_the_dual_norm() -> None:
    g = torch.tensor([3.0, -4.0, 1.0], dtype=torch.float64)
    for p, q in [(2.0, 2.0), (math.inf, 1.0), (1.0, math.inf), (4.0, 4.0 / 3.0)]:
        v = ball_maximiser(g, 0.5, p)
        assert float(v.norm(p=p)) == pytest.approx(0.5)
        assert float(g @ v) == pytest.approx(0.5 * float(g.norm(p=q)))

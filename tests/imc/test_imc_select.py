"""IMC's step 6 (fastness, counts, masks) on hand-made spectra, and layer blocks of the Hessian."""

from __future__ import annotations

import torch

from tests.imc.test_imc_numerics import exact_hessian, tiny_problem
from ticketlab.imc.analysis import fastness
from ticketlab.imc.config import SelectConfig
from ticketlab.imc.gap import Gap
from ticketlab.imc.lanczos import extreme_eigenpairs
from ticketlab.imc.objective import flat_parameters, model_objective
from ticketlab.imc.select import block_mask, imc_mask, kept_count


def symmetric(values: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    q, _ = torch.linalg.qr(torch.randn(values.numel(), values.numel(), dtype=torch.float64,
                                       generator=torch.Generator().manual_seed(seed)))
    return (q * values) @ q.T, q


def test_fastness_is_the_squared_norm_in_the_eigenvectors_above_the_gap() -> None:
    values = torch.tensor([0.1, 0.2, 0.3, 5.0, 6.0, 7.0], dtype=torch.float64)
    matrix, q = symmetric(values, 0)
    spectrum = extreme_eigenpairs(lambda v: matrix @ v, 6, top=6, generator=torch.Generator().manual_seed(1),
                                  dtype=torch.float64)
    assert spectrum.complete
    gap = Gap(index=3, lower=0.3, upper=5.0, threshold=1.0)
    expected = q[:, 3:].square().sum(1)  # eigenvectors of 5, 6, 7
    assert torch.allclose(fastness(spectrum, gap, fallback_top=2), expected, atol=1e-10)
    # No gap: the fast side is the fallback_top largest.
    assert torch.allclose(fastness(spectrum, None, fallback_top=2), q[:, 4:].square().sum(1), atol=1e-10)


def test_fastness_from_either_resolved_end_of_a_large_spectrum() -> None:
    d = 300
    values = torch.cat([torch.tensor([-9.0, -8.0, -1.0], dtype=torch.float64),
                        torch.linspace(0, 0.5, d - 7, dtype=torch.float64),
                        torch.tensor([10.0, 20.0, 30.0, 40.0], dtype=torch.float64)])
    matrix, q = symmetric(values, 2)
    spectrum = extreme_eigenpairs(lambda v: matrix @ v, d, top=4, bottom=3, max_steps=120, tol=1e-9,
                                  generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert spectrum.converged and not spectrum.complete
    # A gap at the top (after N = d - 3): the fast side is the top three eigenvectors.
    top_gap = Gap(index=d - 3, lower=10.0, upper=20.0, threshold=1.0)
    assert (d - 3, 10.0, 20.0) in [(n, round(a, 6), round(b, 6)) for n, a, b in spectrum.known_pairs()]
    assert torch.allclose(fastness(spectrum, top_gap, 3), q[:, -3:].square().sum(1), atol=1e-6)
    # A gap at the bottom (after N = 2): fast is everything but the two smallest.
    bottom_gap = Gap(index=2, lower=-8.0, upper=-1.0, threshold=1.0)
    assert torch.allclose(fastness(spectrum, bottom_gap, 3), 1 - q[:, :2].square().sum(1), atol=1e-6)


def test_counts_follow_the_gap_and_the_side_kept() -> None:
    block = {"block": "all", "d": 100, "gap": {"index": 93}}
    assert kept_count(block, SelectConfig(keep="slow")) == (93, "gap")
    assert kept_count(block, SelectConfig(keep="fast")) == (7, "gap")
    assert kept_count({"block": "all", "d": 100, "gap": None}, SelectConfig(sparsity=0.75)) == (25, "fallback")
    assert kept_count(block, SelectConfig(budget="fixed", sparsity=0.75)) == (25, "fixed")


def test_block_mask_keeps_the_highest_scores_and_splits_by_layer() -> None:
    scores = torch.tensor([0.9, 0.1, 0.5, 0.7, 0.2, 0.8])
    shapes = {"a": torch.Size([2, 2]), "b": torch.Size([2])}
    mask = block_mask(scores, 3, ["a", "b"], shapes, torch.Generator().manual_seed(0))
    assert mask["a"].tolist() == [[True, False], [False, True]] and mask["b"].tolist() == [False, True]


def test_imc_mask_keeps_the_slow_side_as_the_lowest_fastness() -> None:
    blocks = [{"block": "all", "d": 4, "gap": {"index": 3}, "parameters": ["w"]}]
    tensors = {"all": {"fastness": torch.tensor([0.4, 0.1, 0.9, 0.2]), "diagonal": torch.tensor([1.0, 2.0, 3.0, 4.0])}}
    shapes = {"w": torch.Size([4])}
    slow, record = imc_mask(blocks, tensors, shapes, SelectConfig(keep="slow"), torch.Generator().manual_seed(0))
    assert slow["w"].tolist() == [True, True, False, True] and record[0]["kept"] == 3 and record[0]["k"] == 1
    fast, _ = imc_mask(blocks, tensors, shapes, SelectConfig(keep="fast", map="diagonal"),
                       torch.Generator().manual_seed(0))
    assert fast["w"].tolist() == [False, False, False, True]


def test_a_layer_objective_is_the_diagonal_block_of_the_full_hessian() -> None:
    model, names, batches = tiny_problem()
    full = model_objective(model, names, batches)
    hessian = exact_hessian(full, flat_parameters(model, names))
    first = model_objective(model, names[:1], batches)
    size = first.size
    block = exact_hessian(first, flat_parameters(model, names[:1]))
    assert torch.allclose(block, hessian[:size, :size], atol=1e-12)

"""Quotas: exact budgets on real architectures, and each rule against its own definition."""

from __future__ import annotations

import functools
import math

import pytest
import torch

from ticketlab.errors import ConfigError
from ticketlab.models import build_model
from ticketlab.pruning import QUOTAS, apportion, layer_counts

DENSITIES = (1e-4, 1e-3, 0.01, 0.05, 0.2, 0.5, 0.77, 0.95, 0.999, 1.0)
ARCHITECTURES = {
    "lenet300": (1, 28, 28),
    "lenet5": (3, 32, 32),
    "vgg16": (3, 32, 32),
    "resnet20": (3, 32, 32),
}


@functools.cache
def shapes_of(name: str) -> dict[str, torch.Size]:
    model = build_model(name, ARCHITECTURES[name], 10)
    return {n: p.shape for n, p in model.named_parameters() if n.endswith("weight") and p.dim() > 1}


@functools.cache
def scores_of(name: str) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return {n: torch.rand(s, generator=gen) for n, s in shapes_of(name).items()}


def sizes(shapes: dict[str, torch.Size]) -> dict[str, int]:
    return {n: math.prod(s) for n, s in shapes.items()}


def uniform_plus_feasible(shapes: dict[str, torch.Size], density: float) -> bool:
    n = list(sizes(shapes).values())
    return density * sum(n) >= n[0] + 0.2 * n[-1]


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
@pytest.mark.parametrize("quota", QUOTAS.names())
def test_every_quota_meets_its_budget_exactly(arch: str, quota: str) -> None:
    shapes = shapes_of(arch)
    total, n = sum(sizes(shapes).values()), sizes(shapes)
    densities = DENSITIES if arch != "vgg16" or quota != "global" else (1e-4, 0.05, 0.77)
    for density in densities:
        if quota == "uniform-plus" and not uniform_plus_feasible(shapes, density):
            with pytest.raises(ConfigError, match="uniform-plus cannot reach sparsity"):
                layer_counts(quota, shapes, density)
            continue
        counts = layer_counts(
            quota, shapes, density, scores_of(arch) if quota == "global" else None
        )
        assert list(counts) == list(shapes)
        assert sum(counts.values()) == round(density * total)
        assert all(0 <= counts[layer] <= n[layer] for layer in n)


def test_global_counts_are_the_brute_force_top_k() -> None:
    shapes, scores = shapes_of("lenet5"), scores_of("lenet5")
    everything = torch.cat([s.flatten() for s in scores.values()])
    owner = torch.cat([torch.full((s.numel(),), i) for i, s in enumerate(scores.values())])
    for density in (1e-3, 0.1, 0.6):
        k = round(density * everything.numel())
        top = owner[torch.argsort(everything, descending=True)[:k]]
        expected = torch.bincount(top, minlength=len(shapes)).tolist()
        assert list(layer_counts("global", shapes, density, scores).values()) == expected


def test_global_shares_ties_at_the_threshold() -> None:
    shapes = {"a": torch.Size([10]), "b": torch.Size([30])}
    flat = {"a": torch.ones(10), "b": torch.ones(30)}
    assert QUOTAS.get("global")(shapes, 0.5, flat) == pytest.approx({"a": 5.0, "b": 15.0})
    # Three 3s tie for two places: 4/3 of them in a, 2/3 in b; a also has nothing below.
    shapes = {"a": torch.Size([3]), "b": torch.Size([2])}
    scores = {"a": torch.tensor([3.0, 3.0, 1.0]), "b": torch.tensor([3.0, 2.0])}
    assert QUOTAS.get("global")(shapes, 0.4, scores) == pytest.approx({"a": 4 / 3, "b": 2 / 3})
    assert layer_counts("global", shapes, 0.4, scores) == {"a": 1, "b": 1}


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_uniform_is_the_target_density_in_every_layer(arch: str) -> None:
    n = sizes(shapes_of(arch))
    for density in DENSITIES:
        counts = layer_counts("uniform", shapes_of(arch), density)
        assert all(abs(counts[layer] - density * n[layer]) < 1 for layer in n)


@pytest.mark.parametrize("arch", ["lenet5", "vgg16", "resnet20"])
def test_uniform_plus_first_dense_last_at_least_a_fifth_rest_uniform(arch: str) -> None:
    shapes = shapes_of(arch)
    n = list(sizes(shapes).values())
    names = list(shapes)
    for density in (0.1, 0.3, 0.5, 0.9):
        if not uniform_plus_feasible(shapes, density):
            continue
        counts = list(layer_counts("uniform-plus", shapes, density).values())
        assert counts[0] == n[0]
        assert counts[-1] >= math.floor(0.2 * n[-1])
        # The middle layers share one density u; the last keeps max(0.2, u).
        budget, middle = density * sum(n) - n[0], sum(n[1:-1])
        u = (budget - 0.2 * n[-1]) / middle
        if u > 0.2:
            u = budget / (middle + n[-1])
        assert all(abs(c - u * m) < 1 for c, m in zip(counts[1:-1], n[1:-1], strict=True))
        assert abs(counts[-1] - max(u, 0.2) * n[-1]) < 1, names[-1]


def test_uniform_plus_refuses_what_it_cannot_reach_and_says_the_limit() -> None:
    shapes = {"first": torch.Size([100]), "mid": torch.Size([800]), "last": torch.Size([100])}
    assert layer_counts("uniform-plus", shapes, 0.12) == {"first": 100, "mid": 0, "last": 20}
    with pytest.raises(ConfigError) as error:
        layer_counts("uniform-plus", shapes, 0.1)
    assert "sparsity 0.9" in str(error.value) and "highest sparsity it can reach is 0.88" in str(
        error.value
    )
    with pytest.raises(ConfigError, match="two"):
        layer_counts("uniform-plus", {"only.weight": torch.Size([5, 5])}, 0.5)


def test_erk_two_layers_by_hand() -> None:
    # p = (100+100)/10000 = 0.02 for "big", (10+2)/20 = 0.6 for "small".
    shapes = {"big": torch.Size([100, 100]), "small": torch.Size([10, 2])}
    low = QUOTAS.get("erk")(shapes, 0.02, None)  # eps = 200.4 / 212
    assert low == pytest.approx({"big": 200.4 / 212 * 200, "small": 200.4 / 212 * 12})
    high = QUOTAS.get("erk")(shapes, 0.5, None)  # eps * 0.6 > 1: small dense, eps = 4990 / 200
    assert high == pytest.approx({"big": 4990.0, "small": 20.0})


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_erk_dense_layers_would_exceed_one_and_the_rest_follow_p(arch: str) -> None:
    shapes = shapes_of(arch)
    n = sizes(shapes)
    p = {layer: sum(s) / n[layer] for layer, s in shapes.items()}
    for density in DENSITIES[:-1]:
        real = QUOTAS.get("erk")(shapes, density, None)
        sparse = [layer for layer in n if real[layer] < n[layer]]
        eps = real[sparse[0]] / (p[sparse[0]] * n[sparse[0]])
        ratios = [real[layer] / (p[layer] * n[layer]) for layer in sparse]
        assert ratios == pytest.approx([eps] * len(sparse), rel=1e-9)
        assert all(eps * p[layer] >= 1 - 1e-9 for layer in n if layer not in sparse)
        assert sum(real.values()) == pytest.approx(density * sum(n.values()), rel=1e-9)


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_igq_follows_one_over_one_plus_f_n(arch: str) -> None:
    shapes = shapes_of(arch)
    n = sizes(shapes)
    previous = None
    for density in DENSITIES[:-1]:
        real = QUOTAS.get("igq")(shapes, density, None)
        factors = [(n[layer] / real[layer] - 1) / n[layer] for layer in n]
        assert max(factors) == pytest.approx(min(factors), rel=1e-6) and min(factors) > 0
        assert sum(real.values()) == pytest.approx(density * sum(n.values()), rel=1e-12)
        if previous is not None:
            assert all(real[layer] > previous[layer] for layer in n)
        previous = real
    dense = {layer: float(n[layer]) for layer in n}
    assert QUOTAS.get("igq")(shapes, 1.0, None) == pytest.approx(dense)


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_igq_at_tiny_density_every_layer_keeps_about_one_over_f(arch: str) -> None:
    real = QUOTAS.get("igq")(shapes_of(arch), 1e-4, None)
    values = list(real.values())
    assert max(values) / min(values) < 1.1


def test_apportion_largest_remainder_by_hand() -> None:
    caps = {"a": 9, "b": 9, "c": 9}
    assert apportion({"a": 1.5, "b": 2.5, "c": 1.0}, 5, caps) == {"a": 2, "b": 2, "c": 1}
    assert apportion({"a": 1.2, "b": 2.7, "c": 1.1}, 5, caps) == {"a": 1, "b": 3, "c": 1}
    # Caps cut a layer: the rest go where there is room.
    assert apportion({"a": 10.0, "b": 0.0, "c": 0.0}, 10, {"a": 4, "b": 3, "c": 9}) == {
        "a": 4,
        "b": 3,
        "c": 3,
    }
    with pytest.raises(ValueError):
        apportion({"a": 1.0}, 3, {"a": 2})


def test_apportion_sums_exactly_and_stays_within_one() -> None:
    gen = torch.Generator().manual_seed(1)
    for _ in range(200):
        caps = (torch.randint(1, 1000, (7,), generator=gen)).tolist()
        real = (torch.rand(7, generator=gen, dtype=torch.float64) * torch.tensor(caps)).tolist()
        total = round(sum(real))
        counts = apportion(dict(enumerate(real)), total, dict(enumerate(caps)))
        assert sum(counts.values()) == total
        assert all(abs(counts[i] - real[i]) < 1 and 0 <= counts[i] <= caps[i] for i in range(7))

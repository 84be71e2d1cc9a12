"""Pruning to a target effective sparsity: bisection, Algorithm 1, reshuffling."""

from __future__ import annotations

import math

import pytest
import torch

from ticketlab.data import DataConfig, load_data
from ticketlab.errors import ConfigError
from ticketlab.masks import count_kept, full_mask, graph_effective_mask
from ticketlab.models import build_model
from ticketlab.pruning import PruneConfig, prune_at_init, score_batches
from ticketlab.pruning.effective_target import (
    effective_random_mask,
    prune_to_effective,
    reshuffle,
)


def test_bisection_on_a_known_step_function() -> None:
    # Effective sparsity as a function of the kept count: a staircase with a jump at 40.
    def value(mask: dict) -> float:
        k = int(mask["k"].sum())
        return 1.0 if k < 40 else 1.0 - k / 1000

    def mask_at(k: int) -> dict:
        return {"k": torch.arange(1000) < k}

    found = prune_to_effective(mask_at, 10, 1000, 0.95, value)
    assert found.kept == 50 and found.effective_sparsity == pytest.approx(0.95)
    found = prune_to_effective(mask_at, 10, 1000, 0.97, value)
    # 30 kept would be 0.97 but everything below 40 is disconnected: the jump lands below.
    assert found.kept == 40 and found.effective_sparsity == pytest.approx(0.96)
    assert found.evaluations <= math.ceil(math.log2(990)) + 2


def test_bisection_rejects_bad_targets() -> None:
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        prune_to_effective(lambda k: {}, 0, 1, 1.0, lambda m: 0.0)


@pytest.fixture(scope="module")
def setup() -> tuple:
    data = load_data(DataConfig(dataset="synthetic", synthetic_shape="1x10x10", synthetic_train=400, synthetic_test=50))
    model = build_model("lenet300", (1, 10, 10), 10, width=0.2, seed=0)
    return data, model


def oracle_sparsity(model: torch.nn.Module, mask: dict) -> float:
    """Effective sparsity by the independent graph sweep."""
    kept, total = count_kept(graph_effective_mask(model, mask))
    return 1.0 - kept / total


@pytest.mark.parametrize("method, quota", [("snip", "uniform"), ("magnitude", "erk"), ("synflow", "igq"), ("lamp", "global")])
@pytest.mark.parametrize("target", [0.9, 0.98])
def test_effective_target_lands_at_or_just_below(setup: tuple, method: str, quota: str, target: float) -> None:
    data, model = setup
    config = PruneConfig(method=method, quota=quota, sparsity=target, rounds=10 if method == "synflow" else None)
    batches = score_batches(data, 5, 50, 0)
    outcome = prune_at_init(model, full_mask(model), config, batches, (1, 10, 10), torch.Generator().manual_seed(0))
    family = outcome.family

    def effective(mask: dict) -> float:
        return oracle_sparsity(model, mask)

    found = prune_to_effective(family.mask_at, family.min_kept, family.total, target, effective)
    assert oracle_sparsity(model, found.mask) <= target
    assert count_kept(found.mask)[0] == found.kept
    if found.kept > family.min_kept:  # one weight fewer would overshoot the target
        assert oracle_sparsity(model, family.mask_at(found.kept - 1)) > target
    assert found.evaluations <= math.ceil(math.log2(family.total)) + 2


@pytest.mark.parametrize("quota", ["uniform", "erk", "igq", "global"])
def test_approximate_effective_random_pruning(setup: tuple, quota: str) -> None:
    _, model = setup
    template = full_mask(model)
    target = 0.95
    found = effective_random_mask(template, quota, target, lambda m: oracle_sparsity(model, m),
                                  torch.Generator().manual_seed(1))
    value = oracle_sparsity(model, found.mask)
    assert value <= target
    # Just below: the effective density is within a few weights of the target's.
    total = count_kept(template)[1]
    assert (1 - value) * total <= (1 - target) * total + 0.005 * total
    assert found.evaluations <= 2 * math.ceil(math.log2(total)) + 2


def test_reshuffle_keeps_per_layer_counts(setup: tuple) -> None:
    _, model = setup
    template = full_mask(model)
    mask = {n: torch.rand(m.shape, generator=torch.Generator().manual_seed(i)) < 0.1 * (i + 1)
            for i, (n, m) in enumerate(template.items())}
    shuffled = reshuffle(mask, torch.Generator().manual_seed(0))
    assert [int(m.sum()) for m in shuffled.values()] == [int(m.sum()) for m in mask.values()]
    assert any(not torch.equal(shuffled[n], mask[n]) for n in mask)

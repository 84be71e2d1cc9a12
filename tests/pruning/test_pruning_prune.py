"""prune_at_init end to end on tiny models: budgets, untouched models, nested families."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from ticketlab.data import DataBundle, DataConfig, load_data
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask, count_kept, full_mask
from ticketlab.models import build_model
from ticketlab.pruning import (
    QUOTAS,
    SCORES,
    PruneConfig,
    layer_counts,
    prune_at_init,
    score_batches,
)

SHAPE = (1, 8, 8)
CLASSES = 4


@functools.cache
def data() -> DataBundle:
    config = DataConfig(
        dataset="synthetic",
        synthetic_shape="1x8x8",
        synthetic_classes=CLASSES,
        synthetic_train=120,
        synthetic_test=8,
    )
    return load_data(config)


def tiny(name: str, init: str = "default") -> nn.Module:
    return build_model(
        name, SHAPE, CLASSES, width=0.1 if name == "lenet300" else 0.125, init=init, seed=1
    )


def batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    return score_batches(data(), 3, 5, seed=0)


def prune(model: nn.Module, alive: Mask | None = None, seed: int = 0, **config: object):
    alive = alive if alive is not None else full_mask(model)
    return prune_at_init(
        model, alive, PruneConfig(**config), batches(), SHAPE, torch.Generator().manual_seed(seed)
    )


def snapshot(model: nn.Module) -> tuple[dict[str, torch.Tensor], list[bool], list[bool]]:
    state = {k: v.clone() for k, v in model.state_dict().items()}
    return (
        state,
        [m.training for m in model.modules()],
        [p.requires_grad for p in model.parameters()],
    )


def assert_unchanged(model: nn.Module, before: tuple) -> None:
    state, modes, flags = snapshot(model)
    assert all(torch.equal(state[k], before[0][k]) for k in state)
    assert modes == before[1] and flags == before[2]
    assert all(p.grad is None for p in model.parameters())


def assert_nested_family(family, ks: list[int]) -> None:
    previous = None
    for k in sorted(set(ks)):
        mask = family.mask_at(k)
        assert count_kept(mask)[0] == k
        if previous is not None:
            assert all(not (previous[n] & ~mask[n]).any() for n in mask)
        previous = mask


def sparsity_for(name: str, quota: str) -> float:
    # lenet300's first layer alone is most of the net: uniform-plus cannot go far there.
    return 0.1 if (name, quota) == ("lenet300", "uniform-plus") else 0.8


@pytest.mark.parametrize("name", ["lenet300", "conv2"])
@pytest.mark.parametrize("quota", QUOTAS.names())
@pytest.mark.parametrize("method", SCORES.names())
def test_every_method_and_quota(name: str, quota: str, method: str) -> None:
    model = tiny(name)
    before = snapshot(model)
    sparsity = sparsity_for(name, quota)
    outcome = prune(
        model,
        method=method,
        quota=quota,
        sparsity=sparsity,
        rounds=3 if method == "synflow" else None,
    )
    kept, total = count_kept(outcome.mask)
    assert kept == round((1 - sparsity) * total)
    assert_unchanged(model, before)
    family = outcome.family
    assert (family.total, family.min_kept, family.max_kept) == (total, kept, total)
    assert all(torch.equal(outcome.mask[n], m) for n, m in family.mask_at(kept).items())
    step = max((total - kept) // 7, 1)
    assert_nested_family(family, [kept, kept + 1, *range(kept, total, step), total - 1, total])


def test_one_shot_counts_are_the_quota_counts() -> None:
    model = tiny("conv2")
    shapes = {n: m.shape for n, m in full_mask(model).items()}
    for quota in ("uniform", "erk", "igq", "uniform-plus"):
        outcome = prune(model, method="snip", quota=quota, sparsity=0.75)
        assert {n: int(m.sum()) for n, m in outcome.mask.items()} == layer_counts(
            quota, shapes, 0.25
        )


def test_family_counts_follow_the_quota_between_the_ends() -> None:
    model = tiny("conv2")
    shapes = {n: m.shape for n, m in full_mask(model).items()}
    for quota in ("uniform", "erk", "igq"):
        family = prune(model, method="magnitude", quota=quota, sparsity=0.95).family
        total = family.total
        for k in range(family.min_kept, total, 97):
            real = QUOTAS.get(quota)(shapes, k / total, None)
            counts = {n: int(m.sum()) for n, m in family.mask_at(k).items()}
            assert all(abs(counts[n] - real[n]) <= 2 for n in counts), (quota, k)


def test_a_batchnorm_model_is_left_exactly_as_it_was() -> None:
    model = build_model("resnet20", SHAPE, CLASSES, width=0.25)
    for training in (True, False):
        model.train(training)
        before = snapshot(model)
        for method in SCORES.names():
            prune(
                model,
                method=method,
                quota="igq",
                sparsity=0.7,
                rounds=2 if method == "synflow" else None,
            )
            assert_unchanged(model, before)


def test_pruning_from_a_partial_mask_never_revives() -> None:
    model = tiny("conv2")
    alive = prune(model, method="random", quota="uniform", sparsity=0.5).mask
    for rounds in (1, 3):
        outcome = prune(model, alive, method="synflow", quota="erk", sparsity=0.9, rounds=rounds)
        assert all(not (outcome.mask[n] & ~alive[n]).any() for n in alive)
        assert outcome.family.max_kept == count_kept(alive)[0]
        assert_nested_family(
            outcome.family, [outcome.family.min_kept, 1000, outcome.family.max_kept]
        )
        with pytest.raises(ValueError):
            outcome.family.mask_at(outcome.family.max_kept + 1)


@pytest.mark.parametrize("quota", ["global", "igq", "erk"])
def test_iterative_synflow_is_a_loop_of_one_shot_prunes(quota: str) -> None:
    model, rounds, density = tiny("conv2"), 4, 0.05
    outcome = prune(
        model, seed=7, method="synflow", quota=quota, sparsity=1 - density, rounds=rounds
    )
    generator = torch.Generator().manual_seed(7)
    current = full_mask(model)
    for r in range(1, rounds + 1):
        config = PruneConfig(
            method="synflow", quota=quota, sparsity=1 - density ** (r / rounds), rounds=1
        )
        current = prune_at_init(model, current, config, [], SHAPE, generator).mask
        # The family's global ranking reproduces every intermediate mask of the loop.
        intermediate = outcome.family.mask_at(count_kept(current)[0])
        assert all(torch.equal(intermediate[n], current[n]) for n in current), r
    assert all(torch.equal(outcome.mask[n], current[n]) for n in current)


def test_default_synflow_runs_a_hundred_rounds() -> None:
    model = tiny("lenet300")
    outcome = prune(model, method="synflow", quota="global", sparsity=0.99)
    kept, total = count_kept(outcome.mask)
    assert kept == round(0.01 * total)
    assert_nested_family(outcome.family, [kept, kept + 1, total // 2, total])


def test_signed_constant_ties_are_not_kept_as_a_block() -> None:
    model = tiny("conv2", init="signed-constant")
    masks = [
        prune(model, seed=s, method="magnitude", quota="uniform", sparsity=0.5).mask for s in (0, 1)
    ]
    first = masks[0]["conv1.weight"]
    assert not torch.equal(first, masks[1]["conv1.weight"])
    assert 0 < int(first[: first.shape[0] // 2].sum()) < first.numel() // 2


def test_data_dependent_methods_need_batches() -> None:
    model = tiny("lenet300")
    for method in ("snip", "grasp"):
        with pytest.raises(ConfigError, match=method):
            prune_at_init(
                model, full_mask(model), PruneConfig(method=method), [], SHAPE, torch.Generator()
            )


def test_score_batches_are_class_stratified_and_seeded() -> None:
    bundle = data()
    found = score_batches(bundle, 3, 5, seed=0)
    assert [len(y) for _, y in found] == [5, 5, 2]
    labels = torch.cat([y for _, y in found])
    assert torch.bincount(labels, minlength=CLASSES).tolist() == [3] * CLASSES
    images = torch.cat([x for x, _ in found])
    # Every example is a distinct row of the training split with its own label.
    rows = [int(((bundle.train.x == img).flatten(1).all(1)).nonzero()[0]) for img in images]
    assert len(set(rows)) == len(rows) and bundle.train.y[rows].tolist() == labels.tolist()
    again, other = score_batches(bundle, 3, 5, seed=0), score_batches(bundle, 3, 5, seed=1)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(found, again, strict=True))
    assert not torch.equal(images, torch.cat([x for x, _ in other]))
    with pytest.raises(ConfigError, match="--score-per-class 31"):
        score_batches(bundle, 31, 5, seed=0)


@pytest.mark.parametrize("rounds", [None, 5])
def test_unreachable_uniform_plus_names_the_requested_sparsity(rounds: int | None) -> None:
    # tiny lenet300 (78-30-10 hidden at width 0.1): the dense first layer plus a fifth of the
    # last keep well over half the weights, so sparsity 0.9 is out of reach; with rounds, the
    # error must name 0.9, not the sparsity of the first round that falls short.
    model = tiny("lenet300")
    with pytest.raises(ConfigError, match=r"uniform-plus cannot reach sparsity 0\.9:"):
        prune(model, method="synflow", quota="uniform-plus", sparsity=0.9, rounds=rounds)

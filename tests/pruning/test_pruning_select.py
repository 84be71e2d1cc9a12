"""Selection: exact counts among the alive entries, seeded random tie-breaking."""

from __future__ import annotations

import pytest
import torch

from ticketlab.pruning import mask_from_scores


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_keeps_the_highest_scores_exactly() -> None:
    g = gen(0)
    scores = {"a": torch.randn(6, 7, generator=g), "b": torch.randn(50, generator=g)}
    alive = {"a": torch.ones(6, 7, dtype=torch.bool), "b": torch.ones(50, dtype=torch.bool)}
    mask = mask_from_scores(scores, {"a": 10, "b": 3}, alive, gen(1))
    for name, count in (("a", 10), ("b", 3)):
        threshold = torch.sort(scores[name].flatten(), descending=True).values[count - 1]
        assert torch.equal(mask[name], scores[name] >= threshold)
        assert int(mask[name].sum()) == count


def test_never_revives_dead_entries() -> None:
    scores = {"a": torch.arange(10.0)}
    alive = {"a": torch.tensor([True, False] * 5)}
    mask = mask_from_scores(scores, {"a": 3}, alive, gen(0))
    assert mask["a"].nonzero().flatten().tolist() == [4, 6, 8]  # highest alive, dead 9 skipped
    with pytest.raises(ValueError):
        mask_from_scores(scores, {"a": 6}, alive, gen(0))


def test_ties_are_broken_at_random_but_reproducibly() -> None:
    scores = {"a": torch.ones(20, 10)}
    alive = {"a": torch.ones(20, 10, dtype=torch.bool)}
    masks = [mask_from_scores(scores, {"a": 100}, alive, gen(seed))["a"] for seed in (0, 0, 1)]
    assert torch.equal(masks[0], masks[1])
    assert not torch.equal(masks[0], masks[2])
    kept = masks[0].flatten().nonzero().flatten()
    assert int(kept.numel()) == 100
    # Not a contiguous block of the flat index (index order would keep rows 0-9).
    assert int(kept[-1] - kept[0]) > 100
    assert 0 < int(masks[0][:10].sum()) < 100


def test_ties_only_among_equals_strict_order_elsewhere() -> None:
    scores = {"a": torch.tensor([5.0, 1.0, 3.0, 3.0, 3.0, 0.0])}
    alive = {"a": torch.ones(6, dtype=torch.bool)}
    seen = set()
    for seed in range(20):
        mask = mask_from_scores(scores, {"a": 3}, alive, gen(seed))["a"]
        assert mask[0] and not mask[1] and not mask[5] and int(mask[2:5].sum()) == 2
        seen.add(tuple(mask.tolist()))
    assert len(seen) == 3  # every pair of the tied three occurs


@pytest.mark.parametrize("seed", range(5))
def test_mask_from_scores_keeps_what_the_full_ranking_puts_first(seed: int) -> None:
    """The selection shortcut equals rank_layers + keep_top, ties, NaN and dead entries included."""
    from ticketlab.pruning.select import keep_top, rank_layers

    g = torch.Generator().manual_seed(seed)
    scores = {"a": torch.randint(0, 4, (7, 9), generator=g).double(), "b": torch.randn(30, generator=g).double()}
    scores["b"][::7] = float("nan")
    alive = {"a": torch.rand(7, 9, generator=g) > 0.3, "b": torch.rand(30, generator=g) > 0.2}
    counts = {"a": int(alive["a"].sum()) // 2, "b": int(alive["b"].sum()) - 3}
    fast = mask_from_scores(scores, counts, alive, torch.Generator().manual_seed(seed))
    ranked = rank_layers(scores, alive, torch.Generator().manual_seed(seed))
    full = keep_top(ranked, counts, {k: v.shape for k, v in alive.items()})
    assert all(torch.equal(fast[k], full[k]) for k in alive)

"""Sparsity types against independent oracles: N:M by brute force over groups, channels by hand."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from ticketlab.errors import ConfigError
from ticketlab.masks import effective_mask
from ticketlab.pruning import PruneConfig, mask_from_scores
from ticketlab.pruning.structures import (
    STRUCTURES,
    Channel,
    Structure,
    check_structure_options,
    kept_counts,
    parse_structure,
    structure_for,
)
from ticketlab.sparse import SparseConfig
from ticketlab.tickets import LotteryConfig


def groups_by_loops(shape: tuple[int, ...], m: int) -> list[list[tuple[int, ...]]]:
    """Every group of M consecutive input indices (dimension 1) at each other position, written out."""
    others = [range(s) for s in (shape[0], *shape[2:])]
    out = []
    for o, *rest in itertools.product(*others):
        for g in range(shape[1] // m):
            out.append([(o, c, *rest) for c in range(g * m, (g + 1) * m)])
    return out


CASES = [(shape, n, m) for shape in [(3, 8), (2, 8, 2, 3), (4, 4), (1, 12, 1, 1)]
         for n, m in [(1, 4), (2, 4), (3, 4), (1, 2), (2, 8), (1, 3)] if shape[1] % m == 0]


@pytest.mark.parametrize("shape, n, m", CASES)
def test_n_m_keeps_the_n_largest_of_every_group(shape: tuple[int, ...], n: int, m: int) -> None:
    structure = parse_structure(f"{n}:{m}")
    scores = torch.randperm(math.prod(shape), generator=torch.Generator().manual_seed(n * 10 + m)).view(shape).float()
    alive = torch.ones(shape, dtype=torch.bool)
    count = kept_counts(structure, "global", {"w": torch.Size(shape)}, n / m)["w"]
    mask = structure.select("w", scores, alive, count, torch.Generator().manual_seed(0))
    assert int(mask.sum()) == count == math.prod(shape) * n // m
    for group in groups_by_loops(shape, m):
        kept = [scores[i].item() for i in group if mask[i]]
        dropped = [scores[i].item() for i in group if not mask[i]]
        assert len(kept) == n
        assert sorted(kept) == sorted(scores[i].item() for i in group)[-n:]
        assert min(kept) > max(dropped)


def test_n_m_ties_still_keep_exactly_n_per_group_in_a_seeded_order() -> None:
    structure = parse_structure("2:4")
    shape = (5, 8, 3, 3)
    scores, alive = torch.ones(shape), torch.ones(shape, dtype=torch.bool)
    masks = [structure.select("w", scores, alive, 180, torch.Generator().manual_seed(s)) for s in (0, 0, 1)]
    for group in groups_by_loops(shape, 4):
        assert sum(bool(masks[0][i]) for i in group) == 2
    assert torch.equal(masks[0], masks[1]) and not torch.equal(masks[0], masks[2])


def test_n_m_above_its_density_keeps_at_least_n_per_group_and_never_revives() -> None:
    structure = parse_structure("2:4")
    shape = (6, 16)
    gen = torch.Generator().manual_seed(3)
    scores = torch.rand(shape, generator=gen)
    alive = torch.rand(shape, generator=gen) > 0.1
    for group in groups_by_loops(shape, 4):  # every group keeps at least 2 alive, as on the way to 2:4
        for i in group[:2]:
            alive[i] = True
    count = int(alive.sum()) - 10
    mask = structure.select("w", scores, alive, count, gen)
    assert int(mask.sum()) == count and not (mask & ~alive).any()
    for group in groups_by_loops(shape, 4):
        kept = [i for i in group if mask[i]]
        best = sorted((i for i in group if alive[i]), key=lambda i: scores[i].item())[-2:]
        assert len(kept) >= 2 and set(best) <= set(kept)
    # The rest of the count went to the best of the others: no dropped non-floor entry beats a kept one.
    floor = structure.select("w", scores, alive, 6 * 16 // 2, torch.Generator().manual_seed(0))
    extra, left = mask & ~floor, alive & ~mask
    assert scores[extra].min() >= scores[left].max()


def test_n_m_counts_ignore_the_quota_and_snap_to_n_over_m() -> None:
    structure = parse_structure("1:3")
    shapes = {"a": torch.Size((4, 6)), "b": torch.Size((2, 9, 1, 1))}
    assert kept_counts(structure, "erk", shapes, 1 - 0.667) == {"a": 8, "b": 6}
    assert kept_counts(structure, "erk", shapes, 0.5) == {"a": 12, "b": 9}


def test_channel_keeps_whole_units_ranked_by_their_score_sums_by_hand() -> None:
    structure = Channel(spec="channel", output="out")
    scores = torch.tensor([[1.0, 1.0, 1.0], [5.0, 0.0, 0.0], [0.0, 0.0, 2.0], [0.5, 0.5, 0.5]])
    alive = torch.ones(4, 3, dtype=torch.bool)
    # Sums 3, 5, 2, 1.5; a count of 6 weights is two whole units: rows 1 and 0.
    mask = structure.select("hidden", scores, alive, 6, torch.Generator().manual_seed(0))
    assert mask.tolist() == [[True] * 3, [True] * 3, [False] * 3, [False] * 3]
    # 4 weights round to the nearest whole count (1 unit: 3 weights, off by 1; 2 units: off by 2).
    assert mask_rows(structure.select("hidden", scores, alive, 4, torch.Generator())) == [1]
    # A dead entry does not count: row 1 without its 5 sums to 0.
    alive[1, 0] = False
    assert mask_rows(structure.select("hidden", scores, alive, 3, torch.Generator())) == [0]
    # Never fewer than one unit for a positive count; none for 0.
    assert mask_rows(structure.select("hidden", scores, alive, 1, torch.Generator())) == [0]
    assert not structure.select("hidden", scores, alive, 0, torch.Generator()).any()
    # The classifier keeps its units (the classes): pruned unstructured at its count.
    out = structure.select("out", scores, torch.ones(4, 3, dtype=torch.bool), 2, torch.Generator())
    assert out.tolist() == [[False] * 3, [True, False, False], [False, False, True], [False] * 3]


def mask_rows(mask: torch.Tensor) -> list[int]:
    return [i for i, row in enumerate(mask) if row.any()]


def test_a_removed_channel_removes_its_outgoing_weights_in_effective_sparsity() -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    structure = structure_for("channel", model)
    assert structure.output == "4.weight"
    shapes = {name: p.shape for name, p in model.named_parameters() if name.endswith("weight")}
    scores = {name: torch.rand(s, generator=torch.Generator().manual_seed(1)) for name, s in shapes.items()}
    alive = {name: torch.ones(s, dtype=torch.bool) for name, s in shapes.items()}
    mask = mask_from_scores(scores, {"0.weight": 12, "2.weight": 24, "4.weight": 24}, alive, torch.Generator(),
                            structure)
    dead_units = [i for i in range(6) if not mask["0.weight"][i].any()]
    assert len(dead_units) == 3 and int(mask["2.weight"].reshape(8, -1).any(dim=1).sum()) == 4
    effective = effective_mask(model, mask, (4,))
    # Columns of layer 2 fed by a removed unit of layer 0 are dead; so are the classifier's columns
    # fed by a removed unit of layer 2 (the classifier is dense, so nothing else dies).
    assert torch.equal(effective["2.weight"], mask["2.weight"] & ~torch.isin(torch.arange(6), torch.tensor(dead_units)))
    dead_second = torch.tensor([not mask["2.weight"][i].any() for i in range(8)])
    assert torch.equal(effective["4.weight"], mask["4.weight"] & ~dead_second)
    assert torch.equal(effective["0.weight"], mask["0.weight"])


def test_unstructured_selection_is_unchanged() -> None:
    scores = {"a": torch.rand(5, 6, generator=torch.Generator().manual_seed(0)), "b": torch.ones(3, 4)}
    alive = {"a": torch.rand(5, 6) > 0.2, "b": torch.ones(3, 4, dtype=torch.bool)}
    counts = {"a": 7, "b": 5}
    plain = mask_from_scores(scores, counts, alive, torch.Generator().manual_seed(4))
    via = mask_from_scores(scores, counts, alive, torch.Generator().manual_seed(4), Structure())
    assert all(torch.equal(plain[n], via[n]) for n in plain)


def test_the_registry_lists_the_three_types() -> None:
    assert STRUCTURES.names() == ["unstructured", "n:m", "channel"]
    assert parse_structure(" 2:4 ").spec == "2:4" and parse_structure("CHANNEL").spec == "channel"


@pytest.mark.parametrize("make, message", [
    (lambda: parse_structure("4:2"), "needs 0 < N < M"),
    (lambda: parse_structure("a:4"), "N:M such as 2:4"),
    (lambda: parse_structure("blocks"), "unknown sparsity structure 'blocks'"),
    (lambda: PruneConfig(structure="2:4", sparsity=0.9), "fixes the sparsity at 0.5: give --sparsity 0.5"),
    (lambda: PruneConfig(structure="2:4", sparsity=0.5, target="effective"), "takes neither --target effective"),
    (lambda: PruneConfig(structure="channel", reshuffle=True), "nor --reshuffle"),
    (lambda: check_structure_options("1:4", 0.5, "global", "global"), "give --sparsity 0.75"),
    (lambda: check_structure_options("2:4", 0.5, "erk", "global"), "it takes no --quota"),
    (lambda: SparseConfig(method="rigl", structure="2:4", sparsity=0.5), "--method rigl moves single weights"),
    (lambda: SparseConfig(method="set", structure="channel"), "--method set moves single weights"),
    (lambda: SparseConfig(method="gmp", structure="2:4"), "give --sparsity 0.5, got 0.9"),
    (lambda: LotteryConfig(structure="2:4"), "--levels 5 --prune-fraction 0.129449"),
    (lambda: LotteryConfig(structure="2:4", levels=1, prune_fraction=0.5, scope="erk"), "it takes no --quota"),
    (lambda: structure_for("2:4", nn.Linear(6, 2), {"weight": torch.Size((2, 6))}),
     "weight has 6 inputs (dimension 1), not a multiple of 4"),
    (lambda: structure_for("2:4", nn.Linear(8, 2), {"bias": torch.Size((2,))}), "prunes weights only"),
    (lambda: structure_for("channel", nn.Linear(8, 2), {"weight": torch.Size((2, 8))}),
     "needs a prunable layer before the classifier"),
])
def test_infeasible_combinations_are_one_line_config_errors(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as raised:
        make()
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_feasible_n_m_configs_and_unchanged_defaults() -> None:
    assert PruneConfig(structure="2:4", sparsity=0.5).structure == "2:4"
    assert LotteryConfig(structure="2:4", levels=2, prune_fraction=0.2929).structure == "2:4"
    assert SparseConfig(method="gmp", structure="1:4", sparsity=0.75).structure == "1:4"
    assert PruneConfig().structure == LotteryConfig().structure == SparseConfig().structure == "unstructured"

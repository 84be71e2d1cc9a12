"""Drop and grow against hand-set layers: RigL's growth by gradient, SET's by chance, counts conserved."""

from __future__ import annotations

import pytest
import torch

from ticketlab.sparse import SPARSE_METHODS, SparseConfig, UpdateContext, drop_and_grow
from ticketlab.sparse.update import moved_count

T, F = True, False


def test_one_rigl_update_on_a_hand_set_layer() -> None:
    weight = torch.tensor([[0.5, -0.1, 0.0],
                           [0.0, 0.3, -0.05],
                           [0.0, 0.8, 0.2]])
    mask = torch.tensor([[T, T, F],
                         [F, T, T],
                         [F, T, T]])
    # Kept entries and the just-dropped (0, 1) have the largest gradients: neither may be grown.
    gradient = torch.tensor([[9.0, 5.0, 0.7],
                             [0.2, 9.0, 9.0],
                             [-1.5, 9.0, 9.0]]).abs()
    # 6 kept, fraction 0.4: floor(2.4) = 2 dropped (|w| 0.1 and 0.05), 2 grown of the 3 pruned
    # before the update, by |g|: (2, 0) with 1.5 and (0, 2) with 0.7, not (1, 0) with 0.2.
    update = drop_and_grow(weight, mask, gradient, 0.4, torch.Generator().manual_seed(0))
    assert update.dropped.tolist() == [[F, T, F], [F, F, T], [F, F, F]]
    assert update.grew.tolist() == [[F, F, T], [F, F, F], [T, F, F]]
    assert update.mask.tolist() == [[T, F, T], [F, T, F], [T, T, T]]
    assert int(update.mask.sum()) == int(mask.sum())


def test_rigl_method_moves_every_layer_and_conserves_its_count() -> None:
    weights = {"a": torch.tensor([0.4, -0.3, 0.0, 0.0, 0.2, -0.6]),
               "b": torch.tensor([[0.9, 0.0], [0.0, -0.05]])}
    mask = {"a": torch.tensor([T, T, F, F, T, T]), "b": torch.tensor([[T, F], [F, T]])}
    gradients = {"a": torch.tensor([0.0, 0.0, 0.1, 0.3, 0.0, 0.0]), "b": torch.tensor([[0.0, 2.0], [1.0, 0.0]])}
    config = SparseConfig(method="rigl", sparsity=0.5, drop_fraction=0.5, end_update=1.0)
    # At step 0 of 10 the annealed fraction is the initial 0.5: a drops 2 of 4, b 1 of 2.
    ctx = UpdateContext(0, 10, weights, mask, gradients, config, torch.Generator().manual_seed(0))
    new = SPARSE_METHODS.get("rigl").update(ctx)
    assert new["a"].tolist() == [T, F, T, T, F, T]  # dropped 0.2, -0.3; grew 2 and 3
    assert new["b"].tolist() == [[T, T], [F, F]]  # dropped -0.05, grew (0, 1) with |g| 2 over (1, 0) with 1


def test_rigl_without_gradients_is_an_error() -> None:
    ctx = UpdateContext(0, 10, {"a": torch.ones(4)}, {"a": torch.tensor([T, T, F, F])}, None,
                        SparseConfig(method="rigl"), torch.Generator())
    with pytest.raises(ValueError, match="dense gradient"):
        SPARSE_METHODS.get("rigl").update(ctx)


@pytest.mark.parametrize("seed", range(20))
def test_set_regrows_only_entries_pruned_before_the_update(seed: int) -> None:
    rng = torch.Generator().manual_seed(seed)
    shape = (7, 9)
    mask = torch.rand(shape, generator=rng) < 0.4
    weight = torch.randn(shape, generator=rng) * mask
    fraction = 0.1 + 0.8 * float(torch.rand((), generator=rng))
    update = drop_and_grow(weight, mask, torch.zeros(shape), fraction, torch.Generator().manual_seed(seed))
    count = moved_count(fraction, int(mask.sum()), int((~mask).sum()))
    assert int(update.grew.sum()) == int(update.dropped.sum()) == count > 0
    assert not (update.grew & mask).any()  # never a surviving entry, nor a just-dropped one
    assert not (update.dropped & ~mask).any()
    assert int(update.mask.sum()) == int(mask.sum())
    # The dropped are the smallest magnitudes among the kept.
    kept_after = weight.abs()[mask & ~update.dropped]
    assert weight.abs()[update.dropped].max() <= kept_after.min()


def test_set_growth_is_random() -> None:
    mask = torch.zeros(40, dtype=torch.bool)
    mask[:10] = True
    weight = torch.arange(40, dtype=torch.float32) * mask
    grown = {tuple(drop_and_grow(weight, mask, torch.zeros(40), 0.5, torch.Generator().manual_seed(s))
                   .grew.nonzero().flatten().tolist()) for s in range(5)}
    assert len(grown) == 5


def test_moved_count_is_capped_by_the_pruned_entries() -> None:
    assert moved_count(0.3, 10, 100) == 3
    assert moved_count(0.39, 10, 100) == 3  # floor, as RigL's code
    assert moved_count(0.5, 10, 2) == 2

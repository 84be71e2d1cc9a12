"""Stratified validation split and per-class subset: exact counts, disjoint, seeded."""

from __future__ import annotations

import pytest
import torch

from ticketlab.data.splits import stratified_split, val_counts
from ticketlab.errors import DataError


def labels_with_sizes(sizes: list[int]) -> torch.Tensor:
    """Labels with class k appearing sizes[k] times, interleaved rather than sorted."""
    labels = torch.cat([torch.full((n,), k) for k, n in enumerate(sizes)])
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(1))]


LABELS = labels_with_sizes([30, 25, 40, 20, 35])


def per_class(labels: torch.Tensor, index: torch.Tensor) -> list[int]:
    return torch.bincount(labels[index], minlength=5).tolist()


def test_val_counts_spread_the_remainder() -> None:
    counts = val_counts(23, 5, seed=0)
    assert counts.sum() == 23 and sorted(counts.tolist()) == [4, 4, 5, 5, 5]
    assert val_counts(23, 5, seed=0).tolist() == counts.tolist()
    remainders = {tuple(val_counts(2, 5, seed=s).tolist()) for s in range(20)}
    assert len(remainders) > 1  # which classes get the extra one depends on the seed


def test_per_class_subset_is_exact_and_disjoint_from_val() -> None:
    split = stratified_split(LABELS, 5, val=23, per_class=7, seed=3)
    assert split.val is not None
    assert per_class(LABELS, split.train) == [7] * 5
    assert sorted(per_class(LABELS, split.val)) == [4, 4, 5, 5, 5]
    both = torch.cat([split.train, split.val])
    assert len(set(both.tolist())) == len(both)  # disjoint, no repeats
    assert torch.equal(split.train, split.train.sort().values)


def test_val_is_drawn_before_the_subset() -> None:
    alone = stratified_split(LABELS, 5, val=10, seed=4)
    with_subset = stratified_split(LABELS, 5, val=10, per_class=3, seed=4)
    assert torch.equal(alone.val, with_subset.val)
    assert set(with_subset.train.tolist()) <= set(alone.train.tolist())


def test_without_subset_train_is_the_rest() -> None:
    split = stratified_split(LABELS, 5, val=12, seed=0)
    assert sorted(split.train.tolist() + split.val.tolist()) == list(range(len(LABELS)))
    everything = stratified_split(LABELS, 5)
    assert everything.val is None and torch.equal(everything.train, torch.arange(len(LABELS)))


def test_same_seed_same_indices_other_seed_others() -> None:
    a = stratified_split(LABELS, 5, val=10, per_class=5, seed=11)
    b = stratified_split(LABELS, 5, val=10, per_class=5, seed=11)
    c = stratified_split(LABELS, 5, val=10, per_class=5, seed=12)
    assert torch.equal(a.train, b.train) and torch.equal(a.val, b.val)
    assert not torch.equal(a.train, c.train)


def test_class_too_small_for_val() -> None:
    with pytest.raises(DataError, match="class 3, which has only 20") as excinfo:
        stratified_split(LABELS, 5, val=105, seed=0)
    assert "\n" not in str(excinfo.value)


def test_class_too_small_for_subset() -> None:
    with pytest.raises(DataError, match="--per-class 21: class 3 has only 20"):
        stratified_split(LABELS, 5, per_class=21)
    with pytest.raises(
        DataError, match="class 3 has only 18 training examples left after --val 10"
    ):
        stratified_split(LABELS, 5, val=10, per_class=19)
    assert per_class(LABELS, stratified_split(LABELS, 5, per_class=20).train) == [20] * 5


def test_val_must_leave_training_examples() -> None:
    with pytest.raises(DataError, match="leaves no training examples"):
        stratified_split(LABELS, 5, val=len(LABELS))

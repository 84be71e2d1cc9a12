"""Learning rates against hand-computed values."""

from __future__ import annotations

import math

import pytest

from ticketlab.training import Duration, TrainConfig, learning_rate, parse_points


def lrs(config: TrainConfig, total: int, per_epoch: int) -> list[float]:
    return [learning_rate(config, s, total, per_epoch) for s in range(total)]


def test_constant() -> None:
    assert lrs(TrainConfig(lr=0.5, schedule="constant"), 4, 2) == [0.5] * 4


def test_step_drops_at_epochs_and_iterations() -> None:
    # 3 steps per epoch: drops at epoch 1 (step 3) and at iteration 7.
    config = TrainConfig(lr=1.0, schedule="step", lr_drops="1ep,7it", lr_drop_factor=0.5)
    assert lrs(config, 9, 3) == [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_bare_numbers_are_epochs() -> None:
    assert parse_points("2, 5it", "x") == (Duration(2, "ep"), Duration(5, "it"))


def test_cosine_by_hand() -> None:
    config = TrainConfig(lr=2.0, schedule="cosine")
    got = lrs(config, 4, 4)
    expected = [2 * 0.5 * (1 + math.cos(math.pi * s / 4)) for s in range(4)]
    assert got == pytest.approx(expected)
    assert got[0] == 2.0 and got[2] == pytest.approx(1.0)


def test_linear_warmup_then_constant() -> None:
    config = TrainConfig(lr=1.0, warmup="4it", schedule="constant")
    assert lrs(config, 6, 10) == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])


def test_warmup_in_epochs_with_step_schedule() -> None:
    config = TrainConfig(lr=1.0, warmup="1ep", schedule="step", lr_drops="2it", lr_drop_factor=0.1)
    assert lrs(config, 4, 2) == pytest.approx([0.5, 1.0, 0.1, 0.1])


def test_default_lr_depends_on_optimizer() -> None:
    assert TrainConfig().lr == 0.1
    assert TrainConfig(optimizer="adam").lr == 0.001
    assert TrainConfig(optimizer="adam", lr=0.01).lr == 0.01
